"""Tables and plain Russian sentences for the report notebooks.

The notebooks stay thin: they call the functions here and display what comes
back. Everything is computed from the processed tables (``schools``, ``vpr``,
``vpr_tasks``, ``task_specs``, ``indicators``, ``indicator_catalogue.csv``,
``objectivity``, the templates and the management-cycle outputs) — the report
never re-derives an indicator that ``indicators.parquet`` already holds.

Rules every function follows:

* groups under 5 participants are suppressed, under 20 are marked as of limited
  informativeness (:data:`MIN_N`, :data:`LIMITED_N`);
* participant codes never leave this module;
* ВПР results are compared (school vs similar schools, municipality, region),
  never ranked: school tables are sorted by name/login, never by a result;
* all text from the data is escaped before it becomes HTML (:func:`html_table`,
  :func:`esc`).
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from msoko.cycle import SYSTEM_NAMES as SYSTEMS  # noqa: F401 (used by reports and notebooks)
from msoko import stats
from msoko.errors import MsokoError
from msoko.objectivity import SIGNS
from msoko.objectivity.core import OFFICIAL_SIGNS

MIN_N = 5       # smaller groups are not shown
LIMITED_N = 20  # smaller groups are of limited informativeness
RELIABLE_N = 50  # ≥ 50 participants: informative (ФИОКО)


# Subject in the dative after «по»: «по математике», «по русскому языку».
SUBJECT_DATIVE: dict[str, str] = {
    "Русский язык": "русскому языку", "Математика": "математике", "Окружающий мир": "окружающему миру",
    "Биология": "биологии", "История": "истории", "География": "географии",
    "Обществознание": "обществознанию", "Физика": "физике", "Химия": "химии",
    "Английский язык": "английскому языку", "Немецкий язык": "немецкому языку",
    "Французский язык": "французскому языку", "Информатика": "информатике", "Литература": "литературе",
}

# One vocabulary of signs: the objectivity module's catalogue (compute's objectivity.parquet holds
# only its keys — resources/output_schema.toml); the official ones are those of the ФИОКО method.
INDEX_SIGN = "objectivity_index"

GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI, GROUP_REGION = "Школа", "Похожие школы", "Муниципалитет", "Регион"
SRC_VPR = "ФИС ОКО, ВПР"


# ======================================================================================
# escaping and formatting
# ======================================================================================

def esc(value) -> str:
    """Escape any text from the data for HTML."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(x, digits: int = 1) -> str:
    """Russian number: decimal comma, no trailing «,0» for whole numbers of counts."""
    if x is None or (isinstance(x, (float, np.floating)) and math.isnan(x)) or x is pd.NA:
        return "—"
    try:
        if pd.isna(x):
            return "—"
    except (TypeError, ValueError):
        pass
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}".replace(",", "\u202f")
    # round first, then add 0.0: a tiny negative (an interval bound of -1e-17) prints «0», not «-0»
    s = f"{round(float(x), digits) + 0.0:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return s


def fmt_pct(x, digits: int = 0) -> str:
    return "—" if pd.isna(x) else f"{fmt(float(x), digits)} %"


def informativeness(n) -> str:
    """ФИОКО wording for the size of a sample."""
    if n is None or pd.isna(n):
        return "объём выборки неизвестен"
    n = int(n)
    if n < MIN_N:
        return f"менее {MIN_N} участников — не показывается"
    if n < LIMITED_N:
        return f"ограниченная информативность (n = {n})"
    if n < RELIABLE_N:
        return f"ориентировочно (n = {n})"
    return f"информативно (n = {n})"


def reliability_phrase(n) -> str:
    n = int(n)
    word = _plural(n, "участник", "участника", "участников")
    if n >= RELIABLE_N:
        return f"вывод надёжный: выборка {n} {word}"
    if n >= LIMITED_N:
        return f"вывод ориентировочный: выборка {n} {word}"
    return f"вывод предварительный, информативность ограничена: выборка {n} {word}"


def _plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def subject_phrase(subject, grade) -> str:
    """«по математике в 5 классе» (empty parts are left out)."""
    parts = []
    if subject is not None and not pd.isna(subject):
        parts.append("по " + SUBJECT_DATIVE.get(str(subject), f"предмету «{subject}»"))
    if grade is not None and not pd.isna(grade):
        parts.append(f"в {int(grade)} классе")
    return " ".join(parts)


def html_table(df: pd.DataFrame, *, caption: str | None = None, note: str | None = None,
               classes: str = "msoko-table") -> str:
    """A frame as an escaped HTML table (every cell and header escaped)."""
    if df is None or df.empty:
        return f'<p class="msoko-empty">{esc(caption + ": " if caption else "")}нет данных</p>'
    body = df.to_html(index=False, escape=True, na_rep="—", border=0, classes=classes)
    out = ""
    if caption:
        out += f'<p class="msoko-caption">{esc(caption)}</p>'
    out += f'<div class="table-wrap">{body}</div>'
    if note:
        out += f'<p class="msoko-note">{esc(note)}</p>'
    return out


def html_sentences(sentences: Iterable[str], *, empty: str = "Нет замечаний.") -> str:
    items = [f"<li>{esc(s)}</li>" for s in sentences]
    if not items:
        return f"<p>{esc(empty)}</p>"
    return "<ul class=\"msoko-list\">" + "".join(items) + "</ul>"


def html_heading(text: str, level: int = 3) -> str:
    return f"<h{level}>{esc(text)}</h{level}>"


def html_para(text: str, cls: str | None = None) -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{esc(text)}</p>"


# ======================================================================================
# loading
# ======================================================================================

@dataclass
class ReportData:
    """The processed tables a report reads (missing optional tables are empty frames).

    ``vpr`` and ``vpr_tasks`` are large on regional data: they are read lazily, and the
    report functions ask for one year (:meth:`vpr_year`) or one work (:meth:`tasks_cell`)
    with Parquet filters instead of the whole table.
    """
    processed_dir: Path
    schools: pd.DataFrame
    task_specs: pd.DataFrame
    indicators: pd.DataFrame
    catalogue: pd.DataFrame
    objectivity: pd.DataFrame
    tables: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def memo(self, key: tuple, build):
        """``build()`` once per loaded data, kept under ``key`` in :attr:`tables`: the loaded data
        outlives a report in a warm kernel, so what is the same for every school is built once."""
        if key not in self.tables:
            self.tables[key] = build()
        return self.tables[key]

    def table(self, name: str) -> pd.DataFrame:
        """An optional table (template or cycle output); empty frame when absent."""
        if name not in self.tables:
            path = self.processed_dir / f"{name}.parquet"
            self.tables[name] = pd.read_parquet(path) if path.exists() else pd.DataFrame()
        return self.tables[name]

    def _read_filtered(self, name: str, filters: list | None) -> pd.DataFrame:
        path = self.processed_dir / f"{name}.parquet"
        if not path.exists():
            return pd.DataFrame()
        df = pd.read_parquet(path, filters=filters) if filters else pd.read_parquet(path)
        if "absent" in df:
            df = df[~df["absent"].astype(bool)]
        if "school_id" in df:
            df = df.assign(school_id=df["school_id"].astype(str))
        return df.reset_index(drop=True)

    @property
    def vpr(self) -> pd.DataFrame:
        """Every ВПР work written (absent students left out), all years."""
        if "_vpr" not in self.tables:
            self.tables["_vpr"] = self._read_filtered("vpr", None)
        return self.tables["_vpr"]

    def vpr_year(self, year: int) -> pd.DataFrame:
        """ВПР works of one year."""
        if "_vpr" in self.tables:
            v = self.tables["_vpr"]
            return v[v["year"] == year] if not v.empty else v
        key = ("_vpr_year", int(year))
        if key not in self.tables:
            self.tables[key] = self._read_filtered("vpr", [("year", "==", int(year))])
        return self.tables[key]

    @property
    def vpr_tasks(self) -> pd.DataFrame:
        if "_vpr_tasks" not in self.tables:
            self.tables["_vpr_tasks"] = self._read_filtered("vpr_tasks", None)
        return self.tables["_vpr_tasks"]

    def tasks_cell(self, year: int, grade: int, subject: str) -> pd.DataFrame:
        """Task scores of one work (year × grade × subject)."""
        key = ("_tasks", int(year), int(grade), str(subject))
        if key not in self.tables:
            self.tables[key] = self._read_filtered(
                "vpr_tasks", [("year", "==", int(year)), ("grade", "==", int(grade)), ("subject", "==", str(subject))])
        return self.tables[key]

    def years(self) -> list[int]:
        ys: set[int] = set()
        for df in (self.indicators, self.objectivity):
            if not df.empty and "year" in df:
                ys |= {int(y) for y in df["year"].dropna().unique()}
        path = self.processed_dir / "vpr.parquet"
        if path.exists():
            ys |= {int(y) for y in pd.read_parquet(path, columns=["year"])["year"].dropna().unique()}
        return sorted(ys)


_CATALOGUE_ALIASES = {
    "code": ("code", "indicator", "id"),
    "name": ("name_ru", "name", "title"),
    "system": ("system",),
    "unit": ("unit",),
    "direction": ("direction",),
    "formula": ("formula_ru", "formula"),
    "source": ("source", "data_source"),
    "target": ("target", "target_value"),
}


def _normalise_catalogue(cat: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=cat.index)
    for canon, aliases in _CATALOGUE_ALIASES.items():
        col = next((a for a in aliases if a in cat.columns), None)
        out[canon] = cat[col] if col is not None else pd.NA
    out["system"] = pd.to_numeric(out["system"], errors="coerce").astype("Int64")
    out["code"] = out["code"].astype(str)
    out["name"] = out["name"].fillna(out["code"]).astype(str)
    out["unit"] = out["unit"].fillna("").astype(str)
    d = out["direction"].astype("string").str.lower().fillna("")
    out["direction"] = np.where(d.str.startswith(("lower", "ниж", "меньш", "-", "down")), "lower",
                                np.where(d.str.startswith(("higher", "выш", "больш", "+", "up")), "higher", ""))
    out["order"] = np.arange(len(out))
    return out.reset_index(drop=True)


def _read(processed: Path, name: str) -> pd.DataFrame:
    path = processed / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


# The last loaded data, reused while its files are unchanged: `msoko run` executes one report
# after another in a warm kernel whose user namespace is reset but whose modules stay, so the
# tables, the per-year ВПР frames and the per-work caches in ``ReportData.tables`` (identical for
# every school) are read and built once per kernel instead of once per school.
_LOAD_CACHE: dict = {}


def _stamp(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), st.st_mtime_ns, st.st_size)


def _load_key(processed: Path, config_path) -> tuple:
    files = sorted(p for p in processed.iterdir() if p.is_file()) if processed.is_dir() else []
    cfg = _stamp(Path(config_path)) if config_path is not None else None
    return (str(processed.resolve()), cfg, tuple(_stamp(p) for p in files))


def _locate_processed(path: Path) -> Path:
    """A relative ``processed_dir`` is looked up from the working folder and then from its parents.

    papermill runs from the repository root, JupyterLab starts the kernel in ``notebooks/``:
    the default ``data/processed`` must work in both.
    """
    if path.is_absolute() or (path / "schools.parquet").exists():
        return path
    for parent in Path.cwd().parents:
        if (parent / path / "schools.parquet").exists():
            return parent / path
    return path


def load(processed_dir: str | Path, *, config_path: str | Path | None = None, cache: bool = True) -> ReportData:
    """Read the processed tables for a report. Only ``schools`` is required.

    With ``cache`` (the default) the same ``ReportData`` is returned again while no file of
    ``processed_dir`` (nor the configuration) changed; report functions never modify it."""
    processed = _locate_processed(Path(processed_dir))
    if not (processed / "schools.parquet").exists():
        raise MsokoError(
            f"В папке {processed} нет обработанных данных (schools.parquet). "
            "Выполните: msoko ingest и msoko compute (или make report)."
        )
    if not cache:
        return _load(processed, config_path)
    key = _load_key(processed, config_path)
    data = _LOAD_CACHE.get(key)
    if data is None:
        data = _load(processed, config_path)
        _LOAD_CACHE.clear()
        _LOAD_CACHE[key] = data
    return data


def _load(processed: Path, config_path) -> ReportData:
    schools = pd.read_parquet(processed / "schools.parquet")
    schools["school_id"] = schools["school_id"].astype(str)
    for col in ("name", "municipality", "org_type", "settlement_type"):
        if col not in schools:
            schools[col] = pd.NA
    cat_path = processed / "indicator_catalogue.csv"
    catalogue = _normalise_catalogue(pd.read_csv(cat_path, encoding="utf-8-sig")) if cat_path.exists() \
        else _normalise_catalogue(pd.DataFrame(columns=["code"]))
    indicators = _read(processed, "indicators")
    if not indicators.empty:
        indicators["school_id"] = indicators["school_id"].astype(str)
        if "item" in indicators:
            # task-level rows (item = task) are not shown as indicators: the ФИС ОКО views
            # are drawn from vpr_tasks; keep only the school/grade/subject breakdowns
            item = indicators["item"].astype("string")
            indicators = indicators[item.isna() | (item == "")].drop(columns="item").reset_index(drop=True)
        for col in ("suppressed", "limited"):
            if col not in indicators:
                indicators[col] = False
        for col in ("ci_low", "ci_high", "n"):
            if col not in indicators:
                indicators[col] = np.nan
    objectivity = _read(processed, "objectivity")
    if not objectivity.empty:
        objectivity["school_id"] = objectivity["school_id"].astype("string")
    return ReportData(processed_dir=processed, schools=schools, task_specs=_read(processed, "task_specs"),
                      indicators=indicators, catalogue=catalogue, objectivity=objectivity,
                      config=_load_config(config_path))


