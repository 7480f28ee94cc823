"""Loading the processed tables a report reads (:class:`ReportData`, one memo per load) and resolving
the report's parameters (year, school, municipality) and comparison groups.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msoko.config import load_used_config
from msoko.errors import MsokoError
from msoko.vocabulary import similar_group
from msoko.report.fmt import GROUP_MUNI, GROUP_REGION, GROUP_SCHOOL, GROUP_SIMILAR


# ======================================================================================
# loading
# ======================================================================================

@dataclass
class ReportData:
    """The processed tables a report reads (missing optional tables are empty frames).

    ``vpr`` and ``vpr_tasks`` are large on regional data: they are read lazily, and the
    report functions ask for one year (:meth:`vpr_year`) or one work (:meth:`tasks_cell`)
    with Parquet filters instead of the whole table.

    ``municipality``: the slice loaded (:func:`load`) — the tables compute writes by municipality
    (:data:`msoko.store.SLICED_TABLES`) hold only the rows of this municipality and of all the loaded
    data, and the pupil-level tables only the works of its schools; None when the whole folder is loaded.
    The registry (``schools``) is always whole.
    """
    processed_dir: Path
    schools: pd.DataFrame
    task_specs: pd.DataFrame
    indicators: pd.DataFrame
    catalogue: pd.DataFrame
    objectivity: pd.DataFrame
    indicator_items: pd.DataFrame = field(default_factory=pd.DataFrame)
    tables: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    municipality: str | None = None

    def memo(self, key: tuple, build):
        """``build()`` once per loaded data, kept under ``key`` in :attr:`tables`: the loaded data
        outlives a report in a warm kernel, so what is the same for every school is built once."""
        if key not in self.tables:
            self.tables[key] = build()
        return self.tables[key]

    def table(self, name: str) -> pd.DataFrame:
        """An optional table (template or cycle output); empty frame when absent. A table compute
        writes by municipality holds the loaded slice's rows only (see :attr:`municipality`)."""
        if name not in self.tables:
            self.tables[name] = _read(self.processed_dir, name, self.municipality)
        return self.tables[name]

    def _slice_schools(self):
        """The schools' logins of the loaded slice as a Parquet filter (None: the whole folder)."""
        if self.municipality is None:
            return None
        import pyarrow.compute as pc

        ids = self.schools.loc[self.schools["municipality"].astype("string") == self.municipality, "school_id"]
        return pc.field("school_id").isin(sorted(ids.astype(str)))

    def _read_filtered(self, name: str, filters: list | None) -> pd.DataFrame:
        """A pupil-level table (``vpr``, ``vpr_tasks``), ``filters`` applied, only the works of the
        slice's schools when a municipality is loaded."""
        import pyarrow.parquet as pq

        path = self.processed_dir / f"{name}.parquet"
        if not path.exists():
            return pd.DataFrame()
        mine = self._slice_schools()
        if mine is not None:
            expr = pq.filters_to_expression(filters) & mine if filters else mine
            df = pd.read_parquet(path, filters=expr)
        else:
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
        """The years of the data (once per load: every report of a warm kernel asks)."""
        def build() -> list[int]:
            ys: set[int] = set()
            for df in (self.indicators, self.objectivity):
                if not df.empty and "year" in df:
                    ys |= {int(y) for y in df["year"].dropna().unique()}
            ys |= _parquet_years(self.processed_dir / "vpr.parquet")
            return sorted(ys)
        return list(self.memo(("_years",), build))


def take_rows(frame: pd.DataFrame, positions) -> pd.DataFrame:
    """``frame.iloc[positions]`` (ascending positions): a slice when they are consecutive — the same rows, labels
    and dtypes (pandas keeps a range index of a take as a range), without a take of every column (a school's rows
    of a wide table: ~1 ms as a take, ~0.15 ms as a slice)."""
    n = len(positions)
    if n and int(positions[-1]) - int(positions[0]) + 1 == n:
        return frame.iloc[int(positions[0]):int(positions[-1]) + 1]
    return frame.iloc[positions]


def year_school_rows(data: ReportData, name: str, year: int, school_id: str) -> pd.DataFrame:
    """The rows of table ``name`` (``"objectivity"``: :attr:`ReportData.objectivity`) of one year and one school,
    in table order: what ``t[(t["year"] == year) & (t["school_id"].astype(str) == str(school_id))]`` gives, from
    positions indexed once per load (such a mask over the slice's table cost ~1 ms, and a school report asks
    a dozen tables). The table must have ``year`` and ``school_id``. Shared: read it, never modify it."""
    t = data.objectivity if name == "objectivity" else data.table(name)
    pos = data.memo(("_year_school_pos", name), lambda: t.groupby(
        [t["year"], t["school_id"].astype(str)], sort=False, observed=True, dropna=True).indices)
    key = (year, str(school_id))
    return data.memo(("_year_school_rows", name, key),
                     lambda: take_rows(t, np.sort(pos[key])) if key in pos else t.iloc[0:0])


