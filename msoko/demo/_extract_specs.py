"""Developer script (run once, not at generation time): derive the compact task
specification table ``specs.csv`` shipped with the demo from the real
``task_specs/<grade>/<subject>/ALL.xlsx`` files and the real 2021 ВПР exports.

    python -m msoko.demo._extract_specs ../shared/data/vpr-altai

Also writes ``context_layout.json`` (the questionnaire header and answer options),
``textbooks.json`` (most used textbooks) and ``calibration.csv`` (real marginals the
item model is fitted to). Keeps, per task, at most 2 rows (КЭС × КТ combinations), the first block of
columns and the header spelling of each file. Combos whose task count differs
from the real export are reported and skipped.
"""
from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import openpyxl

from msoko.demo.subjects import COMBOS, vpr_file_name

HERE = Path(__file__).resolve().parent


def _s(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def main(root: str) -> None:
    root = Path(root)
    out_rows = []
    headers = {}
    for grade, subject in COMBOS:
        spec = root / "task_specs" / str(grade) / subject / "ALL.xlsx"
        ws = openpyxl.load_workbook(spec, read_only=True).worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        head = []
        for h in rows[0]:
            if h is None:
                break
            head.append(str(h))
        per_task: dict[str, int] = {}
        for r in rows[1:]:
            r = list(r[: len(head)]) + [None] * max(0, len(head) - len(r))
            if r[1] is None or _s(r[1]).strip() == "":
                continue
            t = _s(r[1]).strip()
            per_task[t] = per_task.get(t, 0) + 1
            if per_task[t] > 2:
                continue
            vals = [_s(x) for x in r[:9]] + [""] * (9 - len(r[:9]))
            vals[2], vals[3] = vals[2][:160], vals[3][:160]  # long texts cut: size of package data
            out_rows.append([grade, subject] + vals)
        vpr = root / "vpr_results" / "2021" / str(grade)
        cand = [p for p in vpr.glob("*.xlsx") if p.name == vpr_file_name(grade, subject, 2021)
                or p.name.startswith(vpr_file_name(grade, subject, 2021).split(",")[0] + f", {grade} класс")]
        n_real = None
        if cand:
            h = next(openpyxl.load_workbook(cand[0], read_only=True).worksheets[0].iter_rows(values_only=True))
            n_real = sum(1 for x in h if isinstance(x, str) and x.startswith("балл за"))
        print(grade, subject, "tasks", len(per_task), "real export tasks", n_real)
        if n_real is not None and n_real != len(per_task):
            print("  MISMATCH")
        headers[f"{grade}/{subject}"] = head
    with open(HERE / "specs.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["grade", "subject", "kim", "task", "skill", "outcome", "level", "kes", "kt",
                    "max_score", "minutes"])
        w.writerows(out_rows)
    (HERE / "spec_headers.json").write_text(json.dumps(headers, ensure_ascii=False, indent=1), encoding="utf-8")
    _context(root)
    _textbooks(root)
    _calibration(root)


def _calibration(root: Path) -> None:
    """Real 2021 marginals per grade and subject: share absent, mean and SD of % of max,
    journal-mark distribution, Spearman(journal, score), SD of school means (schools ≥ 5)."""
    import numpy as np
    import pandas as pd
    from python_calamine import CalamineWorkbook

    specs = pd.read_csv(HERE / "specs.csv", dtype=str, keep_default_na=False)
    out = []
    for grade, subject in COMBOS:
        stem = vpr_file_name(grade, subject, 2021).split(",")[0] + f", {grade} класс"
        path = [p for p in (root / "vpr_results" / "2021" / str(grade)).glob("*.xlsx") if p.name.startswith(stem)][0]
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        df = pd.DataFrame(rows[1:], columns=range(len(rows[0])))
        present = df[7].astype(str) != "отсутствовал"
        d = df[present]
        sp = specs[(specs.grade == str(grade)) & (specs.subject == subject)].drop_duplicates("task")
        mx = pd.to_numeric(sp.max_score).sum()
        total = pd.to_numeric(d[8], errors="coerce")
        pct = total / mx * 100
        jm = pd.to_numeric(d[4].astype(str).str.strip(), errors="coerce")
        jm = jm.where(jm.between(2, 5))
        sch = pd.DataFrame({"s": d[0], "p": pct}).groupby("s").p.agg(["mean", "size"])
        sch = sch[sch["size"] >= 5]
        ok = jm.notna() & total.notna()
        from msoko.marks import load_scales
        sc = load_scales()
        sc = sc[(sc.year == 2021) & (sc.grade == grade) & (sc.subject == subject)]
        marks = {}
        if len(sc):
            b = sc.iloc[0]
            t = total.dropna()
            mk = np.where(t >= b.min5, 5, np.where(t >= b.min4, 4, np.where(t >= b.min3, 3, 2)))
            marks = {f"m{m}": round(float((mk == m).mean()), 4) for m in (2, 3, 4, 5)}
        out.append(dict(**marks,grade=grade, subject=subject, max=mx, absent=round(1 - present.mean(), 4),
                        mean_pct=round(pct.mean(), 2), sd_pct=round(pct.std(), 2),
                        j2=round((jm == 2).mean(), 4), j3=round((jm == 3).mean(), 4),
                        j4=round((jm == 4).mean(), 4), j5=round((jm == 5).mean(), 4),
                        rho=round(jm[ok].corr(total[ok], method="spearman"), 3),
                        school_sd=round(sch["mean"].std(), 2)))
    cols = ["grade", "subject", "max", "absent", "mean_pct", "sd_pct", "m2", "m3", "m4", "m5",
            "j2", "j3", "j4", "j5", "rho", "school_sd"]
    pd.DataFrame(out)[cols].to_csv(HERE / "calibration.csv", index=False, lineterminator="\n")


def _context(root: Path) -> None:
    """Header of the context questionnaire (exact) and the answer options of its choice questions."""
    path = root / "Сбор контекстных данных об ОО и участниках ВПР 2021.xlsx"
    rows = list(openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True))
    header = [h for h in rows[0]]
    options = {}
    for i, h in enumerate(header):
        vals = sorted({str(r[i]).strip() for r in rows[1:] if isinstance(r[i], str)})
        if 1 <= len(vals) <= 8 and all(len(v) < 400 for v in vals):
            options[str(i)] = vals
    (HERE / "context_layout.json").write_text(
        json.dumps({"header": header, "options": options}, ensure_ascii=False, indent=1), encoding="utf-8")


def _textbooks(root: Path) -> None:
    """The three most used textbooks per grade and subject in the real 2021 exports."""
    from collections import Counter
    out = {}
    for grade, subject in COMBOS:
        d = root / "vpr_results" / "2021" / str(grade)
        stem = f"Проведение работы по {vpr_file_name(grade, subject, 2021).split(' по ')[1].split(',')[0]}, {grade} класс"
        files = [p for p in d.glob("*.xlsx") if p.name.startswith(stem)]
        if not files:
            continue
        rows = list(openpyxl.load_workbook(files[0], read_only=True).worksheets[0].iter_rows(values_only=True))
        i = list(rows[0]).index("Учебник")
        c = Counter(str(r[i]).strip() for r in rows[1:] if isinstance(r[i], str) and r[i].strip())
        out[f"{grade}/{subject}"] = [t for t, _ in c.most_common(3)]
    (HERE / "textbooks.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