def _load_config(path) -> dict:
    try:
        from msoko.config import load_config
    except ImportError:  # pragma: no cover - config module absent
        return {}
    return load_config(path)


def sufficiency_thresholds(data: ReportData, year: int) -> dict[str, float]:
    """Sufficiency thresholds of task completion by level (configuration, by year)."""
    suff = data.config.get("sufficiency", {})
    if not suff:
        return {"Б": 50.0, "П": 30.0, "В": 15.0}
    chosen = suff.get("default", {})
    for y in sorted(int(k) for k in suff if str(k).isdigit()):
        if y <= year:
            chosen = suff[str(y)]
    return {k: float(v) for k, v in chosen.items()}


def target_value(data: ReportData, code: str, year: int) -> float:
    """Configured target of an indicator for a year (NaN when none)."""
    try:
        from msoko.config import target
        t = target(data.config, code, year) if data.config else None
    except (ImportError, TypeError, ValueError):
        t = None
    if t is None:
        c = data.catalogue.set_index("code")
        t = pd.to_numeric(pd.Series([c["target"].get(code)]), errors="coerce").iloc[0] if code in c.index else math.nan
    return math.nan if t is None else float(t)


def years(data: ReportData) -> list[int]:
    return data.years()


def resolve_year(data: ReportData, year: int | None) -> int:
    ys = years(data)
    if year is None:
        if not ys:
            raise MsokoError("В обработанных данных нет ни одного года.")
        return ys[-1]
    return int(year)


def resolve_school(data: ReportData, school_id: str | None, year: int | None = None) -> str:
    ids = sorted(data.schools.loc[~data.schools.get("is_preschool", pd.Series(False, index=data.schools.index))
                                  .fillna(False).astype(bool), "school_id"])
    if school_id is None:
        if not ids:
            raise MsokoError("В реестре нет ни одной школы.")
        if year is not None:
            v = data.vpr_year(year)
            with_vpr = sorted(set(ids) & set(v["school_id"])) if not v.empty else []
            if with_vpr:
                return with_vpr[0]  # the first school (by login) that wrote ВПР that year
        return ids[0]
    if str(school_id) not in set(data.schools["school_id"]):
        raise MsokoError(f"Школа с логином «{school_id}» не найдена в реестре (schools.parquet).")
    return str(school_id)


def resolve_municipality(data: ReportData, municipality: str | None) -> str:
    munis = sorted(data.schools["municipality"].dropna().astype(str).unique())
    if municipality is None:
        if not munis:
            raise MsokoError("В реестре не указан муниципалитет ни одной организации.")
        return munis[0]
    if municipality not in munis:
        raise MsokoError(f"Муниципалитет «{municipality}» не найден в реестре. Есть: {', '.join(munis)}.")
    return municipality


def _schools_by_id(data: ReportData) -> pd.DataFrame:
    return data.memo(("_schools_by_id",), lambda: data.schools.set_index("school_id"))


def school_row(data: ReportData, school_id: str) -> pd.Series:
    return _schools_by_id(data).loc[school_id]


def school_name(data: ReportData, school_id: str) -> str:
    name = school_row(data, school_id).get("name")
    return str(name) if pd.notna(name) else school_id


def similar_schools(data: ReportData, school_id: str) -> list[str]:
    """Schools of the same type and settlement type (the school itself excluded)."""
    s = _schools_by_id(data)
    me = s.loc[school_id]
    mask = (s["org_type"].astype("string") == str(me["org_type"])) & \
           (s["settlement_type"].astype("string") == str(me["settlement_type"]))
    return sorted(i for i in s.index[mask.fillna(False)] if i != school_id)


def comparison_groups(data: ReportData, school_id: str) -> dict[str, list[str]]:
    """School ids of each comparison group of a school report (region only when wider than the municipality)."""
    def build() -> dict[str, list[str]]:
        s = data.schools
        muni = school_row(data, school_id)["municipality"]
        groups = {GROUP_SCHOOL: [school_id], GROUP_SIMILAR: similar_schools(data, school_id),
                  GROUP_MUNI: sorted(s.loc[s["municipality"] == muni, "school_id"])}
        if s["municipality"].nunique() > 1:
            groups[GROUP_REGION] = sorted(s["school_id"])
        return {g: ids for g, ids in groups.items() if ids}

    cached = data.memo(("_comparison_groups", str(school_id)), build)
    return {g: list(ids) for g, ids in cached.items()}


# ======================================================================================
# context
# ======================================================================================

_CONTEXT_LABELS = {
    "name": "Наименование", "school_id": "Логин", "municipality": "Муниципалитет", "org_type": "Тип организации",
    "settlement_type": "Тип населённого пункта", "settlement": "Населённый пункт",
    "students_total": "Число обучающихся",
}


def school_context(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """Two columns «Характеристика / Значение»: registry, contingent, the similar-schools group."""
    row = school_row(data, school_id)
    rows = [("Логин", school_id)]
    for col, label in _CONTEXT_LABELS.items():
        if col in row.index and col != "school_id" and pd.notna(row[col]):
            rows.append((label, row[col]))
    cont = data.table("contingent")
    if not cont.empty and {"year", "school_id", "students"} <= set(cont):
        c = cont[(cont["year"] == year) & (cont["school_id"].astype(str) == school_id)]
        if len(c):
            rows.append((f"Обучающихся в {year} г. (контингент)", int(c["students"].sum())))
            if "students_ovz" in c and c["students"].sum() > 0:
                rows.append(("Доля обучающихся с ОВЗ", fmt_pct(100 * c["students_ovz"].sum() / c["students"].sum())))
    sim = similar_schools(data, school_id)
    rows.append(("Похожие школы (тот же тип и тип населённого пункта)", f"{len(sim)}"))
    return pd.DataFrame(rows, columns=["Характеристика", "Значение"]).astype(str)


def school_vpr_counts(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ВПР written by the school in the year: class, subject, participants."""
    v = data.vpr_year(year)
    if v.empty:
        return pd.DataFrame()
    d = v[v["school_id"] == school_id]
    t = d.groupby(["grade", "subject"]).size().reset_index(name="n").sort_values(["grade", "subject"])
    return t


# ======================================================================================
# indicators: school vs comparison groups
# ======================================================================================

def _wilson(k: float, n: float) -> tuple[float, float]:
    """Scalar form of :func:`msoko.stats.wilson_ci` (0–1 scale; NaN for n = 0)."""
    low, high = stats.wilson_ci(k, n)
    return float(low), float(high)


def _key_mask(df: pd.DataFrame, grade, subject) -> pd.Series:
    g = df["grade"].isna() if grade is None or pd.isna(grade) else (df["grade"] == grade)
    s = df["subject"].isna() if subject is None or pd.isna(subject) else (df["subject"] == subject)
    return g.fillna(False) & s.fillna(False)


def _pooled(rows: pd.DataFrame) -> dict:
    """Pooled value of a group of schools from numerators and denominators.

    The scale (e.g. ×100 for a share in %) is taken from the rows themselves.
    A Wilson interval is given when the rows are shares (value = 100·num/den).
    """
    rows = rows[~rows.get("suppressed", pd.Series(False, index=rows.index)).fillna(False).astype(bool)]
    rows = rows.dropna(subset=["value"])
    if rows.empty:
        return dict(value=math.nan, ci_low=math.nan, ci_high=math.nan, n=0)
    n = int(rows["n"].fillna(0).sum()) if "n" in rows else 0
    if {"numerator", "denominator"} <= set(rows) and rows["denominator"].notna().all() and rows["denominator"].sum() > 0:
        num, den = float(rows["numerator"].sum()), float(rows["denominator"].sum())
        ratio = rows["numerator"] / rows["denominator"]
        ok = ratio.abs() > 1e-12
        scale = float(np.median(rows.loc[ok, "value"] / ratio[ok])) if ok.any() else 1.0
        value = scale * num / den
        lo = hi = math.nan
        if abs(scale - 100) < 1e-6 and 0 <= num <= den:
            lo, hi = (100 * x for x in _wilson(num, den))
        return dict(value=value, ci_low=lo, ci_high=hi, n=n)
    w = rows["n"].fillna(1) if "n" in rows else pd.Series(1.0, index=rows.index)
    return dict(value=float(np.average(rows["value"], weights=w)), ci_low=math.nan, ci_high=math.nan, n=n)


def _indicator_rows(data: ReportData, year: int, code: str, level: str, unit: str | None = None,
                    grade=None, subject=None) -> pd.DataFrame:
    """Rows of ``indicators`` for one year × indicator × level, in table order; with ``unit``
    (a school or municipality), only its row(s) for ``grade`` × ``subject``.

    Positions are indexed once per loaded data instead of a scan of the whole table per call: a
    school report asks for ~100 indicators × 4 comparison groups."""
    def build():
        # positions only (``groupby.indices``): materialising ~10⁴ small frames up front costs seconds
        by_cell = data.indicators.groupby(["year", "indicator", "level", "school_id", "grade", "subject"],
                                          sort=False, observed=True, dropna=False).indices
        by_level: dict = {}
        cells: dict = {}
        for (y, c, lv, u, g, sj), pos in by_cell.items():
            y, c, lv, u = _int(y), str(c), str(lv), str(u)
            by_level.setdefault((y, c, lv), []).append(pos)
            cells[(y, c, lv, u, _cell_key(g), _cell_key(sj))] = pos
        return {k: np.sort(np.concatenate(v)) for k, v in by_level.items()}, cells

    by_level, cells = data.memo(("_indicator_rows",), build)
    if unit is None:
        k = (int(year), str(code), str(level))
        pos = by_level.get(k)
    else:
        k = (int(year), str(code), str(level), str(unit), _cell_key(grade), _cell_key(subject))
        pos = cells.get(k)
    if pos is None:
        return data.indicators.iloc[0:0]
    return data.memo(("_indicator_frame", k), lambda: data.indicators.iloc[pos])


def _int(y):
    return int(y) if pd.notna(y) else -1


def _cell_key(v) -> str:
    """A grade or subject as an index key: '' for none, 4 and 4.0 alike."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def indicator_groups(data: ReportData, school_id: str, year: int, code: str, grade=None, subject=None) -> pd.DataFrame:
    """Long frame ``group, value, ci_low, ci_high, n, suppressed, limited`` for one indicator.

    The school and the municipality come from ``indicators.parquet`` as they are;
    similar schools are pooled from their rows (unless a ``similar`` level exists);
    the region is shown when ``indicators.parquet`` has a ``region`` level.
    """
    ind = data.indicators
    if ind.empty:
        return pd.DataFrame(columns=["group", "value", "ci_low", "ci_high", "n", "suppressed", "limited"])
    muni = school_row(data, school_id)["municipality"]
    out = []

    def rows(level: str, unit: str | None = None) -> pd.DataFrame:
        if unit is not None:
            return _indicator_rows(data, year, code, level, unit, grade, subject)
        d = _indicator_rows(data, year, code, level)
        return d[_key_mask(d, grade, subject)]

    def add(group, r):
        if r is None:
            return
        out.append(dict(group=group, value=r.get("value"), ci_low=r.get("ci_low", math.nan),
                        ci_high=r.get("ci_high", math.nan), n=r.get("n", math.nan),
                        suppressed=bool(r.get("suppressed", False)) if pd.notna(r.get("suppressed", False)) else False,
                        limited=bool(r.get("limited", False)) if pd.notna(r.get("limited", False)) else False))

    sch = rows("school", school_id)
    me = sch.iloc[0].to_dict() if len(sch) else None
    add(GROUP_SCHOOL, me)
    sim_level = rows("similar", school_id)
    if len(sim_level):
        add(GROUP_SIMILAR, sim_level.iloc[0].to_dict())
    elif me is not None and "similar_value" in me:
        # computed by msoko.indicators (pooled over the similar schools); shown as it is
        sn = me.get("similar_n")
        if pd.notna(me.get("similar_value")):
            add(GROUP_SIMILAR, dict(value=me["similar_value"], n=sn, suppressed=pd.notna(sn) and sn < MIN_N,
                                    limited=pd.notna(sn) and sn < LIMITED_N,
                                    ci_low=me.get("similar_ci_low", math.nan), ci_high=me.get("similar_ci_high", math.nan)))
    else:
        sim = similar_schools(data, school_id)
        d = rows("school")
        d = d[d["school_id"].isin(sim)]
        if len(d):
            p = _pooled(d)
            p.update(suppressed=p["n"] < MIN_N, limited=p["n"] < LIMITED_N)
            add(GROUP_SIMILAR, p)
    m = rows("municipality", str(muni))
    add(GROUP_MUNI, m.iloc[0].to_dict() if len(m) else None)
    r = rows("region")
    if len(r):
        add(GROUP_REGION, r.iloc[0].to_dict())
    elif me is not None and pd.notna(me.get("region_value")) and data.schools["municipality"].nunique() > 1:
        add(GROUP_REGION, dict(value=me["region_value"], n=math.nan))
    # suppression: a group under MIN_N never shows its value
    for r in out:
        n = pd.to_numeric(r["n"], errors="coerce")
        if r["suppressed"] or (pd.notna(n) and n < MIN_N):
            r.update(value=math.nan, ci_low=math.nan, ci_high=math.nan, suppressed=True)
    return pd.DataFrame(out, columns=["group", "value", "ci_low", "ci_high", "n", "suppressed", "limited"])


def catalogue_for(data: ReportData, system: int) -> pd.DataFrame:
    c = data.catalogue
    return c[c["system"] == system].sort_values("order")


def _value_cell(value, lo, hi, unit: str, suppressed: bool, n) -> str:
    if suppressed:
        return f"скрыто (n < {MIN_N})"
    if pd.isna(value):
        return "—"
    u = f" {unit}" if unit and unit != "%" else (" %" if unit == "%" else "")
    s = f"{fmt(value)}{u}"
    if pd.notna(lo) and pd.notna(hi):
        s += f" [{fmt(lo)}–{fmt(hi)}]"
    return s


def _compare_word(row_school: dict, ref_value, direction: str) -> str:
    """«выше» / «ниже» / «не отличается» by the school's interval against a reference value."""
    v, lo, hi = row_school.get("value"), row_school.get("ci_low"), row_school.get("ci_high")
    if pd.isna(v) or pd.isna(ref_value):
        return ""
    if pd.notna(lo) and pd.notna(hi):
        if lo > ref_value:
            word = "выше"
        elif hi < ref_value:
            word = "ниже"
        else:
            return "в пределах погрешности"
    else:
        word = "выше" if v > ref_value else ("ниже" if v < ref_value else "равно")
    if direction in ("higher", "lower") and word in ("выше", "ниже"):
        good = (word == "выше") == (direction == "higher")
        word += " (лучше)" if good else " (хуже)"
    return word


def system_indicator_table(data: ReportData, school_id: str, year: int, system: int, *,
                           all_breakdowns: bool = False) -> pd.DataFrame:
    """The school's indicators of one system beside similar schools, municipality and region.

    One row per indicator (overall rows: grade and subject null; with
    ``all_breakdowns`` every grade × subject). Values carry their 95 % interval.
    """
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return pd.DataFrame()
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
            & ind["indicator"].isin(cat["code"])]
    if not all_breakdowns:
        d = d[d["grade"].isna() & d["subject"].isna()]
    prev = ind[(ind["year"] == year - 1) & (ind["level"] == "school") & (ind["school_id"] == school_id)]
    rows = []
    order = dict(zip(cat["code"], cat["order"]))
    for _, r in d.assign(_o=d["indicator"].map(order)).sort_values(["_o", "grade", "subject"]).iterrows():
        c = cat.set_index("code").loc[r["indicator"]]
        g = indicator_groups(data, school_id, year, r["indicator"], r["grade"], r["subject"])
        gd = g.set_index("group")
        me = gd.loc[GROUP_SCHOOL].to_dict() if GROUP_SCHOOL in gd.index else {}
        name = c["name"] + (f" — {subject_phrase(r['subject'], r['grade'])}" if pd.notna(r["grade"]) or pd.notna(r["subject"]) else "")
        row = {"Показатель": name}
        row[GROUP_SCHOOL] = _value_cell(me.get("value"), me.get("ci_low"), me.get("ci_high"), c["unit"],
                                        bool(me.get("suppressed", False)), me.get("n"))
        row["n"] = fmt(int(me["n"])) if pd.notna(me.get("n")) else "—"
        for grp in (GROUP_SIMILAR, GROUP_MUNI, GROUP_REGION):
            if grp in gd.index:
                x = gd.loc[grp]
                row[grp] = _value_cell(x["value"], math.nan, math.nan, c["unit"], bool(x["suppressed"]), x["n"])
            else:
                row[grp] = "—"
        pv = prev[(prev["indicator"] == r["indicator"]) & _key_mask(prev, r["grade"], r["subject"])]
        if len(pv) and pd.notna(me.get("value")) and not bool(pv.iloc[0].get("suppressed", False)):
            delta = round(float(me["value"] - pv.iloc[0]["value"]), 1)
            row["Изменение за год"] = ("+" if delta >= 0 else "−") + fmt(abs(delta)) + \
                (" п. п." if c["unit"] == "%" else (f" {c['unit']}" if c["unit"] else ""))
        else:
            row["Изменение за год"] = "—"
        muni_v = gd.loc[GROUP_MUNI, "value"] if GROUP_MUNI in gd.index else math.nan
        row["Сравнение с муниципалитетом"] = _compare_word(me, muni_v, c["direction"]) if not me.get("suppressed") else ""
        n = me.get("n")
        row["Информативность"] = informativeness(n) if pd.notna(n) else "—"
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty and (out[GROUP_REGION] == "—").all():
        out = out.drop(columns=[GROUP_REGION])
    return out


# The indicators a chapter draws first (when computed); otherwise the catalogue order decides.
HEADLINE: dict[int, list[str]] = {
    1: ["vpr_fail_share", "vpr_quality", "gia_below_min"],
    2: ["risk_factors_count", "context_index", "shnor_low_procedures"],
    3: ["olymp_school_participation", "addedu_coverage"],
    4: ["profmin_basic_share", "leavers_profile_match"],
    5: ["principal_composite", "principal_mgmt_training"],
    6: ["teachers_kpk3", "teachers_top_category"],
    7: ["upbr_clubs", "upbr_pdn_kdn_rate"],
    8: ["mkdo_total_score", "preschool_availability_3_7"],
}


def _headline_order(data: ReportData, system: int) -> list[str]:
    codes = list(catalogue_for(data, system)["code"])
    first = [c for c in HEADLINE.get(system, []) if c in codes]
    return first + [c for c in codes if c not in first]


def headline_indicators(data: ReportData, school_id: str, year: int, system: int, k: int = 2) -> list[str]:
    """The first ``k`` catalogue indicators of the system the school has an overall, unsuppressed value for."""
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return []
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
            & ind["grade"].isna() & ind["subject"].isna() & ind["value"].notna()
            & ~ind["suppressed"].fillna(False).astype(bool)]
    have = set(d["indicator"])
    return [c for c in _headline_order(data, system) if c in have][:k]