def _parquet_years(path: Path) -> set[int]:
    """The years of a table file, from its row groups' statistics when they have them (a region's ВПР
    is millions of rows: their ``year`` column is not read for a handful of values)."""
    import pyarrow.parquet as pq

    if not path.exists():
        return set()
    try:
        meta = pq.ParquetFile(path).metadata
        col = meta.schema.names.index("year")
        ys: set[int] = set()
        for i in range(meta.num_row_groups):
            st = meta.row_group(i).column(col).statistics
            if meta.row_group(i).num_rows == 0:
                continue
            if st is None or not st.has_min_max or int(st.max) - int(st.min) > 1:
                raise ValueError("no usable statistics")
            ys |= {int(st.min), int(st.max)}
        return ys
    except (ValueError, KeyError, TypeError):
        return {int(y) for y in pd.read_parquet(path, columns=["year"])["year"].dropna().unique()}


# compute's indicator_catalogue.csv → the names the report uses
CATALOGUE_COLUMNS = {"code": "code", "name_ru": "name", "system": "system", "kind": "kind", "unit": "unit",
                     "direction": "direction", "formula_ru": "formula", "source": "source", "min_n": "min_n",
                     "computed": "computed", "note_ru": "note_ru"}


def _normalise_catalogue(cat: pd.DataFrame) -> pd.DataFrame:
    out = cat.reindex(columns=list(CATALOGUE_COLUMNS)).rename(columns=CATALOGUE_COLUMNS)
    out["system"] = pd.to_numeric(out["system"], errors="coerce").astype("Int64")
    out["code"] = out["code"].astype(str)
    out["name"] = out["name"].fillna(out["code"]).astype(str)
    out["unit"] = out["unit"].fillna("").astype(str)
    out["direction"] = out["direction"].fillna("").astype(str)
    out["order"] = np.arange(len(out))
    return out.reset_index(drop=True)


def _read(processed: Path, name: str, municipality: str | None = None) -> pd.DataFrame:
    """A table, empty when absent; one municipality's slice of a table compute writes by municipality
    (:func:`msoko.store.read_slice`) when ``municipality`` is given."""
    from msoko.store import read_slice

    path = processed / f"{name}.parquet"
    return read_slice(path, municipality) if path.exists() else pd.DataFrame()


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


def _load_key(processed: Path) -> tuple:
    files = sorted(p for p in processed.iterdir() if p.is_file()) if processed.is_dir() else []
    return (str(processed.resolve()), tuple(_stamp(p) for p in files))


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


def load(processed_dir: str | Path, *, municipality: str | None = None, school_id: str | None = None,
         cache: bool = True) -> ReportData:
    """Read the processed tables for a report. Only ``schools`` is required.

    ``municipality`` (or, without it, the municipality of ``school_id``): read only that municipality's
    slice — the rows of the tables compute writes by municipality that belong to it or to all the loaded
    data (:data:`msoko.store.SLICED_TABLES`), the ВПР works of its schools — instead of the whole folder.
    A report of a school or of a municipality shows the same with either; what it compares with beyond
    the municipality (the region, similar schools elsewhere) compute wrote into its rows or into small
    tables. Neither given: the whole folder (the objectivity report, interactive work).

    The configuration is the one compute used (``config_used.json`` beside the tables,
    :func:`msoko.config.load_used_config`): a report never reads a configuration of its own.
    With ``cache`` (the default) the same ``ReportData`` is returned again while no file of
    ``processed_dir`` changed and the slice is the same; report functions never modify it. Applies the
    charts' theme (:func:`msoko.plots.use_theme`)."""
    from msoko.plots import use_theme

    use_theme()   # the reports draw: their charts in msoko's theme (importing msoko.plots sets nothing)
    processed = _locate_processed(Path(processed_dir))
    if not (processed / "schools.parquet").exists():
        raise MsokoError(
            f"В папке {processed} нет обработанных данных (schools.parquet). "
            "Выполните: msoko ingest и msoko compute (или make report)."
        )
    if not cache:
        schools = _read_schools(processed)
        return _load(processed, _slice_of(schools, municipality, school_id), schools)
    schools = _cached_schools(processed)
    part = _slice_of(schools, municipality, school_id)
    key = (_load_key(processed), part)
    data = _LOAD_CACHE.get(key)
    if data is None:
        _LOAD_CACHE.clear()   # one loaded data per kernel: the previous slice is let go before the next is read
        data = _load(processed, part, schools)
        _LOAD_CACHE[key] = data
    return data


