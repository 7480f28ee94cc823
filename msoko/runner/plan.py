"""Which reports a run builds, with which parameters, from which inputs."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msoko.errors import MsokoError
from msoko.runner.state import FORMAT_VERSION, HashCache, data_files, sha256_bytes, sha256_json

# Notebook file → kind of report. The notebooks may narrow their inputs with
# notebook metadata {"msoko": {"inputs": ["indicators", "schools", ...]}};
# without it a report depends on every processed table (safe default).
NOTEBOOKS = {
    "school": "school.ipynb",
    "municipality": "municipality.ipynb",
    "objectivity": "objectivity.ipynb",
    "dou": "dou.ipynb",
}
KIND_DIRS = {"school": "schools", "municipality": "municipality", "objectivity": "objectivity", "dou": "dou"}
KIND_TITLES = {"school": "Отчёт школы", "municipality": "Отчёт муниципалитета",
               "objectivity": "Объективность результатов ВПР", "dou": "Отчёт детского сада"}
# Heavier reports first: better load balance.
KIND_ORDER = {"municipality": 0, "objectivity": 1, "school": 2, "dou": 3}


@dataclass
class ReportJob:
    key: str
    kind: str
    title: str
    notebook: Path
    params: dict[str, Any]
    html_rel: str
    executed_rel: str
    inputs: dict[str, str] = field(default_factory=dict)   # table -> sha256
    notebook_hash: str = ""
    fingerprint: str = ""
    label: str = ""          # school_id / municipality name, for the index
    group: str = ""          # the report's municipality ("" for regional reports): index and progress

    @property
    def data_version(self) -> str:
        return sha256_json(self.inputs)[:12]

    def payload(self, *, timeout: float | None, cwd: str | None, fresh_kernel: bool = False,
                exporter: str = "auto", keep_notebook: bool = True) -> dict:
        return {"key": self.key, "notebook": self.notebook.read_text(encoding="utf-8"),
                "params": self.params, "title": self.title, "timeout": timeout, "cwd": cwd,
                "fresh_kernel": fresh_kernel, "exporter": exporter, "keep_notebook": keep_notebook,
                "executed": self.executed_rel, "html_rel": self.html_rel, "group": self.group}


_UNSAFE = re.compile(r'[^\w\-.]+', re.UNICODE)


def slug(name: str) -> str:
    """A file name from any school id / municipality name (Cyrillic kept)."""
    s = _UNSAFE.sub("_", str(name)).strip("._") or "_"
    if s != str(name):  # keep distinct names distinct
        s = f"{s[:60]}-{sha256_bytes(str(name).encode())[:6]}"
    return s[:80]


def notebook_inputs(nb_path: Path, available: dict[str, Path]) -> list[str]:
    try:
        meta = json.loads(nb_path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError) as exc:
        raise MsokoError(f"Не удалось прочитать блокнот {nb_path}: {exc}") from exc
    wanted = (meta.get("msoko") or {}).get("inputs")
    if not wanted:
        return sorted(available)
    return sorted(w for w in wanted if w in available)


# Tables whose ``year`` says which years a report can show (measures may be planned ahead: left out).
YEAR_TABLES = ("indicators", "objectivity", "vpr", "gia", "olympiad", "contingent", "context", "addedu", "career",
               "leavers", "principals", "teachers", "upbringing", "mkdo", "preschool", "surveys")


def data_years(processed_dir: Path) -> list[int]:
    """The years with data in the processed folder (any of :data:`YEAR_TABLES` that has rows)."""
    import pyarrow.parquet as pq

    from msoko.store import table_path

    years: set[int] = set()
    for name in YEAR_TABLES:
        path = table_path(processed_dir, name)
        if not path.is_file():
            continue
        try:
            if "year" not in pq.read_schema(path).names:
                continue
            col = pq.read_table(path, columns=["year"]).column("year").to_pandas()
        except (OSError, ValueError) as exc:
            raise MsokoError(f"Не удалось прочитать обработанную таблицу «{path.name}» в {processed_dir}: {exc}. "
                             "Повторите загрузку и расчёт: msoko run (без --only-reports).") from None
        years.update(int(y) for y in col.dropna().unique())
    return sorted(years)


def latest_year(processed_dir: Path) -> int:
    """The last ВПР year; without ВПР, the last year with any data."""
    from msoko.store import read_table

    vpr = read_table(processed_dir, "vpr", columns=["year"], missing_ok=True)
    if vpr is not None and len(vpr) and vpr["year"].notna().any():
        return int(vpr["year"].max())
    years = data_years(processed_dir)
    if not years:
        raise MsokoError(f"В {processed_dir} нет данных ни за один год (нет ни ВПР, ни других таблиц с годом): "
                         "отчёты строить не из чего. Загрузите данные: msoko run --raw <папка исходных данных>.")
    return years[-1]


def check_year(processed_dir: Path, year: int) -> None:
    """A report year without data is an error (reports would be empty), named with the years there are."""
    years = data_years(processed_dir)
    if int(year) in years:
        return
    if not years:
        raise MsokoError(f"В {processed_dir} нет данных ни за один год, в том числе за {year}: отчёты строить "
                         "не из чего. Загрузите данные: msoko run --raw <папка исходных данных>.")
    raise MsokoError(f"За {year} год в {processed_dir} нет данных: отчёты были бы пустыми. Данные есть за "
                     f"{', '.join(map(str, years))}. Укажите --year одним из этих годов "
                     "(или не указывайте — возьмётся последний год ВПР).")


def select_preschools(processed_dir: Path, municipality: str | None):
    """Kindergartens (ДОУ) from schools.parquet, of one municipality when given."""
    from msoko.store import read_table

    df = read_table(processed_dir, "schools").copy()
    df["school_id"] = df["school_id"].astype(str)
    pre = df["is_preschool"].astype("boolean").fillna(False).astype(bool) if "is_preschool" in df else False
    if "org_type" in df:
        pre = pre | (df["org_type"].astype("string").fillna("").str.strip() == "ДОУ")
    df = df[pre] if not isinstance(pre, bool) else df.iloc[0:0]
    if municipality and "municipality" in df:
        df = df[df["municipality"].astype(str) == municipality]
    return df.sort_values("school_id").drop_duplicates("school_id")


def _norm(name: str) -> str:
    return " ".join(str(name).replace("ё", "е").replace("Ё", "Е").split()).casefold()


def resolve_municipality(given: str, known: list[str]) -> str:
    """The municipality ``--municipality`` names: its exact name, the same name up to case, «ё» and
    spaces, or a part of one name only (``--municipality Алейский`` for «Алейский район»). An unknown or
    ambiguous name is a Russian :class:`MsokoError` that lists the municipalities there are."""
    if given in known:
        return given
    want = _norm(given)
    same = [m for m in known if _norm(m) == want]
    if len(same) == 1:
        return same[0]
    part = [m for m in known if want and want in _norm(m)]
    if len(part) == 1:
        return part[0]
    listed = "; ".join(f"«{m}»" for m in known) or "нет ни одного"
    if len(part) > 1:
        raise MsokoError(f"Муниципалитету «{given}» соответствуют несколько загруженных: "
                         f"{'; '.join(f'«{m}»' for m in part)}. Укажите название полностью.")
    raise MsokoError(f"Муниципалитет «{given}» не найден среди загруженных школ (schools.parquet). "
                     f"Загружены ({len(known)}): {listed}.")


def select_schools(processed_dir: Path, municipality: str | None,
                   schools: list[str] | None):
    """Non-preschool schools from schools.parquet, filtered."""
    import pandas as pd

    from msoko.store import read_table

    df = read_table(processed_dir, "schools")
    df = df.copy()
    df["school_id"] = df["school_id"].astype(str)
    keep = pd.Series(True, index=df.index)
    if "is_preschool" in df:
        keep &= ~df["is_preschool"].astype("boolean").fillna(False).astype(bool)
    if "org_type" in df:
        keep &= df["org_type"].astype("string").fillna("").str.strip() != "ДОУ"
    df = df[keep]
    if municipality:
        known = sorted(df["municipality"].dropna().astype(str).unique()) if "municipality" in df else []
        municipality = resolve_municipality(municipality, known)
        df = df[df["municipality"].astype(str) == municipality]
    if schools:
        unknown = [s for s in schools if s not in set(df["school_id"])]
        if unknown:
            raise MsokoError("Школы не найдены (или это дошкольные организации / другой муниципалитет): "
                             + ", ".join(unknown))
        df = df[df["school_id"].isin(schools)]
    return df.sort_values("school_id").drop_duplicates("school_id")


def plan(processed_dir: Path, notebooks_dir: Path, *, year: int, municipality: str | None,
         schools: list[str] | None, lib_hash: str, cache: HashCache,
         env_versions: dict[str, Any] | None = None,
         kinds: tuple[str, ...] = ("municipality", "objectivity", "school", "dou")) -> tuple[list[ReportJob], list[str]]:
    """Return (jobs, warnings). A notebook that does not exist is skipped with a warning; a
    ``year`` without data raises a Russian :class:`MsokoError` (see :func:`check_year`).

    ``env_versions`` (Python and key packages) go into the fingerprint too: an upgraded
    pandas or matplotlib may change a report, so it is rebuilt."""
    processed_dir = Path(processed_dir).resolve()
    check_year(processed_dir, year)
    available = data_files(processed_dir)
    hashes = {name: cache.file(p) for name, p in available.items()}
    warnings: list[str] = []
    jobs: list[ReportJob] = []
    sch = select_schools(processed_dir, municipality, schools)
    if municipality:   # the name as loaded (--municipality may give it up to case or a part of it)
        municipality = str(sch["municipality"].iloc[0]) if len(sch) else municipality
    munis = ([municipality] if municipality else
             sorted(sch["municipality"].dropna().astype(str).unique()) if "municipality" in sch else [])
    for kind in kinds:
        nb = Path(notebooks_dir) / NOTEBOOKS[kind]
        if not nb.exists():
            warnings.append(f"нет блокнота {nb} — отчёты «{KIND_TITLES[kind]}» пропущены")
            continue
        nb_hash = sha256_bytes(nb.read_bytes())
        inputs = {t: hashes[t] for t in notebook_inputs(nb, available)}
        base = {"processed_dir": str(processed_dir), "year": int(year)}
        items: list[tuple[str, str, dict, str]] = []
        # a school's or kindergarten's report gets its municipality: its kernel reads that municipality's
        # rows only (msoko.report.load), and the reports of one municipality follow one another
        if kind == "school":
            for row in sch.itertuples(index=False):
                sid = str(row.school_id)
                name = getattr(row, "name", None)
                name = sid if name is None or str(name) in ("", "nan", "<NA>", "None") else str(name)
                items.append((sid, f"{KIND_TITLES[kind]}: {name}",
                              {"school_id": sid, "municipality": _municipality_of(row), **base}, _group(row)))
        elif kind == "dou":
            if schools:   # a run for some schools only does not rebuild the kindergartens' reports
                continue
            for row in select_preschools(processed_dir, municipality).itertuples(index=False):
                did = str(row.school_id)
                name = getattr(row, "name", None)
                name = did if name is None or str(name) in ("", "nan", "<NA>", "None") else str(name)
                items.append((did, f"{KIND_TITLES[kind]}: {name}",
                              {"dou_id": did, "municipality": _municipality_of(row), **base}, _group(row)))
        elif kind == "municipality":
            if schools:   # a run for some schools only does not rebuild municipal reports
                continue
            for m in munis:
                items.append((m, f"{KIND_TITLES[kind]}: {m}", {"municipality": m, **base}, m))
        else:
            if schools:
                continue
            items.append((f"{year}", f"{KIND_TITLES[kind]}, {year}", dict(base), ""))
        for label, title, params, group in items:
            rel = f"{year}/{KIND_DIRS[kind]}/{slug(label)}"
            job = ReportJob(key=f"{kind}:{year}:{label}", kind=kind, title=title, notebook=nb,
                            params=params, html_rel=f"{rel}.html", executed_rel=f"_executed/{rel}.ipynb",
                            inputs=inputs, notebook_hash=nb_hash, label=label, group=group)
            job.fingerprint = sha256_json({"v": FORMAT_VERSION, "nb": nb_hash, "params": params,
                                           "lib": lib_hash, "inputs": inputs, "env": env_versions or {}})
            jobs.append(job)
    # the regional reports (the heaviest: the whole folder) first, then municipality by municipality — its
    # municipal report, its schools, its kindergartens: each municipality's reports are done together
    # (progress per municipality), and they go to a worker in batches (msoko.runner.executors.batches)
    # whose warm kernel keeps the slice it loaded for the next report
    jobs.sort(key=lambda j: (j.group != "", j.group, KIND_ORDER[j.kind], j.key))
    return jobs, warnings


def _municipality_of(row) -> str | None:
    """A registry row's municipality (None when it has none: its report then reads the whole folder)."""
    m = getattr(row, "municipality", None)
    return None if m is None or str(m) in ("", "nan", "<NA>", "None") else str(m)


def _group(row) -> str:
    return _municipality_of(row) or ""