def indicator_trend(data: ReportData, school_id: str, code: str, year: int, *, grade=None, subject=None,
                    n_years: int = 3) -> pd.DataFrame:
    """Long frame ``year, group, value, ci_low, ci_high, n`` for the last ``n_years`` years."""
    frames = []
    for y in range(year - n_years + 1, year + 1):
        g = indicator_groups(data, school_id, y, code, grade, subject)
        if not g.empty:
            frames.append(g.assign(year=y))
    if not frames:
        return pd.DataFrame(columns=["year", "group", "value", "ci_low", "ci_high", "n"])
    out = pd.concat(frames, ignore_index=True)
    return out[out["group"].isin([GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI])]


def indicator_meta(data: ReportData, code: str) -> dict:
    c = data.catalogue.set_index("code")
    if code not in c.index:
        return dict(name=code, unit="", direction="", formula="", source="", target=math.nan)
    return c.loc[code].to_dict()


# ======================================================================================
# ФИС ОКО views of one ВПР
# ======================================================================================

def _vpr_cell(data: ReportData, year: int, grade: int, subject: str) -> pd.DataFrame:
    def build():
        v = data.vpr_year(year)
        return v[(v["grade"] == grade) & (v["subject"] == subject)] if not v.empty else v

    return data.memo(("_cell", int(year), int(grade), str(subject)), build)