def _read_schools(processed: Path) -> pd.DataFrame:
    schools = pd.read_parquet(processed / "schools.parquet")
    schools["school_id"] = schools["school_id"].astype(str)
    return schools


# The registry last read and each school's municipality, kept while schools.parquet is unchanged: a warm
# kernel's every report calls load(), which needs the registry for the slice only (reading it cost ~8 ms).
_SCHOOLS_CACHE: dict = {}


def _cached_schools(processed: Path) -> pd.DataFrame:
    key = (str(processed.resolve()), _stamp(processed / "schools.parquet"))
    if _SCHOOLS_CACHE.get("key") != key:
        _SCHOOLS_CACHE.clear()
        _SCHOOLS_CACHE.update(key=key, schools=_read_schools(processed))
    return _SCHOOLS_CACHE["schools"]


def _municipality_by_school(schools: pd.DataFrame) -> dict:
    """Each school's first known municipality (once per registry read, for the cached registry)."""
    if _SCHOOLS_CACHE.get("schools") is schools and "muni" in _SCHOOLS_CACHE:
        return _SCHOOLS_CACHE["muni"]
    out: dict = {}
    for sid, m in zip(schools["school_id"].tolist(), schools["municipality"].tolist()):
        if sid not in out and not (m is None or (not isinstance(m, str) and pd.isna(m))):
            out[sid] = m
    if _SCHOOLS_CACHE.get("schools") is schools:
        _SCHOOLS_CACHE["muni"] = out
    return out


def _slice_of(schools: pd.DataFrame, municipality: str | None, school_id: str | None) -> str | None:
    """The municipality whose slice is loaded: ``municipality``, else that of ``school_id``; None (the
    whole folder) when neither is given or the school is not in the registry (its report then says so)."""
    own = _municipality_by_school(schools).get(str(school_id)) if school_id is not None else None
    if municipality is not None:
        if own is not None and str(own) != str(municipality):
            raise MsokoError(f"Организация «{school_id}» — из муниципалитета «{own}», а не из муниципалитета "
                             f"«{municipality}»: укажите её муниципалитет или не указывайте его вовсе.")
        return str(municipality)
    return str(own) if own is not None else None


def _load(processed: Path, municipality: str | None, schools: pd.DataFrame) -> ReportData:
    """The tables of ``processed`` (one municipality's slice of those compute writes by municipality, or all
    of them when ``municipality`` is None) beside the registry ``schools``."""
    cat_path = processed / "indicator_catalogue.csv"
    catalogue = _normalise_catalogue(pd.read_csv(cat_path, encoding="utf-8-sig")) if cat_path.exists() \
        else _normalise_catalogue(pd.DataFrame(columns=["code"]))
    indicators = _read(processed, "indicators", municipality)
    items = indicators.iloc[0:0]
    if not indicators.empty:
        indicators["school_id"] = indicators["school_id"].astype(str)
        # rows with an item (a task, a difficulty level, an olympiad stage, an МКДО area) are details
        # of one indicator: kept apart so that (indicator, grade, subject) names one row
        has_item = indicators["item"].notna()
        items = indicators[has_item].reset_index(drop=True)
        indicators = indicators[~has_item].reset_index(drop=True)
    objectivity = _read(processed, "objectivity", municipality)
    if not objectivity.empty:
        objectivity["school_id"] = objectivity["school_id"].astype("string")
    return ReportData(processed_dir=processed, schools=schools, task_specs=_read(processed, "task_specs"),
                      indicators=indicators, catalogue=catalogue, objectivity=objectivity,
                      indicator_items=items, config=load_used_config(processed), municipality=municipality)


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
    """Target of an indicator for a year as compute's cycle set it (``cycle_targets.parquet``; NaN when none)."""
    def build() -> dict:
        t = data.table("cycle_targets")
        if t.empty:
            return {}
        return {(str(c), int(y)): float(v) for c, y, v in zip(t["indicator"], t["year"], t["target"]) if pd.notna(v)}

    return data.memo(("_targets",), build).get((str(code), int(year)), math.nan)


