"""School reports of two source trees, side by side in one run: CPU per report and the bytes compared.

Runs ``msoko run --only-reports --force --jobs 1 --schools …`` with tree A and tree B **at the same time**
(one process each, so on a 2-core machine each has a core and both see the same load: on this machine
CPU figures of one sitting and the next differ by 10–35 %), on the schools of a few municipalities of an
existing processed folder; then prints the medians of the manifests' ``cpu_s``, ``kernel_cpu_s`` and the
worker's stages, and compares every page and workbook byte for byte (``index.html`` aside: it holds the
run's date and library hash).

    .venv/bin/python benchmarks/school_ab.py --processed /tmp/region/w2/after/processed --a f29b2f9
    .venv/bin/python benchmarks/school_ab.py --processed P --a /tmp/old-tree --b . --municipalities 2

``--a`` / ``--b``: a git revision (exported with ``git archive``: no worktree is registered) or a folder
holding ``msoko/`` and ``notebooks/`` (default for B: this working tree).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("prepare", "execute", "export", "workbook")


def tree(spec: str, work: Path, name: str) -> Path:
    """A folder with msoko/ and notebooks/ for ``spec`` (a folder, or a git revision exported here)."""
    p = Path(spec)
    if (p / "msoko").is_dir() and (p / "notebooks").is_dir():
        return p.resolve()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from region import export_revision   # benchmarks/region.py: the same export for its --before

    return export_revision(spec, work / name)


def school_ids(processed: Path, municipalities: int, skip: int) -> list[str]:
    import pandas as pd

    s = pd.read_parquet(processed / "schools.parquet")
    if "is_preschool" in s:
        s = s[~s["is_preschool"].fillna(False).astype(bool)]
    munis = sorted(s["municipality"].dropna().astype(str).unique())[skip:skip + municipalities]
    return sorted(s.loc[s["municipality"].astype(str).isin(munis), "school_id"].astype(str))


def medians(manifest: Path) -> dict[str, float]:
    r = [x for x in json.loads(manifest.read_text(encoding="utf-8"))["reports"]
         if x["kind"] == "school" and x.get("cpu_s") is not None]
    med = lambda v: statistics.median(v) if v else float("nan")  # noqa: E731
    out = {"reports": len(r), "cpu_s": med([x["cpu_s"] for x in r]),
           "kernel_cpu_s": med([x.get("kernel_cpu_s") or 0.0 for x in r]),
           "sum cpu_s": sum(x["cpu_s"] for x in r)}
    out.update({k: med([(x.get("stage_cpu_s") or {}).get(k, 0.0) for x in r]) for k in STAGES})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--processed", required=True)
    ap.add_argument("--a", required=True, help="tree A: a git revision or a folder")
    ap.add_argument("--b", default=str(REPO), help="tree B (default: this working tree)")
    ap.add_argument("--municipalities", type=int, default=6, help="how many municipalities' schools")
    ap.add_argument("--skip", type=int, default=10, help="municipalities (by name) left out before them")
    ap.add_argument("--work", help="working folder (default: a temporary one, kept)")
    args = ap.parse_args()

    processed = Path(args.processed).resolve()
    work = Path(args.work or tempfile.mkdtemp(prefix="msoko-ab-"))
    work.mkdir(parents=True, exist_ok=True)
    trees = {"A": tree(args.a, work, "tree-a"), "B": tree(args.b, work, "tree-b")}
    ids = school_ids(processed, args.municipalities, args.skip)
    if not ids:
        print("нет школ для сравнения", file=sys.stderr)
        return 2
    procs = {}
    for name, t in trees.items():
        out = work / f"reports-{name}"
        cmd = [sys.executable, "-m", "msoko", "run", "--processed", str(processed), "--reports", str(out),
               "--notebooks", str(t / "notebooks"), "--only-reports", "--force", "--jobs", "1", "--schools", *ids]
        log = open(work / f"run-{name}.log", "w", encoding="utf-8")
        procs[name] = (subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(t)}, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=str(work)), log, out)
    rc = {name: p.wait() for name, (p, _, _) in procs.items()}
    for _, log, _ in procs.values():
        log.close()
    if any(rc.values()):
        print(f"прогон завершился с ошибкой: {rc}; журналы в {work}", file=sys.stderr)
        return 1
    ra, rb = procs["A"][2], procs["B"][2]
    files = sorted(p.relative_to(ra) for p in ra.rglob("*") if p.suffix in (".html", ".xlsx") and p.name != "index.html")
    differ = [f for f in files if not (rb / f).is_file() or (ra / f).read_bytes() != (rb / f).read_bytes()]
    ma, mb = medians(ra / "manifest.json"), medians(rb / "manifest.json")
    print(f"A = {trees['A']}\nB = {trees['B']}\n{len(ids)} schools of {args.municipalities} municipalities, "
          f"both at once, --jobs 1 each; work folder {work}")
    print(f"{'':<24}{'A':>10}{'B':>10}{'B/A':>8}")
    for k in ("cpu_s", "kernel_cpu_s", *STAGES, "sum cpu_s"):
        a, b = ma[k], mb[k]
        print(f"{k + (' (median)' if k != 'sum cpu_s' else ''):<24}{a:>10.3f}{b:>10.3f}{(b / a if a else float('nan')):>8.3f}")
    print(f"pages and workbooks compared: {len(files)}, different: {len(differ)}")
    for f in differ[:20]:
        print(f"  differs: {f}")
    return 0 if not differ else 3


if __name__ == "__main__":
    sys.exit(main())