def _group_rows(data: ReportData, key: tuple, frame: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """Rows of ``frame`` (identified by ``key``) that belong to the schools ``ids``.

    Memoised in the loaded data: the municipality and similar-schools groups are the same for
    many reports of a run, and a school's own rows come from one index of the frame."""
    ids = list(ids)
    if len(ids) == 1:
        pos = data.memo(("_group_pos", key), lambda: frame.groupby("school_id", sort=False, observed=True).indices)
        p = pos.get(ids[0])
        return data.memo(("_group_rows", key, ids[0]), lambda: frame.iloc[p] if p is not None else frame.iloc[0:0])
    return data.memo(("_group_rows", key, tuple(ids)), lambda: frame[frame["school_id"].isin(ids)])


def _cell_group(data: ReportData, year: int, grade: int, subject: str, ids: Sequence[str]) -> pd.DataFrame:
    """ВПР rows of one work (year × grade × subject) written by the schools ``ids``."""
    return _group_rows(data, ("_cell", int(year), int(grade), str(subject)),
                       _vpr_cell(data, year, grade, subject), ids)


def mark_boundaries(data: ReportData, year: int, grade: int, subject: str) -> dict[int, float]:
    """Lowest primary score of each mark «3»–«5» as seen in the export (marks are data, not code)."""
    d = _vpr_cell(data, year, grade, subject).dropna(subset=["mark", "primary_score"])
    if d.empty:
        return {}
    lows = d.groupby("mark")["primary_score"].min()
    return {int(m): float(lows[m]) for m in lows.index if int(m) >= 3}


def marks_distribution(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, mark, share (%), n`` — groups under 5 participants left out."""
    out = []
    for g, ids in comparison_groups(data, school_id).items():
        x = _cell_group(data, year, grade, subject, ids).dropna(subset=["mark"])
        n = len(x)
        if n < MIN_N:
            continue
        counts = x["mark"].astype(int).value_counts()
        for m in (2, 3, 4, 5):
            out.append(dict(group=g, mark=m, share=100 * counts.get(m, 0) / n, n=n))
    return pd.DataFrame(out, columns=["group", "mark", "share", "n"])


def score_distribution(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, score, share (%), n`` over whole primary scores; school plus the municipality."""
    d = _vpr_cell(data, year, grade, subject).dropna(subset=["primary_score"])
    groups = comparison_groups(data, school_id)
    out = []
    for g in (GROUP_SCHOOL, GROUP_MUNI):
        x = _cell_group(data, year, grade, subject, groups.get(g, [])).dropna(subset=["primary_score"])
        n = len(x)
        if n < MIN_N:
            continue
        maxs = int(np.nanmax(d["max_score"])) if "max_score" in d and d["max_score"].notna().any() \
            else int(d["primary_score"].max())
        counts = x["primary_score"].round().astype(int).value_counts().reindex(range(0, maxs + 1), fill_value=0)
        out.append(pd.DataFrame(dict(group=g, score=counts.index, share=100 * counts.values / n, n=n)))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["group", "score", "share", "n"])


def _task_table(data: ReportData, school_ids: list[str], year: int, grade: int, subject: str) -> pd.DataFrame:
    t = data.tasks_cell(year, grade, subject)
    if t.empty:
        return pd.DataFrame()
    return _group_rows(data, ("_tasks", int(year), int(grade), str(subject)), t, school_ids)


def task_completion(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``task, level, group, value (% of max), n`` — a task not done counts as 0."""
    spec = data.task_specs
    if spec.empty or data.tasks_cell(year, grade, subject).empty:
        return pd.DataFrame(columns=["task", "level", "group", "value", "n"])
    spec = spec[(spec["grade"] == grade) & (spec["subject"] == subject)]
    spec = spec.assign(task=spec["task"].astype(str),
                       label=spec["task_label"].astype(str) if "task_label" in spec else spec["task"].astype(str))
    spec = spec.drop_duplicates("task")[["task", "label", "level", "max_score"]]
    out = []
    for g, ids in comparison_groups(data, school_id).items():
        if g == GROUP_REGION:
            continue
        def aggregate(ids=ids):
            t = _task_table(data, ids, year, grade, subject)
            n = t["student_code"].nunique() if len(t) else 0
            if n < MIN_N:
                return n, None
            agg = t.assign(score=t["score"].fillna(0), task=t["task"].astype(str)).groupby("task")["score"].agg(
                ["sum", "size"])
            agg = agg.reset_index().merge(spec, on="task", how="left")
            agg["value"] = 100 * agg["sum"] / (agg["size"] * agg["max_score"])
            agg["label"] = agg["label"].fillna(agg["task"])
            return n, agg

        # a group of several schools is the same in many reports of a run: aggregated once
        n, agg = (data.memo(("_task_agg", int(year), int(grade), str(subject), tuple(ids)), aggregate)
                  if len(ids) > 1 else aggregate())
        if agg is None:
            continue
        out.append(agg.assign(group=g, n=n)[["task", "label", "level", "group", "value", "n"]])
    if not out:
        return pd.DataFrame(columns=["task", "label", "level", "group", "value", "n"])
    res = pd.concat(out, ignore_index=True)
    key = res["task"].str.extract(r"^(\d+)")[0].astype(float)
    res = res.assign(_k=key).sort_values(["_k", "task"], kind="stable").drop(columns="_k")
    return res.reset_index(drop=True)


def level_completion(task_long: pd.DataFrame, data: ReportData, grade: int, subject: str) -> pd.DataFrame:
    """``level, group, value, n``: completion by difficulty level, weighted by the tasks' maximum scores."""
    if task_long.empty:
        return pd.DataFrame(columns=["level", "group", "value", "n"])
    spec = data.task_specs
    spec = spec[(spec["grade"] == grade) & (spec["subject"] == subject)]
    mx = dict(zip(spec["task"].astype(str), spec["max_score"]))
    d = task_long.dropna(subset=["level"])
    if d.empty:
        return pd.DataFrame(columns=["level", "group", "value", "n"])
    d = d.assign(mx=pd.to_numeric(d["task"].map(mx), errors="coerce").astype(float))
    d = d.assign(w=d["value"].astype(float) * d["mx"])
    g = d.groupby(["level", "group"]).agg(w=("w", "sum"), mx=("mx", "sum"), n=("n", "max")).reset_index()
    g["value"] = g["w"] / g["mx"]
    return g[["level", "group", "value", "n"]]


def journal_comparison(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, category, share (%), n`` — понизили / подтвердили / повысили."""
    out = []
    for g, ids in comparison_groups(data, school_id).items():
        x = _cell_group(data, year, grade, subject, ids).dropna(subset=["mark", "journal_mark"])
        n = len(x)
        if n < MIN_N:
            continue
        diff = x["mark"].astype(int) - x["journal_mark"].astype(int)
        for cat, k in (("Понизили", (diff < 0).sum()), ("Подтвердили", (diff == 0).sum()), ("Повысили", (diff > 0).sum())):
            out.append(dict(group=g, category=cat, share=100 * k / n, n=n))
    return pd.DataFrame(out, columns=["group", "category", "share", "n"])


def vpr_summary_table(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """Participants, mean score, успеваемость, качество and the share of «2» per group, with intervals."""
    rows = []
    for g, ids in comparison_groups(data, school_id).items():
        x = _cell_group(data, year, grade, subject, ids)
        n = len(x)
        marks = x["mark"].dropna().astype(int)
        k = len(marks)
        row = {"Группа": g, "Участников": fmt(n)}
        if n < MIN_N:
            row.update({"Средний балл": f"скрыто (n < {MIN_N})"})
            rows.append(row)
            continue
        mean = x["primary_score"].mean()
        row["Средний балл"] = fmt(mean)
        for label, hit in (("Доля «2»", marks == 2), ("Успеваемость («3»–«5»)", marks >= 3),
                           ("Качество («4»–«5»)", marks >= 4)):
            if k >= MIN_N:
                lo, hi = _wilson(hit.sum(), k)
                row[label] = f"{fmt(100 * hit.sum() / k, 0)} % [{fmt(100 * lo, 0)}–{fmt(100 * hi, 0)}]"
            else:
                row[label] = "—"
        row["Информативность"] = informativeness(n)
        rows.append(row)
    return pd.DataFrame(rows).fillna("—")


# ======================================================================================
# ГИА
# ======================================================================================

def gia_table(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ГИА by exam and subject: participants, mean score, share below the minimum — school vs municipality."""
    g = data.table("gia")
    if g.empty:
        return pd.DataFrame()
    g = g[g["year"] == year].copy()
    g["school_id"] = g["school_id"].astype(str)
    g["score"] = g["test_score"].where(g["test_score"].notna(), g["primary_score"]) if "test_score" in g else g["primary_score"]
    g["below"] = g["score"] < g["min_threshold"]
    groups = comparison_groups(data, school_id)
    rows = []
    for (exam, subject), x in g.groupby(["exam", "subject"], sort=True):
        row = {"Экзамен": exam, "Предмет": subject}
        for grp in (GROUP_SCHOOL, GROUP_MUNI):
            y = x[x["school_id"].isin(groups.get(grp, []))]
            n = len(y)
            if grp == GROUP_SCHOOL and n == 0:
                break
            if n < MIN_N:
                row[f"{grp}: участников"] = fmt(n)
                row[f"{grp}: средний балл"] = f"скрыто (n < {MIN_N})"
                row[f"{grp}: ниже минимума"] = "—"
                continue
            row[f"{grp}: участников"] = fmt(n)
            row[f"{grp}: средний балл"] = fmt(y["score"].mean())
            lo, hi = _wilson(y["below"].sum(), n)
            row[f"{grp}: ниже минимума"] = f"{fmt(100 * y['below'].mean(), 0)} % [{fmt(100 * lo, 0)}–{fmt(100 * hi, 0)}]"
        else:
            rows.append(row)
    return pd.DataFrame(rows).fillna("—")


# ======================================================================================
# МКДО
# ======================================================================================

def mkdo_areas(data: ReportData, municipality: str, year: int, dou_id: str | None = None) -> pd.DataFrame:
    """``area, group, score, n`` — the municipality's mean per area (and one kindergarten's when given)."""
    m = data.table("mkdo")
    if m.empty:
        return pd.DataFrame(columns=["area", "group", "score", "n"])
    m = m[m["year"] == year]
    dous = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"])
    m = m[m["dou_id"].astype(str).isin(dous)] if dous & set(m["dou_id"].astype(str)) else m
    out = m.groupby("area", sort=False).agg(score=("score", "mean"), n=("dou_id", "nunique")).reset_index()
    out["group"] = GROUP_MUNI
    if dou_id is not None:
        x = m[m["dou_id"].astype(str) == dou_id].groupby("area", sort=False)["score"].mean().reset_index()
        out = pd.concat([x.assign(group=GROUP_SCHOOL, n=1), out], ignore_index=True)
    return out[["area", "group", "score", "n"]]


# ======================================================================================
# objectivity
# ======================================================================================

def sign_name(sign: str) -> str:
    """Russian title of a sign, from the objectivity module's catalogue."""
    return str(SIGNS[sign][0]) if sign in SIGNS else str(sign)


def is_official(sign: str) -> bool:
    return sign in OFFICIAL_SIGNS


def objectivity_index(data: ReportData) -> pd.DataFrame:
    """«Год / Показатель объективности»: the official index per year (100 − % of marked schools)."""
    o = data.objectivity
    if o.empty:
        return pd.DataFrame()
    idx = o[o["sign"] == INDEX_SIGN].sort_values("year")
    own = o[o["sign"] == INDEX_SIGN + "_msoko"].set_index("year")["value"]
    rows = []
    for _, r in idx.iterrows():
        y = int(r["year"])
        off = o[(o["year"] == y) & o["sign"].isin(OFFICIAL_SIGNS)]
        assessed = off.dropna(subset=["flagged"])["school_id"].nunique()
        marked = off[off["flagged"].fillna(False).astype(bool)]["school_id"].nunique()
        row = {"Год": str(y), "Показатель объективности": fmt(r["value"]),
               "Школ с хотя бы одним признаком": fmt(int(marked)), "Школ оценено": fmt(int(assessed))}
        if len(own):
            row["Показатель по совокупности признаков (msoko)"] = fmt(own.get(r["year"], math.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def flagged_signs(data: ReportData, year: int, school_id: str | None = None, *, official: bool | None = None,
                  include_combined: bool = True) -> pd.DataFrame:
    """Flagged signs of a year (one school or all), sorted by school name, grade, subject."""
    o = data.objectivity
    if o.empty:
        return pd.DataFrame(columns=["year", "school_id", "grade", "subject", "sign", "value", "threshold", "n"])
    d = o[(o["year"] == year) & ~o["sign"].astype(str).str.startswith(INDEX_SIGN)
          & o["flagged"].fillna(False).astype(bool)].copy()
    if school_id is not None:
        d = d[d["school_id"].astype(str) == school_id]
    if official is True:
        d = d[d["sign"].isin(OFFICIAL_SIGNS)]
    elif official is False:
        d = d[~d["sign"].isin(OFFICIAL_SIGNS)]
    if not include_combined:
        d = d[d["sign"] != "combined"]
    d["school_id"] = d["school_id"].astype(str)
    names = data.schools.set_index("school_id")["name"]
    d["_name"] = d["school_id"].map(names).astype(str)
    return d.sort_values(["_name", "school_id", "grade", "subject", "sign"]).drop(columns="_name").reset_index(drop=True)


def _sign_evidence_text(sign: str, value, threshold) -> str:
    if sign == "inflated_mean":
        return (f"нижняя граница интервала школы {fmt(value)} выше верхней границы интервала сравнения "
                f"{fmt(threshold)}") if pd.notna(value) and pd.notna(threshold) else "интервал школы выше интервала сравнения"
    if sign == "journal_mismatch":
        return f"корреляция Спирмена отметки в журнале и балла ВПР {fmt(value, 2)} (< 0)"
    if sign == "cohort_fall":
        return f"K = {fmt(value, 2)} выше верхней границы {fmt(threshold, 2)} (Q3 + 3·IQR)"
    if sign == "cohort_rise":
        return f"K = {fmt(value, 2)} ниже нижней границы {fmt(threshold, 2)} (Q1 − 3·IQR)"
    return f"значение {fmt(value, 2)}, порог {fmt(threshold, 2)}"


def _evidence(r) -> str:
    """The numbers behind a sign: the objectivity module's own sentence when it gives one."""
    detail = r.get("detail") if hasattr(r, "get") else None
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    return _sign_evidence_text(r["sign"], r["value"], r["threshold"])


def signs_table(data: ReportData, year: int, school_id: str | None = None, *, official: bool | None = None,
                include_combined: bool = True) -> pd.DataFrame:
    """Human table of flagged signs with their evidence and informativeness (sorted by school name)."""
    d = flagged_signs(data, year, school_id, official=official, include_combined=include_combined)
    if d.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    out = pd.DataFrame({
        "Школа": d["school_id"].map(names).fillna(d["school_id"]),
        "Логин": d["school_id"],
        "Класс": d["grade"].map(lambda g: "—" if pd.isna(g) else str(int(g))),
        "Предмет": d["subject"].fillna("—"),
        "Признак": d["sign"].map(sign_name),
        "Чей метод": d["sign"].map(lambda s: "ФИОКО (официальный)" if is_official(s) else "msoko (дополнительный)"),
        "Свидетельство": [_evidence(r) for _, r in d.iterrows()],
        "Информативность": d["n"].map(informativeness),
    })
    if school_id is not None:
        out = out.drop(columns=["Школа", "Логин"])
    return out


def mean_intervals(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, mean, ci_low, ci_high, n`` of the primary score: school, similar schools, reference (all schools)."""
    d = _vpr_cell(data, year, grade, subject).dropna(subset=["primary_score"])
    groups = comparison_groups(data, school_id)
    ref_name = GROUP_REGION if GROUP_REGION in groups else GROUP_MUNI
    out = []
    for g, ids in ((GROUP_SCHOOL, groups[GROUP_SCHOOL]), (GROUP_SIMILAR, groups.get(GROUP_SIMILAR, [])),
                   (ref_name, sorted(d["school_id"].unique()))):
        x = d.loc[d["school_id"].isin(ids), "primary_score"]
        if len(x) < 2:
            continue
        half = 1.96 * x.std(ddof=1) / math.sqrt(len(x))
        out.append(dict(group=g, mean=x.mean(), ci_low=x.mean() - half, ci_high=x.mean() + half, n=len(x)))
    return pd.DataFrame(out, columns=["group", "mean", "ci_low", "ci_high", "n"])


def cell_evidence(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> dict:
    """Picture data of the objectivity module for one school × work (``{}`` when unavailable)."""
    key = ("_evidence", school_id, year, grade, subject)
    if key in data.tables:
        return data.tables[key]  # type: ignore[return-value]
    out: dict = {}
    try:
        from msoko.objectivity import cell_evidence as _cell_evidence
    except ImportError:
        _cell_evidence = None
    if _cell_evidence is not None and not data.vpr.empty:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out = _cell_evidence({"vpr": data.vpr, "vpr_tasks": data.tasks_cell(year, grade, subject),
                                      "task_specs": data.task_specs,
                                      "schools": data.schools}, data.config or None, year, grade, subject, school_id)
            except Exception:  # noqa: BLE001 - a picture must not break the report
                out = {}
    data.tables[key] = out  # type: ignore[assignment]
    return out


def bunching_data(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``score, count, expected``: the school's score counts and what the reference distribution predicts.

    The expectation is the distribution of all other schools' scores of the same
    work, rescaled to the school's number of participants (a picture of the
    sign; the statistic itself comes from ``objectivity.parquet``).
    """
    d = _vpr_cell(data, year, grade, subject).dropna(subset=["primary_score"])
    if d.empty:
        return pd.DataFrame(columns=["score", "count", "expected"])
    maxs = int(np.nanmax(d["max_score"])) if "max_score" in d and d["max_score"].notna().any() else int(d["primary_score"].max())
    rng = range(0, maxs + 1)
    mine = d[d["school_id"] == school_id]["primary_score"].round().astype(int).value_counts().reindex(rng, fill_value=0)
    other = d[d["school_id"] != school_id]["primary_score"].round().astype(int).value_counts().reindex(rng, fill_value=0)
    expected = other / other.sum() * mine.sum() if other.sum() else pd.Series(np.nan, index=list(rng))
    return pd.DataFrame({"score": list(rng), "count": mine.values, "expected": expected.values})


def cohort_k_data(data: ReportData, year: int, subject: str) -> pd.DataFrame:
    """``school_id, k, flagged`` for the cohort sign (grade 4 in Y−1 → grade 5 in Y) from ``objectivity.parquet``."""
    o = data.objectivity
    if o.empty:
        return pd.DataFrame(columns=["school_id", "k", "flagged"])
    d = o[(o["year"] == year) & (o["subject"] == subject) & o["sign"].isin(["cohort_fall", "cohort_rise"])]
    if d.empty:
        return pd.DataFrame(columns=["school_id", "k", "flagged"])
    g = d.groupby("school_id").agg(k=("value", "first"), flagged=("flagged", lambda s: bool(s.fillna(False).any())))
    return g.reset_index()


def cohort_fences(data: ReportData, year: int, subject: str) -> tuple[float, float] | None:
    o = data.objectivity
    if o.empty:
        return None
    d = o[(o["year"] == year) & (o["subject"] == subject)]
    lo = d.loc[d["sign"] == "cohort_rise", "threshold"].dropna()
    hi = d.loc[d["sign"] == "cohort_fall", "threshold"].dropna()
    if lo.empty or hi.empty:
        return None
    return float(lo.iloc[0]), float(hi.iloc[0])


def plan_of_work(data: ReportData, year: int) -> pd.DataFrame:
    """Schools for the plan of work on objectivity (as in the Omsk plan, seed 002): sorted by name.

    A school enters when an official sign fires or msoko's ``combined`` judgement
    is flagged. The suggested measures follow the plan's items: a monitoring visit
    and a re-check of the works where the evidence is informative, an interview on
    the road map and an expert review of the school's own tests otherwise.
    """
    d = flagged_signs(data, year)
    d = d[d["sign"].isin(list(OFFICIAL_SIGNS) + ["combined"])]
    if d.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    rows = []
    for sid, x in d.groupby("school_id", sort=False):
        official = sorted({sign_name(s) for s in x["sign"] if is_official(s)})
        works = sorted({f"{int(g)} кл., {s}" for g, s in zip(x["grade"], x["subject"]) if pd.notna(g) and pd.notna(s)})
        nmax = x["n"].max()
        measures = ["совещание с руководителем", "собеседование по дорожной карте"]
        if pd.notna(nmax) and nmax >= LIMITED_N:
            measures += ["мониторинговый визит", "перепроверка работ ВПР", "присутствие наблюдателей на ВПР"]
        else:
            measures += ["экспертиза КИМ внутренних контрольных работ"]
        rows.append({
            "Школа": names.get(sid, sid), "Логин": sid,
            "Официальные признаки (ФИОКО)": "; ".join(official) if official else "нет",
            "Сводная оценка msoko": "да" if (x["sign"] == "combined").any() else "нет",
            "Работы": "; ".join(works),
            "Информативность": informativeness(nmax),
            "Предлагаемые мероприятия": "; ".join(measures),
        })
    return pd.DataFrame(rows).sort_values(["Школа", "Логин"]).reset_index(drop=True)


# ======================================================================================
# «зоны внимания»
# ======================================================================================

def _value_with_unit(v, unit: str, digits: int = 0) -> str:
    if unit == "%":
        return f"{fmt(v, digits)} %"
    return f"{fmt(v, 1)}" + (f" {unit}" if unit else "")


def attention_zones(data: ReportData, school_id: str, year: int, *, max_items: int = 12) -> list[str]:
    """Plain Russian sentences: what stands out for the school and how sure we are.

    An indicator stands out when the school's 95 % interval lies entirely on the
    worse side of the municipal value (direction from the catalogue). Sentences
    are ordered by informativeness (largest sample first), then the objectivity
    signs follow.
    """
    ind, cat = data.indicators, data.catalogue.set_index("code")
    out: list[tuple[int, str]] = []
    if not ind.empty:
        muni = str(school_row(data, school_id)["municipality"])
        d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
                & ~ind["suppressed"].fillna(False).astype(bool) & ind["ci_low"].notna() & ind["ci_high"].notna()]
        m = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == muni)]
        keys = ["indicator", "grade", "subject"]
        d = d.merge(m[keys + ["value"]].rename(columns={"value": "muni"}), on=keys, how="inner")
        d = d[(d["grade"].isna() & d["subject"].isna()) | d["indicator"].isin(KEY_BREAKDOWN_INDICATORS)]
        for _, r in d.iterrows():
            if r["indicator"] not in cat.index or pd.isna(r["muni"]):
                continue
            c = cat.loc[r["indicator"]]
            direction = c["direction"]
            if direction not in ("higher", "lower"):
                continue
            if r["ci_low"] > r["muni"]:
                word = "выше"
            elif r["ci_high"] < r["muni"]:
                word = "ниже"
            else:
                continue
            worse = (word == "ниже") == (direction == "higher")
            if not worse:
                continue
            unit = c["unit"]
            where = subject_phrase(r["subject"], r["grade"])
            name = c["name"] + (f" {where}" if where else "")
            n = int(r["n"]) if pd.notna(r["n"]) else 0
            s = (f"{name} ({_value_with_unit(r['value'], unit)}, 95 % ДИ {fmt(r['ci_low'], 0 if unit == '%' else 1)}–"
                 f"{_value_with_unit(r['ci_high'], unit)}) {word}, чем в муниципалитете "
                 f"({_value_with_unit(r['muni'], unit)}); {reliability_phrase(n)}.")
            out.append((n, s))
    out.sort(key=lambda t: -t[0])
    sentences = [s for _, s in out[:max_items]]
    sig = flagged_signs(data, year, school_id, include_combined=False)
    for _, r in sig.iterrows():
        where = subject_phrase(r["subject"], r["grade"])
        who = "официальный признак ФИОКО" if is_official(r["sign"]) else "дополнительный признак msoko"
        sentences.append(
            f"{where[:1].upper() + where[1:] if where else 'В результатах'} есть {who} «{sign_name(r['sign'])}»: "
            f"{_evidence(r).rstrip('.')}; {informativeness(r['n'])}. "
            "Это повод внимательно посмотреть на проведение и проверку работы, а не доказательство нарушений.")
    return sentences


# ======================================================================================
# management cycle: goals, analysis, recommendations, effectiveness
# ======================================================================================

def _cycle_table(data: ReportData, *names: str) -> pd.DataFrame:
    for n in names:
        t = data.table(n)
        if not t.empty:
            return t
    return pd.DataFrame()


def system_goal(data: ReportData, system: int) -> tuple[str, list[str]]:
    """The goal and tasks of a system from the municipal configuration."""
    sec = (data.config.get("systems", {}) or {}).get(str(system), {}) or {}
    return str(sec.get("goal", "")), [str(t) for t in sec.get("tasks", [])]


def goals_table(data: ReportData, system: int, year: int) -> pd.DataFrame:
    """The system's indicators: formula, unit, direction, data source and the configured target for ``year``."""
    cat = catalogue_for(data, system)
    if cat.empty:
        return pd.DataFrame()
    t = cat[["code", "name", "formula", "unit", "direction", "source"]].copy()
    t["target"] = [target_value(data, c, year) for c in t["code"]]
    t["direction"] = t["direction"].map({"higher": "больше — лучше", "lower": "меньше — лучше"}).fillna("—")
    t["target"] = t["target"].map(lambda v: fmt(v) if pd.notna(v) else "не задано")
    t = t.drop(columns="code")
    return t.rename(columns={"name": "Показатель", "formula": "Формула", "unit": "Ед.", "direction": "Направление",
                             "source": "Источник данных", "target": f"Цель на {year} г."}).fillna("—").astype(str)


def municipal_indicator_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """Municipal values of a system's indicators over three years, with intervals and targets."""
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return pd.DataFrame()
    d = ind[(ind["level"] == "municipality") & (ind["school_id"] == municipality) & ind["indicator"].isin(cat["code"])
            & ind["grade"].isna() & ind["subject"].isna() & ind["year"].between(year - 2, year)]
    rows = []
    for _, c in cat.iterrows():
        x = d[d["indicator"] == c["code"]].set_index("year")
        if x.empty:
            continue
        row = {"Показатель": c["name"], "Ед.": c["unit"] or "—"}
        for y in range(year - 2, year + 1):
            if y in x.index:
                r = x.loc[y]
                row[str(y)] = _value_cell(r["value"], r.get("ci_low"), r.get("ci_high"), "", bool(r.get("suppressed", False)), r.get("n"))
            else:
                row[str(y)] = "—"
        if year in x.index:
            row[f"n ({year})"] = fmt(int(x.loc[year, "n"])) if pd.notna(x.loc[year, "n"]) else "—"
        tgt = target_value(data, c["code"], year)
        row["Цель"] = fmt(tgt) if pd.notna(tgt) else "не задана"
        rows.append(row)
    return pd.DataFrame(rows)


def school_comparison_table(data: ReportData, municipality: str, year: int, code: str, *, grade=None,
                            subject=None) -> pd.DataFrame:
    """Every school's value of one indicator beside the municipality — sorted by school name, never by value."""
    ind = data.indicators
    if ind.empty:
        return pd.DataFrame()
    meta = indicator_meta(data, code)
    s = data.schools[data.schools["municipality"] == municipality]
    d = ind[(ind["year"] == year) & (ind["indicator"] == code) & (ind["level"] == "school")
            & ind["school_id"].isin(s["school_id"])]
    d = d[_key_mask(d, grade, subject)]
    m = ind[(ind["year"] == year) & (ind["indicator"] == code) & (ind["level"] == "municipality")
            & (ind["school_id"] == municipality)]
    m = m[_key_mask(m, grade, subject)]
    mv = m["value"].iloc[0] if len(m) else math.nan
    names = s.set_index("school_id")["name"]
    rows = []
    for _, r in d.iterrows():
        sup = bool(r.get("suppressed", False)) or (pd.notna(r["n"]) and r["n"] < MIN_N)
        rows.append({
            "Школа": names.get(r["school_id"], r["school_id"]), "Логин": r["school_id"],
            "Значение [95 % ДИ]": _value_cell(r["value"], r["ci_low"], r["ci_high"], meta["unit"], sup, r["n"]),
            "n": fmt(int(r["n"])) if pd.notna(r["n"]) else "—",
            "Сравнение с муниципалитетом": "" if sup else _compare_word(r.to_dict(), mv, meta["direction"]),
            "Информативность": informativeness(r["n"]),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(["Школа", "Логин"]).reset_index(drop=True)


def _municipal_ids(data: ReportData, municipality: str) -> set[str]:
    return set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"].astype(str))


def municipal_findings(data: ReportData, municipality: str, year: int, system: int, *, limit: int = 8) -> list[str]:
    """The cycle's sentences about the municipality itself (target missed, worse trend), most certain first."""
    cyc = _cycle_table(data, "cycle_analysis")
    if cyc.empty or "text_ru" not in cyc:
        return []
    c = cyc[(cyc["year"] == year) & (cyc["system"] == system) & (cyc.get("level", "") == "municipality")
            & (cyc["school_id"].astype(str) == municipality)]
    if "z" in c:
        c = c.sort_values("z", ascending=False)
    return [str(t) for t in c["text_ru"].dropna().head(limit)]


def analysis_table(data: ReportData, municipality: str, year: int, system: int) -> pd.DataFrame:
    """Schools that fall short on the system's indicators, one row per school, sorted by name
    (compare, never rank). From the management cycle (``cycle_analysis``) when computed, else
    worked out here: the school's interval wholly on the worse side of the municipality, or the
    target missed."""
    cyc = _cycle_table(data, "cycle_analysis")
    cat = catalogue_for(data, system)
    names = data.schools.set_index("school_id")["name"]
    if not cyc.empty and {"school_id", "indicator", "system"} <= set(cyc):
        c = cyc[(cyc["year"] == year) & (cyc["system"] == system)]
        c = c[(c.get("level", "school") == "school") & c["school_id"].astype(str).isin(_municipal_ids(data, municipality))]
        if c.empty:
            return pd.DataFrame()
        c = c.assign(school_id=c["school_id"].astype(str))
        rows = []
        for sid, x in c.groupby("school_id", sort=False):
            cert = x["certainty"].value_counts() if "certainty" in x else pd.Series(dtype=int)
            label = x["name_ru"] if "name_ru" in x else x["indicator"]
            where = [f"{lab} ({subject_phrase(s, g).replace('по ', '', 1)})" if pd.notna(g) or pd.notna(s) else str(lab)
                     for lab, g, s in zip(label, x.get("grade", pd.Series(pd.NA, index=x.index)),
                                          x.get("subject", pd.Series(pd.NA, index=x.index)))]
            uniq = list(dict.fromkeys(where))
            rows.append({"Школа": names.get(sid, sid), "Логин": sid, "Зон внимания": fmt(len(x)),
                         "Из них достоверно": fmt(int(cert.get("достоверно", 0))),
                         "Причины": "; ".join(sorted(set(x["reason_ru"].dropna().astype(str)))) if "reason_ru" in x else "—",
                         "Показатели": "; ".join(uniq[:4]) + (f" и ещё {len(uniq) - 4}" if len(uniq) > 4 else "")})
        return pd.DataFrame(rows).sort_values(["Школа", "Логин"]).reset_index(drop=True)
    ind = data.indicators
    if ind.empty or cat.empty:
        return pd.DataFrame()
    s = data.schools[data.schools["municipality"] == municipality]
    d = ind[(ind["year"] == year) & (ind["level"] == "school") & ind["school_id"].isin(s["school_id"])
            & ind["indicator"].isin(cat["code"]) & ind["grade"].isna() & ind["subject"].isna()
            & ~ind["suppressed"].fillna(False).astype(bool)]
    m = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == municipality)
            & ind["grade"].isna() & ind["subject"].isna()].set_index("indicator")["value"]
    c = cat.set_index("code")
    rows = []
    for _, r in d.iterrows():
        meta = c.loc[r["indicator"]]
        mv = m.get(r["indicator"], math.nan)
        if meta["direction"] not in ("higher", "lower") or pd.isna(mv) or pd.isna(r["ci_low"]):
            continue
        worse = (r["ci_high"] < mv) if meta["direction"] == "higher" else (r["ci_low"] > mv)
        tgt = target_value(data, r["indicator"], year)
        miss_target = pd.notna(tgt) and ((r["value"] < tgt) if meta["direction"] == "higher" else (r["value"] > tgt))
        if not (worse or miss_target):
            continue
        why = []
        if worse:
            why.append(f"{'ниже' if meta['direction'] == 'higher' else 'выше'} муниципального значения "
                       f"{_value_with_unit(mv, meta['unit'])} за пределами погрешности")
        if miss_target:
            why.append(f"не достигнута цель {_value_with_unit(tgt, meta['unit'])}")
        rows.append({"Школа": names.get(r["school_id"], r["school_id"]), "Логин": r["school_id"],
                     "Показатель": meta["name"],
                     "Значение [95 % ДИ]": _value_cell(r["value"], r["ci_low"], r["ci_high"], meta["unit"], False, r["n"]),
                     "Что не так": "; ".join(why), "Информативность": informativeness(r["n"])})
    out = pd.DataFrame(rows)
    return out.sort_values(["Школа", "Логин", "Показатель"]).reset_index(drop=True) if not out.empty else out


def recommendations_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                          municipality: str | None = None, per_school: int | None = None) -> pd.DataFrame:
    """Addressed recommendations of the management cycle (``recommendations``), sorted by school name.

    ``per_school`` keeps the first recommendations of each school (the rest are counted
    in a last line per school: every one is in the school's own report)."""
    r = _cycle_table(data, "recommendations", "cycle_recommendations")
    if r.empty:
        return pd.DataFrame()
    r = r.copy()
    if "year" in r:
        r = r[r["year"] == year]
    r["school_id"] = r["school_id"].astype(str)
    if school_id is not None:
        r = r[r["school_id"] == school_id]
    if municipality is not None:
        r = r[r["school_id"].isin(_municipal_ids(data, municipality) | {municipality})]
    if system is not None and "system" in r:
        r = r[r["system"] == system]
    if r.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    r["_name"] = r["school_id"].map(names).fillna(r["school_id"]).astype(str)
    sort = ["_name", "school_id"] + [c for c in ("system", "indicator", "grade", "subject") if c in r]
    r = r.sort_values(sort, na_position="first")
    text_col = next((c for c in ("text_ru", "recommendation", "text") if c in r), None)
    rows = []
    for sid, x in r.groupby("school_id", sort=False):
        shown = x if per_school is None else x.head(per_school)
        for _, y in shown.iterrows():
            row = {}
            if school_id is None:
                row["Школа"] = y["_name"]
            if system is None and "system" in y:
                row["Система"] = str(int(y["system"])) if pd.notna(y["system"]) else "—"
            row["Рекомендация"] = y[text_col] if text_col else "—"
            row["Адресат"] = y.get("addressee", "—") if pd.notna(y.get("addressee", pd.NA)) else "—"
            rows.append(row)
        if per_school is not None and len(x) > per_school:
            row = {"Рекомендация": f"…и ещё {len(x) - per_school} (см. отчёт школы)", "Адресат": ""}
            if school_id is None:
                row = {"Школа": x["_name"].iloc[0], **row}
            if system is None and "system" in x:
                row["Система"] = ""
            rows.append(row)
    return pd.DataFrame(rows)


def measures_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                   municipality: str | None = None) -> pd.DataFrame:
    """Measures and management decisions recorded for a year (template ``measures``)."""
    m = data.table("measures")
    if m.empty:
        return pd.DataFrame()
    m = m[m["year"] == year].copy()
    m["school_id"] = m["school_id"].astype(str)
    if school_id is not None:
        m = m[m["school_id"] == school_id]
    if municipality is not None:
        ids = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"]) | {municipality}
        m = m[m["school_id"].isin(ids)]
    if system is not None:
        m = m[m["system"] == system]
    if m.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    out = pd.DataFrame({"Школа": m["school_id"].map(names).fillna(m["school_id"]),
                        "Показатель": m["indicator"].map(lambda x: indicator_meta(data, x)["name"]),
                        "Мера": m["measure"],
                        "Управленческое решение": m.get("decision", pd.Series("—", index=m.index)),
                        "Ответственный": m.get("responsible", pd.Series("—", index=m.index))})
    if school_id is not None:
        out = out.drop(columns=["Школа"])
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True).fillna("—")