def suppress_below(data: ReportData) -> int:
    """Groups under this many participants are not shown (``[informativeness] suppress_below`` of the
    configuration compute used)."""
    return int((data.config.get("informativeness") or {}).get("suppress_below", 5))


def limited_below(data: ReportData) -> int:
    """Groups under this many participants are of limited informativeness (``limited_below``)."""
    return int((data.config.get("informativeness") or {}).get("limited_below", 20))


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
    if school_id is not None:
        if str(school_id) not in data.memo(("_school_ids",), lambda: set(data.schools["school_id"])):
            raise MsokoError(f"Школа с логином «{school_id}» не найдена в реестре (schools.parquet).")
        return str(school_id)
    ids = sorted(data.schools.loc[~data.schools.get("is_preschool", pd.Series(False, index=data.schools.index))
                                  .fillna(False).astype(bool), "school_id"])
    if not ids:
        raise MsokoError("В реестре нет ни одной школы.")
    if year is not None:
        v = data.vpr_year(year)
        with_vpr = sorted(set(ids) & set(v["school_id"])) if not v.empty else []
        if with_vpr:
            return with_vpr[0]  # the first school (by login) that wrote ВПР that year
    return ids[0]


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


def names_by_id(data: ReportData) -> pd.Series:
    """``data.schools.set_index("school_id")["name"]`` (to map logins to names), once per load."""
    return data.memo(("_names_by_id",), lambda: data.schools.set_index("school_id")["name"])


def school_row(data: ReportData, school_id: str) -> pd.Series:
    """The school's registry row (memoised: a school report asks for it ~400 times, and ``.loc`` of a
    mixed-dtype row builds a Series each time, about a millisecond). Read it, never modify it."""
    return data.memo(("_school_row", str(school_id)), lambda: _schools_by_id(data).loc[school_id])


def many_municipalities(data: ReportData) -> bool:
    """Whether the data hold more than one municipality (then the region is a comparison group)."""
    return data.memo(("_many_municipalities",), lambda: bool(data.schools["municipality"].nunique() > 1))


def all_loaded_group(data: ReportData) -> str:
    """The name of the comparison group «all loaded schools»: compute's ``label_ru`` of the all-loaded row of
    ``municipalities_summary.parquet`` — «Регион» only when the configuration says the data are the whole
    region, otherwise «Все загруженные муниципалитеты (N)» (msoko.municipalities.all_loaded_label)."""
    def build() -> str:
        s = data.table("municipalities_summary")
        if not s.empty and "level" in s and (s["level"] == "all").any():
            return str(s.loc[s["level"] == "all", "label_ru"].iloc[0])
        from msoko.municipalities import all_loaded_label
        return all_loaded_label(int(data.schools["municipality"].nunique()), data.config or None)
    return data.memo(("_all_loaded_group",), build)


def school_name(data: ReportData, school_id: str) -> str:
    name = school_row(data, school_id).get("name")
    return str(name) if pd.notna(name) else school_id


def similar_schools(data: ReportData, school_id: str) -> list[str]:
    """Schools of the same similar-schools group (:func:`msoko.indicators.similar_group`), itself excluded."""
    def group() -> pd.Series:
        return similar_group(_schools_by_id(data))

    def build() -> dict:
        g = data.memo(("_similar_group",), group)
        return {k: sorted(v) for k, v in g.dropna().groupby(g.dropna()).groups.items()}

    def keys() -> dict:   # each school's group (the first row of a login), once per load
        out: dict = {}
        g = data.memo(("_similar_group",), group)
        for i, k in zip(g.index.tolist(), g.tolist()):
            out.setdefault(i, k)
        return out

    key = data.memo(("_similar_keys",), keys)[school_id]
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return []
    return [i for i in data.memo(("_similar_groups",), build).get(key, []) if i != school_id]


def comparison_groups(data: ReportData, school_id: str) -> dict[str, list[str]]:
    """School ids of each comparison group of a school report (region only when wider than the municipality)."""
    def build() -> dict[str, list[str]]:
        s = data.schools
        muni = school_row(data, school_id)["municipality"]
        groups = {GROUP_SCHOOL: [school_id], GROUP_SIMILAR: similar_schools(data, school_id),
                  GROUP_MUNI: sorted(s.loc[s["municipality"] == muni, "school_id"])}
        if s["municipality"].nunique() > 1:
            groups[all_loaded_group(data)] = sorted(s["school_id"])
        return {g: ids for g, ids in groups.items() if ids}

    cached = data.memo(("_comparison_groups", str(school_id)), build)
    return {g: list(ids) for g, ids in cached.items()}


# ======================================================================================