def effectiveness_table(data: ReportData, year: int, *, school_id: str | None = None, system: int | None = None,
                        municipality: str | None = None) -> pd.DataFrame:
    """Did the measures of ``year − 1`` move their indicator? Before / after with intervals and a verdict.

    The cycle's ``effectiveness`` table is shown when present; otherwise the
    verdict is worked out here from ``indicators.parquet``: «улучшение», when the
    new interval lies entirely on the better side of last year's value;
    «ухудшение» for the opposite; else «изменение в пределах погрешности».
    """
    eff = _cycle_table(data, "effectiveness", "cycle_effectiveness")
    names = data.schools.set_index("school_id")["name"]
    if not eff.empty and {"school_id", "indicator", "verdict"} <= set(eff):
        e = eff.assign(school_id=eff["school_id"].astype(str), year=pd.to_numeric(eff["year"], errors="coerce"))
        # a measure of year Y is judged by Y + 1: the report of ``year`` shows the measures of year − 1
        e = e[e["year"] == year - 1]
        if school_id is not None:
            e = e[e["school_id"] == school_id]
        if system is not None and "system" in e:
            e = e[pd.to_numeric(e["system"], errors="coerce") == system]
        if municipality is not None:
            e = e[e["school_id"].isin(_municipal_ids(data, municipality) | {municipality})]
        if e.empty:
            return pd.DataFrame()
        unit = e["indicator"].map(lambda c: indicator_meta(data, c).get("unit", ""))

        def ch(r):
            if pd.isna(r["change"]):
                return "—"
            s_ = ("+" if r["change"] >= 0 else "−") + fmt(abs(float(r["change"])))
            if pd.notna(r.get("change_ci_low")) and pd.notna(r.get("change_ci_high")):
                s_ += f" [{fmt(float(r['change_ci_low']))}; {fmt(float(r['change_ci_high']))}]"
            return s_

        out = pd.DataFrame({
            "Школа": e["school_id"].map(names).fillna(e["school_id"]),
            "Показатель": e["name_ru"] if "name_ru" in e else e["indicator"],
            "Мера": e.get("measure", pd.Series("—", index=e.index)),
            f"Было ({year - 1})": [fmt(float(v)) + (f" {u}" if u else "") if pd.notna(v) else "—"
                                   for v, u in zip(e["value_before"], unit)],
            f"Стало ({year})": [fmt(float(v)) + (f" {u}" if u else "") if pd.notna(v) else "—"
                                for v, u in zip(e["value_after"], unit)],
            "Изменение [95 % ДИ]": [ch(r) for _, r in e.iterrows()],
            "Вывод": e["verdict"].fillna("—"),
        })
        if school_id is not None:
            out = out.drop(columns=["Школа"])
        return out.sort_values(list(out.columns[:2])).reset_index(drop=True)
    m = data.table("measures")
    ind = data.indicators
    if m.empty or ind.empty:
        return pd.DataFrame()
    m = m[m["year"] == year - 1].assign(school_id=lambda x: x["school_id"].astype(str))
    if school_id is not None:
        m = m[m["school_id"] == school_id]
    if system is not None:
        m = m[m["system"] == system]
    if municipality is not None:
        ids = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"])
        m = m[m["school_id"].isin(ids)]
    rows = []
    for _, r in m.iterrows():
        meta = indicator_meta(data, r["indicator"])
        x = ind[(ind["indicator"] == r["indicator"]) & (ind["school_id"] == r["school_id"]) & (ind["level"] == "school")
                & ind["grade"].isna() & ind["subject"].isna()].set_index("year")
        if year - 1 not in x.index or year not in x.index:
            verdict, before, after = "нет данных за оба года", "—", "—"
        else:
            b, a = x.loc[year - 1], x.loc[year]
            before = _value_cell(b["value"], b["ci_low"], b["ci_high"], meta["unit"], bool(b["suppressed"]), b["n"])
            after = _value_cell(a["value"], a["ci_low"], a["ci_high"], meta["unit"], bool(a["suppressed"]), a["n"])
            if bool(a["suppressed"]) or bool(b["suppressed"]) or pd.isna(a["ci_low"]):
                verdict = "нельзя оценить (мало участников)"
            else:
                better_hi = a["ci_low"] > b["value"]
                better_lo = a["ci_high"] < b["value"]
                if meta["direction"] == "higher":
                    verdict = "улучшение" if better_hi else ("ухудшение" if better_lo else "изменение в пределах погрешности")
                elif meta["direction"] == "lower":
                    verdict = "улучшение" if better_lo else ("ухудшение" if better_hi else "изменение в пределах погрешности")
                else:
                    verdict = "изменение" if (better_hi or better_lo) else "изменение в пределах погрешности"
        rows.append({"Школа": names.get(r["school_id"], r["school_id"]), "Показатель": meta["name"],
                     "Мера": r["measure"], f"Было ({year - 1})": before, f"Стало ({year})": after, "Вывод": verdict})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    if school_id is not None:
        out = out.drop(columns=["Школа"])
    return out.sort_values(list(out.columns[:2])).reset_index(drop=True)


# ======================================================================================
# one-call helpers for the notebooks (display only)
# ======================================================================================

_SECTION: list[str] | None = None  # fragments of the show_* call in progress


def display_html(fragment: str) -> None:
    """Show an HTML fragment; inside a ``show_*`` call, collect it for that call's one output."""
    if _SECTION is not None:
        _SECTION.append(str(fragment))
        return
    from IPython.display import HTML, display

    display(HTML(fragment))


def _one_output(fn):
    """Make a ``show_*`` function display everything it shows as one output.

    A school report's sections emit ~200 fragments (paragraphs, tables, charts); as separate
    outputs each is a kernel message, a JSON round trip and a schema validation in the runner —
    about a tenth of the report's build time. Nested ``show_*`` calls join their caller's output;
    what was collected is shown even when the function fails half-way."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global _SECTION
        if _SECTION is not None:
            return fn(*args, **kwargs)
        _SECTION = []
        try:
            return fn(*args, **kwargs)
        finally:
            parts, _SECTION = _SECTION, None
            if parts:
                display_html("".join(parts))

    return wrapper


def show_table(df: pd.DataFrame, *, caption: str | None = None, note: str | None = None) -> None:
    display_html(html_table(df, caption=caption, note=note))


# ======================================================================================
# notebook sections: each displays one part of a report (tables, charts, sentences)
# ======================================================================================

def _show_chart(chart) -> None:
    display_html(str(chart))


def _vpr_source(year: int) -> str:
    return f"{SRC_VPR} {year}; расчёт msoko"


def show_title(data: ReportData, *, kind: str, year: int, school_id: str | None = None,
               municipality: str | None = None) -> None:
    """A short header block: who the report is about and how to read it."""
    lines = []
    if school_id is not None:
        row = school_row(data, school_id)
        lines.append(f"<p><b>{esc(school_name(data, school_id))}</b> (логин {esc(school_id)}), "
                     f"{esc(row.get('municipality', ''))}. Учебный год: {year}.</p>")
    elif municipality is not None:
        lines.append(f"<p><b>{esc(municipality)}</b>. Учебный год: {year}.</p>")
    else:
        lines.append(f"<p>Учебный год: {year}.</p>")
    lines.append(
        "<p class=\"msoko-note\">Как читать: значения показаны рядом с муниципалитетом"
        + (", похожими школами (тот же тип организации и тип населённого пункта)" if school_id else "")
        + " и, где есть данные, регионом; в квадратных скобках — 95 % доверительный интервал. "
        f"Группы меньше {MIN_N} участников не показываются, меньше {LIMITED_N} — отмечены как малоинформативные. "
        "Результаты ВПР сравниваются, а не ранжируются: школы в таблицах упорядочены по названию.</p>")
    lines.append(
        "<p class=\"msoko-note\">Цвета на всех графиках: <span style=\"color:#1f4e79\">■</span> школа, "
        "<span style=\"color:#4d9221\">■</span> похожие школы, <span style=\"color:#e08214\">■</span> муниципалитет, "
        "<span style=\"color:#7f7f7f\">■</span> регион.</p>")
    display_html(f"<div class=\"callout\">{''.join(lines)}</div>")


def show_school_context(data: ReportData, school_id: str, year: int) -> None:
    show_table(school_context(data, school_id, year), caption="Характеристики школы")
    t = school_vpr_counts(data, school_id, year)
    if t.empty:
        display_html(html_para(f"В {year} году школа не писала ВПР (или данные не загружены).", "msoko-note"))
    else:
        display_html(html_para(f"ВПР {year} года: {len(t)} {_plural(len(t), 'работа', 'работы', 'работ')}, "
                               f"{fmt(int(t['n'].sum()))} работ участников; подробности — в главе 1.", "msoko-note"))


def show_attention(data: ReportData, school_id: str, year: int) -> None:
    s = attention_zones(data, school_id, year)
    display_html(html_sentences(s, empty="Ни один показатель школы не отличается от муниципального в худшую "
                                          "сторону за пределами погрешности, признаков необъективности нет."))


def _indicator_pair(data: ReportData, school_id: str, year: int, code: str) -> None:
    import textwrap

    from msoko import plots

    meta = indicator_meta(data, code)
    g = indicator_groups(data, school_id, year, code)
    tr = indicator_trend(data, school_id, code, year)
    if g.empty or g["value"].isna().all():
        return
    src = f"{meta.get('source') or 'msoko'}; показатели msoko"
    tgt = target_value(data, code, year)
    _show_chart(plots.row(
        plots.plot_indicator(g, unit=meta.get("unit", ""), source=src,
                             title="\n".join(textwrap.wrap(f"{meta['name']}, {year}", 70)),
                             target=tgt if pd.notna(tgt) else None),
        plots.plot_trend(tr, unit=meta.get("unit", ""), source=src, title="Динамика")))


def show_school_system(data: ReportData, school_id: str, year: int, system: int) -> None:
    """Indicators of one system beside the comparison groups, with intervals and the 3-year trend."""
    goal, _ = system_goal(data, system)
    if goal:
        display_html(html_para(f"Цель системы: {goal}.", "msoko-note"))
    t = system_indicator_table(data, school_id, year, system)
    if t.empty:
        display_html(html_para("Для школы нет показателей этой системы за выбранный год "
                               "(данные не загружены или группа слишком мала).", "msoko-empty"))
        return
    show_table(t, caption="Показатели школы и группы сравнения",
               note="В столбце «Школа» — значение и 95 % доверительный интервал в квадратных скобках.")
    for code in headline_indicators(data, school_id, year, system, k=1):
        _indicator_pair(data, school_id, year, code)


CORE_SUBJECTS = ("Русский язык", "Математика")
# Indicators whose grade × subject breakdowns count as «stands out» (the overall rows count for all):
# with a dozen indicators per work, testing each breakdown would flag something by chance everywhere.
KEY_BREAKDOWN_INDICATORS = {"vpr_fail_share", "vpr_quality", "vpr_mean_pct", "vpr_fail", "vpr_quality_share",
                            "gia_below_min", "oge_mark45_share", "s1_bad", "s1_good"}
MAX_DETAILED_WORKS = 8


def _standout_works(data: ReportData, school_id: str, year: int) -> set[tuple[int, str]]:
    """Works where the school's interval lies on the worse side of the municipality, or a sign fires."""
    out: set[tuple[int, str]] = set()
    ind, cat = data.indicators, data.catalogue.set_index("code")
    if not ind.empty:
        muni = str(school_row(data, school_id)["municipality"])
        d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
                & ind["grade"].notna() & ind["subject"].notna() & ind["ci_low"].notna()
                & ~ind["suppressed"].fillna(False).astype(bool)]
        m = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == muni)]
        keys = ["indicator", "grade", "subject"]
        d = d.merge(m[keys + ["value"]].rename(columns={"value": "muni"}), on=keys)
        d = d[d["indicator"].isin(KEY_BREAKDOWN_INDICATORS)]
        dirn = d["indicator"].map(cat["direction"]) if len(cat) else pd.Series("", index=d.index)
        worse = ((dirn == "higher") & (d["ci_high"] < d["muni"])) | ((dirn == "lower") & (d["ci_low"] > d["muni"]))
        out |= {(int(g), str(s)) for g, s in zip(d.loc[worse, "grade"], d.loc[worse, "subject"])}
    f = flagged_signs(data, year, school_id, official=True).dropna(subset=["grade", "subject"])
    out |= {(int(g), str(s)) for g, s in zip(f["grade"], f["subject"])}
    return out


def vpr_overview_table(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """One row per ВПР the school wrote: participants, «2», качество, mean % — school beside the municipality."""
    taken = school_vpr_counts(data, school_id, year)
    groups = comparison_groups(data, school_id)
    rows = []
    for _, r in taken.iterrows():
        g, subj = int(r["grade"]), str(r["subject"])
        row = {"Работа": f"{g} кл., {subj}", "Участников": fmt(int(r["n"]))}
        for grp in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI):
            x = _cell_group(data, year, g, subj, groups.get(grp, []))
            marks = x["mark"].dropna().astype(int)
            short = {GROUP_SCHOOL: "школа", GROUP_SIMILAR: "похожие", GROUP_MUNI: "муниц."}[grp]
            if len(marks) < MIN_N:
                row[f"«2», % ({short})"] = row[f"«4»–«5», % ({short})"] = "—" if grp != GROUP_SCHOOL else "скрыто"
                continue
            k2, k45, n = int((marks == 2).sum()), int((marks >= 4).sum()), len(marks)
            if grp == GROUP_SCHOOL:
                lo, hi = _wilson(k2, n)
                row[f"«2», % ({short})"] = f"{fmt(100 * k2 / n, 0)} [{fmt(100 * lo, 0)}–{fmt(100 * hi, 0)}]"
                lo, hi = _wilson(k45, n)
                row[f"«4»–«5», % ({short})"] = f"{fmt(100 * k45 / n, 0)} [{fmt(100 * lo, 0)}–{fmt(100 * hi, 0)}]"
            else:
                row[f"«2», % ({short})"] = fmt(100 * k2 / n, 0)
                row[f"«4»–«5», % ({short})"] = fmt(100 * k45 / n, 0)
        row["Информативность"] = informativeness(int(r["n"]))
        rows.append(row)
    return pd.DataFrame(rows)


def vpr_overview_marks(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """Marks of every ВПР of the school, each beside the municipality (long form for plot_marks_distribution)."""
    taken = school_vpr_counts(data, school_id, year)
    groups = comparison_groups(data, school_id)
    out = []
    for _, r in taken.iterrows():
        g, subj = int(r["grade"]), str(r["subject"])
        for grp, label in ((GROUP_SCHOOL, "школа"), (GROUP_MUNI, "муниципалитет")):
            x = _cell_group(data, year, g, subj, groups.get(grp, [])).dropna(subset=["mark"])
            n = len(x)
            if n < MIN_N:
                continue
            c = x["mark"].astype(int).value_counts()
            out += [dict(group=f"{g} кл., {subj}: {label}", mark=m, share=100 * c.get(m, 0) / n, n=n)
                    for m in (2, 3, 4, 5)]
    return pd.DataFrame(out, columns=["group", "mark", "share", "n"])


def vpr_overview_journal(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ВПР vs journal for every ВПР of the school, each beside the municipality (long form)."""
    taken = school_vpr_counts(data, school_id, year)
    groups = comparison_groups(data, school_id)
    out = []
    for _, r in taken.iterrows():
        g, subj = int(r["grade"]), str(r["subject"])
        for grp, label in ((GROUP_SCHOOL, "школа"), (GROUP_MUNI, "муниципалитет")):
            x = _cell_group(data, year, g, subj, groups.get(grp, [])).dropna(subset=["mark", "journal_mark"])
            n = len(x)
            if n < MIN_N:
                continue
            diff = x["mark"].astype(int) - x["journal_mark"].astype(int)
            for cat, k in (("Понизили", (diff < 0).sum()), ("Подтвердили", (diff == 0).sum()),
                           ("Повысили", (diff > 0).sum())):
                out.append(dict(group=f"{g} кл., {subj}: {label}", category=cat, share=100 * k / n, n=n))
    return pd.DataFrame(out, columns=["group", "category", "share", "n"])


def level_table(data: ReportData, school_id: str, year: int, grade: int, subject: str, tasks: pd.DataFrame) -> pd.DataFrame:
    """Completion by difficulty level (Б/П/В), school beside the comparison groups, with the threshold."""
    lv = level_completion(tasks, data, grade, subject)
    if lv.empty:
        return pd.DataFrame()
    thr = sufficiency_thresholds(data, year)
    w = lv.pivot_table(index="level", columns="group", values="value", aggfunc="first")
    rows = []
    for level in [x for x in ("Б", "П", "В") if x in w.index]:
        row = {"Уровень": f"{level} — {({'Б': 'базовый', 'П': 'повышенный', 'В': 'высокий'})[level]}"}
        for grp in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI):
            if grp in w.columns:
                row[f"{grp}, %"] = fmt(w.loc[level, grp], 0)
        row["Порог достаточности, %"] = fmt(thr.get(level), 0) if level in thr else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def show_vpr_views(data: ReportData, school_id: str, year: int, *, detail: str = "auto") -> None:
    """ФИС ОКО views of the school's ВПР: an overview of every work, then the detailed views
    (marks, scores with the mark boundaries, tasks and levels, ВПР vs journal) —
    ``detail="auto"``: for Russian and mathematics and every work where something stands out;
    ``detail="all"``: for every work."""
    from msoko import plots

    taken = school_vpr_counts(data, school_id, year)
    if taken.empty:
        display_html(html_para(f"В {year} году школа не писала ВПР (или данные не загружены).", "msoko-empty"))
        return
    show_table(vpr_overview_table(data, school_id, year), caption=f"Все ВПР {year} года: школа и группы сравнения",
               note="Для школы в квадратных скобках — 95 % доверительный интервал; «похожие» — школы того же типа "
                    "и типа населённого пункта.")
    ov = vpr_overview_marks(data, school_id, year)
    if not ov.empty:
        _show_chart(plots.plot_marks_distribution(ov, source=_vpr_source(year), title="Отметки по всем работам"))
    oj = vpr_overview_journal(data, school_id, year)
    if not oj.empty:
        _show_chart(plots.plot_vpr_vs_journal(oj, source=f"{_vpr_source(year)}; отметка за четверть",
                                               title="Отметка ВПР и отметка в журнале по всем работам"))
    standout = _standout_works(data, school_id, year)
    thr = sufficiency_thresholds(data, year)
    shown = 0
    if detail == "all":
        chosen = list(zip(taken["grade"].astype(int), taken["subject"].astype(str)))
    else:
        core = [(int(g), str(x)) for g, x in zip(taken["grade"], taken["subject"]) if x in CORE_SUBJECTS]
        other = [(int(g), str(x)) for g, x in zip(taken["grade"], taken["subject"])
                 if x not in CORE_SUBJECTS and (int(g), str(x)) in standout]
        chosen = set((core + other)[:MAX_DETAILED_WORKS])
    for _, r in taken.iterrows():
        grade, subject, n = int(r["grade"]), str(r["subject"]), int(r["n"])
        if (grade, subject) not in chosen:
            continue
        shown += 1
        display_html(html_heading(f"ВПР {year}: {subject}, {grade} класс", 3))
        if n < MIN_N:
            display_html(html_para(f"Участников меньше {MIN_N} — результаты не показываются.", "msoko-empty"))
            continue
        if n < LIMITED_N:
            display_html(html_para(f"Участников {n}: информативность ограничена, выводы предварительные.", "msoko-note"))
        show_table(vpr_summary_table(data, school_id, year, grade, subject), caption="Основные показатели")
        tasks = task_completion(data, school_id, year, grade, subject)
        show_table(level_table(data, school_id, year, grade, subject, tasks),
                   caption="Выполнение по уровням сложности (% от максимального балла)")
        fig = plots.plot_vpr_detail(
            scores=score_distribution(data, school_id, year, grade, subject), tasks=tasks,
            boundaries=mark_boundaries(data, year, grade, subject), max_score=_max_score(data, year, grade, subject),
            thresholds=thr, source=_vpr_source(year))
        _show_chart(fig)
    if shown < len(taken):
        display_html(html_para(
            f"Подробно показаны {shown} из {len(taken)} работ: русский язык, математика и работы, где доля «2», "
            "качество или средний процент выполнения школы хуже муниципальных за пределами погрешности либо есть "
            f"официальный признак необъективности (не более {MAX_DETAILED_WORKS}). "
            "Чтобы показать все, выполните show_vpr_views(..., detail=\"all\").", "msoko-note"))


def _max_score(data: ReportData, year: int, grade: int, subject: str):
    d = _vpr_cell(data, year, grade, subject)
    return float(d["max_score"].max()) if "max_score" in d and d["max_score"].notna().any() else None


def show_gia(data: ReportData, school_id: str, year: int) -> None:
    t = gia_table(data, school_id, year)
    show_table(t, caption=f"ГИА {year}: школа и муниципалитет",
               note="Средний балл: тестовый для ЕГЭ, первичный для ОГЭ; «ниже минимума» — доля участников "
                    "ниже минимального порога, в скобках 95 % ДИ.")


SIGNS_INTERVAL = {"inflated_mean", "inflated_mean_similar", "inflated_mean_calibrated", "high_not_confirmed",
                  "not_confirmed_by_gia", "unconfirmed_high", "score_swing", "swing", "combined"}
SIGNS_BUNCHING = {"bunching", "combined"}
SIGNS_COHORT = {"cohort_fall", "cohort_rise"}
SIGNS_JOURNAL = {"journal_mismatch", "marks_lower", "marks_higher", "marks_far", "marks_far_below", "journal_up", "journal_down",
                 "journal_diff2", "journal_shift", "combined"}
SIGNS_TASKS = {"tasks_basic_vs_advanced", "easy_hard"}


MAX_EVIDENCE_CELLS = 4   # pictures per school (school report)
MAX_CARDS = 30           # evidence cards in the objectivity report
EXPECTED_LABEL = "Ожидаемое: распределение остальных школ, приведённое к числу участников"


def _evidence_charts(data: ReportData, school_id: str, year: int, grade, subject, signs: set[str], *,
                     titled: bool = False) -> None:
    """The pictures behind the signs of one school × work, side by side (under the work's name
    when ``titled``: where no heading names it already)."""
    from msoko import plots

    if pd.isna(grade) or pd.isna(subject):
        return
    grade, subject = int(grade), str(subject)
    kw: dict = {}
    if signs & SIGNS_INTERVAL:
        kw["intervals"] = mean_intervals(data, school_id, year, grade, subject)
    if signs & SIGNS_BUNCHING:
        kw["bunching"] = bunching_data(data, school_id, year, grade, subject)
        kw["boundaries"] = mark_boundaries(data, year, grade, subject)
    if signs & SIGNS_JOURNAL:
        kw["journal"] = journal_comparison(data, school_id, year, grade, subject)
    if signs & SIGNS_TASKS:
        kw["levels"] = level_completion(task_completion(data, school_id, year, grade, subject), data, grade, subject)
        kw["thresholds"] = sufficiency_thresholds(data, year)
    if signs & SIGNS_COHORT:
        kw["cohort"] = cohort_k_data(data, year, subject)
        kw["cohort_fences"] = cohort_fences(data, year, subject)
        kw["highlight"] = school_id
    fig = plots.plot_evidence_panel(source=_vpr_source(year), expected_label=EXPECTED_LABEL,
                                    title=f"{subject}, {grade} класс" if titled else None, **kw)
    if fig is not None:
        _show_chart(fig)


def _picture_cells(d: pd.DataFrame, max_cells: int) -> list[tuple]:
    """Works (grade, subject) whose signs get pictures: official signs or msoko's combined judgement;
    at most ``max_cells``, in class and subject order."""
    key = d[d["sign"].isin(list(OFFICIAL_SIGNS) + ["combined"])].dropna(subset=["grade", "subject"])
    cells = sorted({(int(g), str(s)) for g, s in zip(key["grade"], key["subject"])})
    return cells[:max_cells]


def show_school_objectivity(data: ReportData, school_id: str, year: int) -> None:
    """The school's objectivity signs with their evidence (numbers and pictures)."""
    t = signs_table(data, year, school_id)
    if t.empty:
        o = data.objectivity
        assessed = (not o.empty) and ((o["year"] == year) & (o["school_id"].astype(str) == school_id)).any()
        display_html(html_para("Признаков необъективности за год не выявлено." if assessed else
                               "Диагностика объективности за этот год не рассчитана.", "msoko-note"))
        return
    display_html("<div class=\"callout msoko\"><p>Признак — повод внимательно посмотреть на проведение и проверку "
                 "работы, а не доказательство нарушений. Официальные признаки рассчитаны по методике ФИОКО; "
                 "дополнительные — собственные показатели msoko.</p></div>")
    show_table(t, caption="Выявленные признаки")
    d = flagged_signs(data, year, school_id)
    cells = _picture_cells(d, MAX_EVIDENCE_CELLS)
    for grade, subject in cells:
        x = d[(d["grade"] == grade) & (d["subject"] == subject)]
        display_html(html_heading(f"Свидетельства: {subject}, {grade} класс", 4))
        _evidence_charts(data, school_id, year, grade, subject, set(x["sign"]))
    rest = d.dropna(subset=["grade", "subject"])[["grade", "subject"]].drop_duplicates()
    if len(rest) > len(cells):
        display_html(html_para("Рисунки приведены для работ с официальными признаками или сводной оценкой msoko "
                               f"(не более {MAX_EVIDENCE_CELLS}); числа по остальным — в таблице выше.", "msoko-note"))


def show_school_recommendations(data: ReportData, school_id: str, year: int) -> None:
    t = recommendations_table(data, year, school_id=school_id)
    show_table(t, caption=f"Адресные рекомендации по итогам {year} года")
    m = measures_table(data, year, school_id=school_id)
    if not m.empty:
        show_table(m, caption=f"Меры и управленческие решения {year} года")


def latest_effectiveness(data: ReportData, year: int, **where) -> tuple[pd.DataFrame, int]:
    """The effectiveness of last year's measures; when none were recorded, of the latest earlier
    year that has any (returned as the report year ``y`` in which they were judged)."""
    t = effectiveness_table(data, year, **where)
    if not t.empty:
        return t, year
    for y in range(year - 1, year - 6, -1):
        t = effectiveness_table(data, y, **where)
        if not t.empty:
            return t, y
    return pd.DataFrame(), year


def _show_effectiveness(data: ReportData, year: int, empty: str, **where) -> None:
    t, y = latest_effectiveness(data, year, **where)
    if t.empty:
        display_html(html_para(empty, "msoko-empty"))
        return
    if y != year:
        display_html(html_para(f"Мер {year - 1} года не зарегистрировано; ниже — последние оценённые меры "
                               f"({y - 1} год, эффект к {y} году).", "msoko-note"))
    show_table(t, caption=f"Меры {y - 1} года и изменение показателей к {y} году",
               note="Вывод — по 95 % интервалу изменения: «достоверное улучшение», если интервал целиком "
                    "по лучшую сторону нуля; иначе изменение не доказано.")


def show_school_effectiveness(data: ReportData, school_id: str, year: int) -> None:
    _show_effectiveness(data, year, f"Мер в отношении школы за {year - 1} и предыдущие годы не зарегистрировано.",
                        school_id=school_id)


# --- municipality ------------------------------------------------------------------

def municipal_headline(data: ReportData, municipality: str, year: int, system: int, k: int = 2) -> list[str]:
    cat = catalogue_for(data, system)
    ind = data.indicators
    if cat.empty or ind.empty:
        return []
    d = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == municipality)
            & ind["grade"].isna() & ind["subject"].isna() & ind["value"].notna()]
    s = ind[(ind["year"] == year) & (ind["level"] == "school") & ind["grade"].isna() & ind["subject"].isna()]
    have = set(d["indicator"]) & set(s["indicator"])
    return [c for c in _headline_order(data, system) if c in have][:k]


def municipal_trend(data: ReportData, municipality: str, code: str, year: int) -> pd.DataFrame:
    ind = data.indicators
    d = ind[(ind["level"] == "municipality") & (ind["school_id"] == municipality) & (ind["indicator"] == code)
            & ind["grade"].isna() & ind["subject"].isna() & ind["year"].between(year - 2, year)]
    return d.assign(group=GROUP_MUNI)[["year", "group", "value", "ci_low", "ci_high", "n"]]


def municipal_vpr_marks(data: ReportData, municipality: str, year: int) -> pd.DataFrame:
    """``group`` = «<grade> кл., <subject>», ``mark``, ``share``, ``n`` over the municipality's schools."""
    v = data.vpr_year(year)
    if v.empty:
        return pd.DataFrame(columns=["group", "mark", "share", "n"])
    ids = set(data.schools.loc[data.schools["municipality"] == municipality, "school_id"])
    d = v[v["school_id"].isin(ids)].dropna(subset=["mark"])
    out = []
    for (g, s), x in d.groupby(["grade", "subject"], sort=True):
        n = len(x)
        if n < MIN_N:
            continue
        c = x["mark"].astype(int).value_counts()
        out += [dict(group=f"{int(g)} кл., {s}", mark=m, share=100 * c.get(m, 0) / n, n=n) for m in (2, 3, 4, 5)]
    return pd.DataFrame(out, columns=["group", "mark", "share", "n"])


def show_municipal_system(data: ReportData, municipality: str, year: int, system: int) -> None:
    """One chapter of the municipal report, following the management cycle."""
    from msoko import plots

    goal, tasks = system_goal(data, system)
    display_html(html_heading("Цели и показатели", 3))
    if goal:
        display_html(html_para(f"Цель: {goal}."))
    if tasks:
        display_html(html_sentences(tasks))
    show_table(goals_table(data, system, year), caption="Показатели системы: формулы, источники, целевые значения")

    display_html(html_heading("Мониторинг показателей", 3))
    show_table(municipal_indicator_table(data, municipality, year, system),
               caption=f"Муниципальные значения за {year - 2}–{year} годы",
               note="Значения муниципалитета — по всем обучающимся (объединённые), а не среднее по школам; "
                    "в квадратных скобках — 95 % ДИ.")
    if system == 1:
        mk = municipal_vpr_marks(data, municipality, year)
        if not mk.empty:
            _show_chart(plots.plot_marks_distribution(mk, source=_vpr_source(year), title=f"Отметки ВПР {year} по работам"))
    if system == 8:
        a = mkdo_areas(data, municipality, year)
        if not a.empty:
            _show_chart(plots.plot_mkdo_areas(a, source=f"МКДО {year}; расчёт msoko"))
    for code in municipal_headline(data, municipality, year, system):
        meta = indicator_meta(data, code)
        tr = municipal_trend(data, municipality, code, year)
        if len(tr) >= 2:
            _show_chart(plots.plot_trend(tr, unit=meta.get("unit", ""), title=f"{meta['name']}: динамика",
                                         source=f"{meta.get('source') or 'msoko'}; показатели msoko"))
        t = school_comparison_table(data, municipality, year, code)
        show_table(t, caption=f"{meta['name']}: школы в сравнении с муниципалитетом ({year})",
                   note="Школы перечислены по названию; это сравнение, а не рейтинг.")

    display_html(html_heading("Анализ результатов мониторинга", 3))
    display_html(html_sentences(municipal_findings(data, municipality, year, system),
                                empty="На уровне муниципалитета все показатели системы в пределах целей и без "
                                      "достоверного ухудшения."))
    show_table(analysis_table(data, municipality, year, system),
               caption="Школы и показатели, которые не достигают цели или отстают от муниципалитета",
               note="Отставание засчитывается, только если 95 % интервал школы целиком хуже муниципального значения.")

    display_html(html_heading("Адресные рекомендации", 3))
    show_table(recommendations_table(data, year, system=system, municipality=municipality, per_school=3),
               caption=f"Рекомендации по итогам {year} года",
               note="Школы перечислены по названию; у каждой — не более трёх рекомендаций, полный список в отчёте школы.")

    display_html(html_heading("Меры и управленческие решения", 3))
    show_table(measures_table(data, year, system=system, municipality=municipality),
               caption=f"Меры, принятые в {year} году")

    display_html(html_heading("Анализ эффективности принятых мер", 3))
    _show_effectiveness(data, year, f"Меры по этой системе за {year - 1} и предыдущие годы не зарегистрированы — "
                                    "оценивать нечего.", system=system, municipality=municipality)


def show_municipal_summary(data: ReportData, municipality: str, year: int) -> None:
    s = data.schools[data.schools["municipality"] == municipality]
    pre = s.get("is_preschool", pd.Series(False, index=s.index)).fillna(False).astype(bool)
    v = data.vpr_year(year)
    nv = int(v["school_id"].isin(s["school_id"]).sum()) if not v.empty else 0
    rows = [("Общеобразовательных организаций", fmt(int((~pre).sum()))), ("Дошкольных организаций", fmt(int(pre.sum()))),
            (f"Работ ВПР в {year} году (писавшие)", fmt(nv))]
    idx = objectivity_index(data)
    if not idx.empty and str(year) in set(idx["Год"]):
        rows.append(("Показатель объективности (ФИОКО)", idx.set_index("Год").loc[str(year), "Показатель объективности"]))
    show_table(pd.DataFrame(rows, columns=["Характеристика", "Значение"]), caption="Муниципалитет в цифрах")


# --- objectivity report ----------------------------------------------------------------

def show_objectivity_official(data: ReportData, year: int) -> None:
    show_table(objectivity_index(data), caption="Показатель объективности по годам",
               note="Показатель = 100 − доля (%) школ, у которых выявлен хотя бы один из 14 официальных признаков.")
    o = data.objectivity
    if o.empty:
        return
    d = o[(o["year"] == year) & o["sign"].isin(OFFICIAL_SIGNS)]
    if not d.empty:
        g = d.groupby("sign").agg(assessed=("flagged", lambda s: int(s.notna().sum())),
                                  flagged=("flagged", lambda s: int(s.fillna(False).astype(bool).sum())))
        t = pd.DataFrame({"Признак": [sign_name(x) for x in g.index], "Оценено случаев": g["assessed"].map(fmt).values,
                          "Выявлено": g["flagged"].map(fmt).values})
        show_table(t, caption=f"Официальные признаки {year} года (школа × класс × предмет)")
    show_table(signs_table(data, year, official=True), caption=f"Школы с официальными признаками, {year}",
               note="Школы перечислены по названию.")


def show_objectivity_msoko(data: ReportData, year: int) -> None:
    display_html(
        "<div class=\"callout msoko\"><p><b>Собственные показатели msoko.</b> Ниже — дополнительные свидетельства, "
        "которых нет в официальной методике ФИОКО: скопления баллов у границ отметок, соотношение базовых и сложных "
        "заданий, расхождение с журналом, сопоставление с ГИА, совпадение ответов, колебания по годам, а также "
        "сводная оценка msoko. Это основания присмотреться, а не доказательство.</p>"
        "<p>Важно: на реальных региональных данных буквальное правило «завышенный средний балл» (интервал школы "
        "целиком выше интервала региона) отмечает многие сильные гимназии и лицеи — у них высокий балл объясняется "
        "составом обучающихся. Поэтому msoko показывает рядом калиброванную альтернативу — сравнение с похожими "
        "школами (тот же тип и тип населённого пункта).</p></div>")
    show_table(signs_table(data, year, official=False), caption=f"Дополнительные признаки msoko, {year}",
               note="Школы перечислены по названию.")


def show_objectivity_cards(data: ReportData, year: int, *, max_cards: int = MAX_CARDS) -> None:
    """An evidence card for every school of the plan of work (by name): its signs with their numbers,
    and one picture of the work with an official sign or msoko's combined judgement."""
    plan = plan_of_work(data, year)
    if plan.empty:
        display_html(html_para("Школ для плана работы нет: ни официальных признаков, ни сводной оценки msoko.",
                               "msoko-empty"))
        return
    d = flagged_signs(data, year)
    ids = list(plan["Логин"])
    if len(ids) > max_cards:
        display_html(html_para(f"Школ в плане работы {len(ids)}; карточки приведены для первых {max_cards} по "
                               "алфавиту, полные свидетельства каждой школы — в её отчёте.", "msoko-note"))
    for sid in ids[:max_cards]:
        display_html(html_heading(f"{school_name(data, sid)} ({sid})", 3))
        show_table(signs_table(data, year, sid), caption="Признаки и свидетельства")
        x = d[d["school_id"] == sid]
        for grade, subject in _picture_cells(x, 1):
            y = x[(x["grade"] == grade) & (x["subject"] == subject)]
            _evidence_charts(data, sid, year, grade, subject, set(y["sign"]), titled=True)


def show_plan_of_work(data: ReportData, year: int) -> None:
    p = plan_of_work(data, year)
    show_table(p, caption=f"Школы для плана работы по обеспечению объективности на {year + 1} год",
               note="Как в плане работы департамента образования г. Омска (2021): совещание с руководителями, "
                    "мониторинговые визиты, перепроверка работ, собеседование по дорожным картам, экспертиза КИМ. "
                    "Школы перечислены по названию.")


# every section function shows its part of a report as one output (see _one_output)
for _name, _fn in list(globals().items()):
    if _name.startswith("show_") and callable(_fn):
        globals()[_name] = _one_output(_fn)
del _name, _fn
