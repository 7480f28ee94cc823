"""Indicator catalogue and computation for the eight systems.

The catalogue (``resources/indicator_catalogue.csv``) is the list of indicators the code
computes: one row per indicator with its Russian name, system, formula, numerator and
denominator, unit, direction, source, minimum group size ``min_n`` and breakdown.

How an indicator is computed
----------------------------
Each indicator is first reduced to a *base*: a frame at the finest level
(``year, school_id, grade, subject, item``) holding **additive** statistics:

- ``share``/``flag`` — ``num``, ``den`` (value = num/den × 100 %, Wilson interval);
- ``mean``/``score`` — ``s = Σx``, ``ss = Σx²``, ``n`` (and ``u = Σ maximum`` where the maximum
  varies, as for primary scores): every such indicator is bounded (:data:`MEAN_BOUNDS`), so its
  interval is :func:`msoko.stats.bounded_mean_ci` and never leaves the scale; a school-level
  ``score`` is a mean over one unit, so the municipality gets the mean over schools;
- ``rate`` — ``num``, ``den`` (× 1000, exact Poisson interval); ``ratio`` — no interval;
- ``count`` — ``num`` and the population ``n``.

Because the statistics are additive, the school, the municipality (pooled over students,
never an average of school shares), the region (all data) and the *similar schools*
(same ``org_type`` and ``settlement_type``, the school itself excluded) are all sums of
the same base — one vectorised grouping each (integer keys, ``factorize`` + ``bincount``).
Then come the change from the previous year (with a Newcombe / Welch / Wald interval),
thresholds and flags, and suppression: ``n < min_n`` (5 by default) hides the value,
``n < 20`` marks it as limited. Institution facts (``kind = flag``, ``min_n = 0``: a
programme approved, a principal trained) are never suppressed and carry no interval at
school level; at the municipality they are shares of schools with a Wilson interval.

Internally keys are integer codes (:class:`Codes`): ``grade = -1`` and the word code 0
(``""``) stand for "all"; the output has nulls there, as docs/architecture.md says.
The task table (≈ 15 rows per student work) is reduced with dense integer keys in
:func:`_tasks`, never hashed row by row.

Choices worth knowing (all in the catalogue's formula text too):
- ВПР shares of marks are over works with a mark; participation counts absent works too.
- Task completion = mean over present students of score / max × 100 («X» = 0); a task
  specification applies to a year's export only if it has the same number of tasks.
- ГИА: ОГЭ rows are grade 9, ЕГЭ rows grade 11; ГВЭ is left out (its grade is unknown).
- Olympiad and additional education count unique people, never diplomas or enrolments.
- Similar schools are pooled over all data given (the region when several municipalities
  are loaded), excluding the school itself.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from msoko import ru, stats
from msoko.config import by_year
from msoko.ru import plural
from msoko.seasons import AUTUMN, same_season, seasonal, vpr_season, writing_grade
from msoko.vocabulary import similar_group  # noqa: F401 - one definition for compute and the reports

DIMS = ["grade", "subject", "item"]
KEYS = ["year", "school_id", *DIMS]
ALL_GRADE, ALL_STR = -1, ""

ENGINE_KIND = {"share": "share", "flag": "share", "mean": "mean", "score": "mean",
               "rate": "rate", "ratio": "ratio", "count": "count"}
ADDITIVE = {"share": ["num", "den"], "rate": ["num", "den"], "ratio": ["num", "den"],
            "mean": ["s", "ss", "n"], "count": ["num", "n"]}
SCALE = {"share": 100.0, "rate": 1000.0, "ratio": 100.0, "mean": 1.0, "count": 1.0}

# The scale of every mean/score indicator, ``(low, high)``: its interval stays inside. ``"u"`` as
# the high end: the group's mean maximum (Σu / n, ``u`` a column of the base — primary scores,
# whose maximum depends on the work; the number of assessed risk factors). Not listed: the unit
# «%» means 0–100, «балл (a–b)» means a–b (:func:`mean_bounds`).
MEAN_BOUNDS = {"vpr_mean_score": (0.0, "u"), "oge_mean_mark": (2.0, 5.0), "ege_mean_score": (0.0, 100.0),
               "context_index": (0.0, 100.0), "risk_factors_count": (0.0, "u"), "nokuod_score": (0.0, 100.0),
               "principal_composite": (0.0, 100.0), "principal_results": (0.0, 100.0),
               "principal_objectivity": (0.0, 100.0)}


def mean_bounds(code: str, unit: str) -> tuple[float, float | str] | None:
    """The scale ``(low, high)`` of a mean/score indicator (see :data:`MEAN_BOUNDS`); None if unknown."""
    if code in MEAN_BOUNDS:
        return MEAN_BOUNDS[code]
    if str(unit).strip() == "%":
        return (0.0, 100.0)
    m = re.search(r"\((\d+(?:[.,]\d+)?)\s*[–-]\s*(\d+(?:[.,]\d+)?)\)", str(unit))
    return (float(m.group(1).replace(",", ".")), float(m.group(2).replace(",", "."))) if m else None


OUTPUT_COLUMNS = [
    "year", "level", "school_id", "indicator", "grade", "subject", "item",
    "numerator", "denominator", "value", "ci_low", "ci_high", "n", "suppressed", "limited",
    "municipality", "prev_value", "change", "change_ci_low", "change_ci_high",
    "municipality_value", "vs_municipality", "region_value", "similar_value", "similar_ci_low",
    "similar_ci_high", "similar_n", "similar_schools", "vs_similar", "threshold", "flag",
]

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}

VPR_SETS = [("grade", "subject"), ()]


# --------------------------------------------------------------------------- catalogue

def load_catalogue() -> pd.DataFrame:
    """The indicator catalogue as a frame (one row per indicator)."""
    path = resources.files("msoko.resources").joinpath("indicator_catalogue.csv")
    with path.open("r", encoding="utf-8") as fh:
        cat = pd.read_csv(fh, dtype={"code": str}, keep_default_na=False)
    cat["system"] = cat["system"].astype(int)
    cat["min_n"] = cat["min_n"].astype(int)
    return cat


# --------------------------------------------------------------------------- bases

@dataclass
class Base:
    """Additive statistics of one indicator at the finest level (see module doc)."""

    code: str
    frame: pd.DataFrame
    sets: list[tuple[str, ...]] = field(default_factory=lambda: [()])
    encoded: bool = False   # keys already integer codes (see Codes)
    note: str = ""          # why the frame is empty (Russian), if it is


def _base(code: str, df: pd.DataFrame, cols: dict[str, str | pd.Series], sets=None) -> Base:
    """Build a base frame from ``df`` keys and the given statistic columns."""
    out = pd.DataFrame({k: df[k].to_numpy() if k in ("year", "grade") else df[k]
                        for k in KEYS if k in df.columns}).reset_index(drop=True)
    for name, src in cols.items():
        v = df[src] if isinstance(src, str) else src
        out[name] = np.asarray(v.to_numpy() if isinstance(v, pd.Series) else v, dtype="float64")
    return Base(code, out, sets or [()])


class Codes:
    """Integer codes for the key columns, so that every groupby and merge runs on integers.

    ``school_id`` codes follow ``meta`` (one row per organisation); ``subject`` and
    ``item`` share one growing vocabulary whose code 0 is ``""`` ("all"). Municipality
    rows carry ``school_id = −(municipality code + 1)``.
    """

    def __init__(self, meta: pd.DataFrame):
        self.schools = list(meta["school_id"].astype(str))
        self.school_index = {s: i for i, s in enumerate(self.schools)}
        self.munis = sorted(meta["municipality"].astype(str).unique())
        mi = {m: i for i, m in enumerate(self.munis)}
        self.muni_of = meta["municipality"].astype(str).map(mi).to_numpy(dtype="int32")
        sim = similar_group(meta)
        sim_codes, _ = pd.factorize(sim.fillna("\0"))
        self.sim_of = np.where(sim.notna().to_numpy(), sim_codes, -1).astype("int32")
        self.words = [ALL_STR]
        self.word_index = {ALL_STR: 0}

    def _map(self, values, index: dict, vocab: list, grow: bool) -> np.ndarray:
        # factorised in the column's own dtype (an object copy of a string column cost more than the rest)
        # (a categorical is factorised in order of appearance, as an object column, not of its categories)
        values = values if isinstance(values, pd.Series) else pd.Series(values)
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        m = np.empty(len(uniques) + 1, dtype="int32")
        for j, u in enumerate(uniques):
            u = str(u)
            if u not in index:
                if not grow:
                    m[j] = -1
                    continue
                index[u] = len(vocab)
                vocab.append(u)
            m[j] = index[u]
        m[-1] = 0  # NA -> "all"
        return m[codes]

    def school(self, values) -> np.ndarray:
        n0 = len(self.schools)
        out = self._map(values, self.school_index, self.schools, grow=True)
        if len(self.schools) > n0:  # organisations unknown to meta: default municipality, no peers
            extra = len(self.schools) - n0
            self.muni_of = np.concatenate([self.muni_of, np.zeros(extra, dtype="int32")])
            self.sim_of = np.concatenate([self.sim_of, np.full(extra, -1, dtype="int32")])
        return out

    def word(self, values) -> np.ndarray:
        return self._map(values, self.word_index, self.words, grow=True)

    def encode(self, df: pd.DataFrame) -> pd.DataFrame:
        # the columns gathered first and the frame made once (a frame grown column by column copies more)
        out = {"year": pd.to_numeric(df["year"]).to_numpy().astype("int16"), "school_id": self.school(df["school_id"])}
        g = pd.to_numeric(df["grade"], errors="coerce") if "grade" in df.columns else None
        out["grade"] = np.full(len(df), ALL_GRADE, dtype="int64") if g is None \
            else g.fillna(ALL_GRADE).to_numpy().astype("int16")
        for c in ("subject", "item"):
            out[c] = (np.zeros(len(df), dtype="int64") if c not in df.columns else self.word(df[c])).astype("int32")
        for c in df.columns:
            if c not in KEYS:
                out[c] = df[c]   # with copy=False a lazy (copy-on-write) copy, as a column set one by one
        return pd.DataFrame(out, index=df.index, copy=False)

    def decode(self, df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        lvl = df["level"].to_numpy()
        sc = df["school_id"].to_numpy()
        schools = np.array(self.schools, dtype=object)
        munis = np.array(self.munis, dtype=object)
        words = np.array([None] + self.words[1:], dtype=object)
        df["school_id"] = np.where(lvl == 0, schools[np.clip(sc, 0, None)], munis[np.clip(-sc - 1, 0, None)])
        df["municipality"] = munis[df["muni"].to_numpy()]
        df["level"] = np.where(lvl == 0, "school", "municipality")
        for c in ("subject", "item"):
            df[c] = words[df[c].to_numpy()]
        return df.drop(columns="muni")


# --------------------------------------------------------------------------- engine

def _finalize(get, kind: str, conf: float, size: int, bounds=None) -> dict:
    """value, ci_low, ci_high, n (and sd for means) from additive columns (``get(name)``);
    ``bounds`` — the scale of a mean (:func:`mean_bounds`): a bounded interval instead of t."""
    scale = SCALE[kind]
    out = {}
    nan = np.full(size, np.nan)
    if kind == "share":
        k, n = get("num"), get("den")
        with np.errstate(divide="ignore", invalid="ignore"):
            out["value"] = np.where(n > 0, k / n * scale, np.nan)
        lo, hi = stats.wilson_ci(k, n, conf)
        out["ci_low"], out["ci_high"], out["n"] = lo * scale, hi * scale, n
    elif kind == "mean":
        if bounds is None:
            m, lo, hi = stats.mean_ci(get("s"), get("ss"), get("n"), conf)
        else:
            top = bounds[1]
            if top == "u":
                with np.errstate(divide="ignore", invalid="ignore"):
                    top = np.where(get("n") > 0, get("u") / get("n"), np.nan)
            m, lo, hi = stats.bounded_mean_ci(get("s"), get("ss"), get("n"), bounds[0], top, conf)
        out["value"], out["ci_low"], out["ci_high"], out["n"] = m, lo, hi, get("n")
        out["sd"] = stats.mean_sd(get("s"), get("ss"), get("n"))[1]
    elif kind in ("rate", "ratio"):
        k, n = get("num"), get("den")
        with np.errstate(divide="ignore", invalid="ignore"):
            out["value"] = np.where(n > 0, k / n * scale, np.nan)
            if kind == "rate":
                lo, hi = stats.poisson_ci(k, conf)
                out["ci_low"], out["ci_high"] = lo / n * scale, hi / n * scale
            else:
                out["ci_low"], out["ci_high"] = nan, nan.copy()
        out["n"] = n
    elif kind == "count":
        out["value"], out["n"] = get("num"), get("n")
        out["ci_low"], out["ci_high"] = nan, nan.copy()
    return out


def _compose(parts) -> np.ndarray:
    """One int64 key from small non-negative int arrays ``[(array, size), ...]``."""
    key = np.zeros(len(parts[0][0]), dtype="int64")
    for arr, size in parts:
        key = key * int(size) + arr.astype("int64")
    return key


def _sums(key: np.ndarray, cols: dict[str, np.ndarray]):
    """Group rows by ``key``: ``(gid, first_row, {col: sums})``."""
    gid, uniq = pd.factorize(key)
    first = np.empty(len(uniq), dtype="int64")
    first[gid[::-1]] = np.arange(len(gid) - 1, -1, -1)
    return gid, first, {c: np.bincount(gid, weights=v, minlength=len(uniq)) for c, v in cols.items()}


def _rollup(frame: pd.DataFrame, sets, kind: str, codes: Codes, conf: float, bounds=None) -> pd.DataFrame:
    """School, municipality, region and similar-school values of one encoded base frame.

    Pure numpy on integer keys: one factorize + ``bincount`` per level.
    """
    cols = ADDITIVE[kind] + (["u"] if kind == "mean" and "u" in frame.columns else [])
    if bounds is not None and bounds[1] == "u" and "u" not in cols:
        raise ValueError("a mean bounded by its maximum needs the column «u» (Σ maximum) in its base")
    year = frame["year"].to_numpy().astype("int64")
    y0 = int(year.min()) if len(year) else 0
    yc = year - y0
    ny = int(yc.max()) + 1 if len(yc) else 1
    school = frame["school_id"].to_numpy().astype("int64")
    nsch = len(codes.schools)
    nw = len(codes.words)
    raw = {"grade": frame["grade"].to_numpy().astype("int64") + 1,      # −1 ("all") → 0
           "subject": frame["subject"].to_numpy().astype("int64"),
           "item": frame["item"].to_numpy().astype("int64")}
    size = {"grade": 13, "subject": nw, "item": nw}
    vals = {c: frame[c].to_numpy(dtype="float64") for c in cols}
    parts = []
    for gset in sets:
        dims = {d: (raw[d] if d in gset else np.zeros(len(year), dtype="int64")) for d in DIMS}
        dkey = _compose([(dims[d], size[d]) for d in DIMS])
        dsize = 13 * nw * nw
        gid, first, own = _sums(_compose([(yc, ny), (school, nsch), (dkey, dsize)]), vals)
        s_year, s_school, s_dkey = yc[first], school[first], dkey[first]
        n = len(first)
        muni = codes.muni_of[s_school].astype("int64")
        sim = codes.sim_of[s_school].astype("int64")
        mg, mfirst, msum = _sums(_compose([(s_year, ny), (muni, len(codes.munis)), (s_dkey, dsize)]), own)
        rg, rfirst, rsum = _sums(_compose([(s_year, ny), (s_dkey, dsize)]), own)
        simv = sim >= 0
        sg, _, ssum = _sums(_compose([(s_year, ny), (np.where(simv, sim, 0), int(sim.max()) + 2 if n else 1),
                                      (s_dkey, dsize)]), {**own, "_one": np.ones(n)})
        scount = ssum.pop("_one")[sg] - 1
        nosim = ~simv | (scount < 1)

        res = _finalize(lambda c: own[c], kind, conf, n, bounds)
        mres = _finalize(lambda c: msum[c], kind, conf, len(mfirst), bounds)
        rres = _finalize(lambda c: rsum[c], kind, conf, len(rfirst), bounds)
        simres = _finalize(lambda c: ssum[c][sg] - own[c], kind, conf, n, bounds)
        keys = {"year": (s_year + y0).astype("int16"), "school_id": s_school.astype("int64"),
                "grade": (dims["grade"][first] - 1).astype("int16"),
                "subject": dims["subject"][first].astype("int32"), "item": dims["item"][first].astype("int32")}
        sch = pd.DataFrame({**keys, "muni": muni.astype("int32"), **own, **res,
                            "municipality_value": mres["value"][mg], "region_value": rres["value"][rg],
                            "similar_value": np.where(nosim, np.nan, simres["value"]),
                            "similar_ci_low": np.where(nosim, np.nan, simres["ci_low"]),
                            "similar_ci_high": np.where(nosim, np.nan, simres["ci_high"]),
                            "similar_n": np.where(nosim, np.nan, simres["n"]),
                            "similar_schools": np.where(nosim, np.nan, scount), "level": np.int8(0)})
        m_rows = first[mfirst]            # a school row of each municipality group, for its keys
        mkeys = {k: v[mfirst] for k, v in keys.items()}
        mkeys["school_id"] = -(muni[mfirst] + 1)
        mun = pd.DataFrame({**mkeys, "muni": muni[mfirst].astype("int32"), **msum, **mres,
                            "region_value": rres["value"][rg[mfirst]], "level": np.int8(1)})
        del m_rows
        parts += [sch, mun]
    return pd.concat(parts, ignore_index=True, sort=False)


def _add_change(df: pd.DataFrame, kind: str, conf: float) -> pd.DataFrame:
    """prev_value, change and its interval (same level, school and breakdown, year − 1)."""
    cols = [c for c in ADDITIVE[kind] if c in df.columns]
    year = df["year"].to_numpy().astype("int64")
    y0 = int(year.min()) if len(year) else 0
    ident = pd.factorize(_compose([(df["level"].to_numpy().astype("int64"), 2),
                                   (df["school_id"].to_numpy().astype("int64") + 10_000, 10_000_000),
                                   (df["grade"].to_numpy().astype("int64") + 1, 13),
                                   (df["subject"].to_numpy().astype("int64"), 1_000_000),
                                   (df["item"].to_numpy().astype("int64"), 1_000_000)]))[0].astype("int64")
    span = int(year.max()) - y0 + 2 if len(year) else 2
    here = ident * span + (year - y0 + 1)
    idx = pd.Index(here).get_indexer(ident * span + (year - y0))
    has = idx >= 0
    take = np.where(has, idx, 0)

    def prev(c):
        v = df[c].to_numpy(dtype="float64")[take]
        return np.where(has, v, np.nan)

    value = df["value"].to_numpy(dtype="float64")
    pv = prev("value")
    df["prev_value"] = pv
    df["prev_n"] = prev("n")
    df["change"] = value - pv
    lo = hi = np.full(len(df), np.nan)
    if kind == "share" and "num" in cols:
        _, lo, hi = stats.newcombe_diff_ci(df["num"].to_numpy(float), df["den"].to_numpy(float),
                                           prev("num"), prev("den"), conf)
        lo, hi = lo * 100, hi * 100
    elif kind == "mean" and "sd" in df.columns:
        _, lo, hi = stats.welch_diff_ci(value, df["sd"].to_numpy(float), df["n"].to_numpy(float), pv,
                                        prev("sd"), prev("n"), conf)
    elif kind == "rate":
        with np.errstate(divide="ignore", invalid="ignore"):
            se1 = np.sqrt(df["num"].to_numpy(float)) / df["den"].to_numpy(float) * 1000
            se0 = np.sqrt(prev("num")) / prev("den") * 1000
        _, lo, hi = stats.wald_diff_ci(value, se1, pv, se0, conf)
    df["change_ci_low"], df["change_ci_high"] = np.asarray(lo, float), np.asarray(hi, float)
    return df


def _season_changes(df: pd.DataFrame, source, config: dict) -> pd.DataFrame:
    """No change «к прошлому году» across ВПР seasons: for an indicator built from ВПР (catalogue
    ``source``), the change from an autumn year to a spring one (or back) is not a change of the same
    thing (:func:`msoko.seasons.same_season`) — prev_value, change and its interval become NaN."""
    if not seasonal(source) or df.empty:
        return df
    years = df["year"].to_numpy().astype("int64")
    off = {int(y): not same_season(int(y) - 1, int(y), config) for y in np.unique(years)}
    bad = np.array([off[int(y)] for y in years], dtype=bool) if any(off.values()) else None
    if bad is not None and bad.any():
        for c in ("prev_value", "prev_n", "change", "change_ci_low", "change_ci_high"):
            if c in df.columns:
                df[c] = np.where(bad, np.nan, df[c].to_numpy(dtype="float64"))
    return df


def _vs(value_lo, value_hi, ref) -> np.ndarray:
    """+1 when the interval lies above ``ref``, −1 below, 0 overlapping, NaN unknown."""
    lo, hi, r = (np.asarray(x, dtype="float64") for x in (value_lo, value_hi, ref))
    out = np.where(lo > r, 1.0, np.where(hi < r, -1.0, 0.0))
    return np.where(np.isnan(lo) | np.isnan(hi) | np.isnan(r), np.nan, out)


INTERNAL_COLUMNS = [c for c in OUTPUT_COLUMNS if c != "municipality"] + ["muni", "prev_n"]


def _finish(df: pd.DataFrame, kind: str, spec: pd.Series, info: dict) -> pd.DataFrame:
    """Numerator/denominator names, comparisons, suppression and the output column set."""
    n_rows = len(df)

    def col(c):
        return df[c].to_numpy(dtype="float64") if c in df.columns else np.full(n_rows, np.nan)

    out = {c: df[c].to_numpy() for c in ("year", "level", "school_id", "grade", "subject", "item", "muni")}
    out.update({c: col(c) for c in INTERNAL_COLUMNS if c not in out and c not in ("flag", "suppressed", "limited")})
    if kind == "mean":
        out["numerator"], out["denominator"] = col("s"), col("n")
    elif kind == "count":
        out["numerator"], out["denominator"] = col("num"), np.full(n_rows, np.nan)
    else:
        out["numerator"], out["denominator"] = col("num"), col("den")
    level = out["level"]
    if spec["kind"] == "flag":  # a school's yes/no is a fact, not a sample: no interval
        for c in ("ci_low", "ci_high", "change_ci_low", "change_ci_high"):
            out[c] = np.where(level == 0, np.nan, out[c])
    min_n = int(spec["min_n"])
    # the municipality's privacy threshold (config [informativeness] suppress_below) hides small groups;
    # the catalogue's min_n (5) is the least any indicator needs; facts (min_n = 0) are never suppressed
    sup_below = max(min_n, int(info.get("suppress_below", 5))) if min_n > 0 else 0
    suppressed, limited = stats.informativeness(out["n"], sup_below, int(info.get("limited_below", 20)))
    if min_n == 0:
        limited = (level == 1) & limited
    out["suppressed"], out["limited"] = suppressed, limited
    out["vs_municipality"] = _vs(out["ci_low"], out["ci_high"], out["municipality_value"])
    out["vs_similar"] = _vs(out["ci_low"], out["ci_high"], out["similar_value"])
    if sup_below:
        hide = suppressed
        for c in ("numerator", "value", "ci_low", "ci_high", "change", "change_ci_low", "change_ci_high",
                  "vs_municipality", "vs_similar"):
            out[c] = np.where(hide, np.nan, out[c])
        small_sim = out["similar_n"] < sup_below
        for c in ("similar_value", "similar_ci_low", "similar_ci_high", "vs_similar"):
            out[c] = np.where(small_sim, np.nan, out[c])
        small_prev = out["prev_n"] < sup_below
        for c in ("prev_value", "change", "change_ci_low", "change_ci_high"):
            out[c] = np.where(small_prev, np.nan, out[c])
    out["flag"] = df["flag"].array if "flag" in df.columns else pd.array([pd.NA] * n_rows, dtype="boolean")
    return pd.DataFrame({c: out[c] for c in INTERNAL_COLUMNS})


# --------------------------------------------------------------------------- inputs

def _get(tables: dict, name: str) -> pd.DataFrame | None:
    df = tables.get(name)
    return None if df is None or len(df) == 0 else df


class NotComputable(Exception):
    """An indicator cannot be computed: the message (Russian) says why."""


def _need(tables: dict, *names: str) -> list[pd.DataFrame]:
    missing = [n for n in names if _get(tables, n) is None]
    if missing:
        raise NotComputable("нет данных: " + ", ".join(f"таблица «{m}»" for m in missing))
    return [tables[n] for n in names]


def school_meta(tables: dict, config: dict) -> pd.DataFrame:
    """``school_id, name, municipality, org_type, settlement_type, students_total, is_preschool``
    for every organisation met in any table (unknown ones get the default municipality)."""
    schools = _get(tables, "schools")
    cols = ["school_id", "name", "municipality", "org_type", "settlement_type",
            "students_total", "is_preschool"]
    if schools is not None:
        meta = schools.reindex(columns=cols).drop_duplicates("school_id").copy()
    else:
        meta = pd.DataFrame(columns=cols)
    meta["school_id"] = meta["school_id"].astype(str)
    ids = set(meta["school_id"])
    extra = set()
    for name, df in tables.items():
        if df is None or name == "schools":
            continue
        for c in ("school_id", "dou_id"):
            if c in df.columns:
                # the distinct values first, then as text (the same set): a categorical column of a region's
                # task table would otherwise become 28 million strings here
                extra |= set(pd.Series(df[c].dropna().unique()).astype(str))
    extra -= ids
    if extra:
        meta = pd.concat([meta, pd.DataFrame({"school_id": sorted(extra)})], ignore_index=True)
    default = (config.get("municipality") or {}).get("name") or ""
    munis = meta["municipality"].dropna().unique()
    if not default:
        default = munis[0] if len(munis) == 1 else "Муниципалитет (не указан)"
    meta["municipality"] = meta["municipality"].fillna(default).astype(str)
    meta.loc[meta["municipality"].str.strip() == "", "municipality"] = default
    for c in ("org_type", "settlement_type"):
        meta[c] = meta[c].astype(object).where(meta[c].notna(), None)
    meta["is_preschool"] = meta["is_preschool"].fillna(False).astype(bool)
    return meta.reset_index(drop=True)


def _contingent(tables: dict) -> pd.DataFrame:
    (c,) = _need(tables, "contingent")
    c = c[["year", "school_id", "grade", "students"] + (["students_ovz"] if "students_ovz" in c else [])]
    return c.assign(school_id=c["school_id"].astype(str))


# --------------------------------------------------------------------------- producers

def _vpr(tables, config, ctx) -> list[Base]:
    (v,) = _need(tables, "vpr")
    present = ~v["absent"].astype(bool).to_numpy()
    mark = pd.to_numeric(v["mark"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    jm = pd.to_numeric(v["journal_mark"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    ps = pd.to_numeric(v["primary_score"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    mx = pd.to_numeric(v["max_score"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    d = pd.DataFrame({"year": v["year"].to_numpy(), "school_id": v["school_id"].to_numpy(),
                      "grade": v["grade"].to_numpy(), "subject": v["subject"].to_numpy()})
    d["rows"] = np.ones(len(v), dtype="int32")
    d["present"] = present.astype("int32")
    marked = present & ~np.isnan(mark)
    d["marked"] = marked.astype("int32")
    for k in (2, 3, 4, 5):
        d[f"m{k}"] = (marked & (mark == k)).astype("int32")
    sc = present & ~np.isnan(ps)
    d["s"], d["ns"] = np.where(sc, ps, 0.0), sc.astype("int32")
    # Σ maximum, for the scale of the mean score (a missing maximum, or a score above it: the score)
    d["u"] = np.where(sc, np.fmax(np.where(mx > 0, mx, np.nan), ps), 0.0)
    d["ss"] = d["s"] ** 2
    pc = sc & (mx > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(pc, ps / mx * 100, 0.0)
    d["sp"], d["ssp"], d["np"] = pct, pct ** 2, pc.astype("int32")
    both = marked & np.isin(jm, [2, 3, 4, 5])
    d["both"] = both.astype("int32")
    d["lower"] = (both & (mark < jm)).astype("int32")
    d["eq"] = (both & (mark == jm)).astype("int32")
    d["higher"] = (both & (mark > jm)).astype("int32")
    a = d.groupby(["year", "school_id", "grade", "subject"], sort=False, observed=True).sum().reset_index()
    a["school_id"] = a["school_id"].astype(str)
    a["subject"] = a["subject"].astype(str)
    ctx["vpr_agg"] = a
    S = VPR_SETS
    return [
        _base("vpr_participation", a, {"num": "present", "den": "rows"}, S),
        _base("vpr_fail_share", a, {"num": "m2", "den": "marked"}, S),
        _base("vpr_mark3_share", a, {"num": "m3", "den": "marked"}, S),
        _base("vpr_mark4_share", a, {"num": "m4", "den": "marked"}, S),
        _base("vpr_mark5_share", a, {"num": "m5", "den": "marked"}, S),
        _base("vpr_success", a, {"num": a["m3"] + a["m4"] + a["m5"], "den": "marked"}, S),
        _base("vpr_quality", a, {"num": a["m4"] + a["m5"], "den": "marked"}, S),
        _base("vpr_mean_score", a, {"s": "s", "ss": "ss", "n": "ns", "u": "u"}, S),
        _base("vpr_mean_pct", a, {"s": "sp", "ss": "ssp", "n": "np"}, S),
        _base("vpr_journal_lower", a, {"num": "lower", "den": "both"}, S),
        _base("vpr_journal_confirm", a, {"num": "eq", "den": "both"}, S),
        _base("vpr_journal_higher", a, {"num": "higher", "den": "both"}, S),
    ]


def _task_specs_lookup(tables) -> pd.DataFrame:
    specs = _get(tables, "task_specs")
    if specs is None:
        return pd.DataFrame(columns=["grade", "subject", "task", "level", "spec_max"])
    s = specs[["grade", "subject", "task", "level", "max_score"]].rename(columns={"max_score": "spec_max"})
    s = s.assign(grade=pd.to_numeric(s["grade"]).astype("int16"), subject=s["subject"].astype(str),
                 task=s["task"].astype(str))
    return s.drop_duplicates(["grade", "subject", "task"])


def _factor(values) -> tuple[np.ndarray, np.ndarray]:
    """``(codes ≥ 0, uniques)``; a missing value gets its own code (uniques entry ``""``).

    Arrow-backed strings are dictionary-encoded by pyarrow directly (3× faster than
    ``pd.factorize`` on the 20-million-row task table)."""
    codes = uniques = None
    try:
        chunked = values.array.__arrow_array__()
        enc = chunked.dictionary_encode()
        dic = enc.chunk(0).dictionary if enc.num_chunks else None
        if dic is not None and all(ch.dictionary.equals(dic) for ch in enc.chunks):
            codes = np.concatenate([ch.indices.fill_null(-1).to_numpy(zero_copy_only=False)
                                    for ch in enc.chunks]).astype("int64")
            uniques = np.asarray(dic.to_pylist(), dtype=object)
    except (AttributeError, TypeError, ImportError):
        pass
    if codes is None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        codes, uniques = codes.astype("int64"), np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(uniques), codes)
        uniques = np.append(uniques, "")
    return codes, uniques


def _dense(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ids for non-negative int keys below ``size``: ``(gid, keys_present)`` (no hashing)."""
    present = np.flatnonzero(np.bincount(key, minlength=size))
    remap = np.full(size, -1, dtype="int64")
    remap[present] = np.arange(len(present))
    return remap[key], present


def _runs(work: np.ndarray, student) -> np.ndarray:
    """Run id of consecutive rows with the same (work cell, student) — one run per student work
    when the long table keeps a work's tasks together (as the ingest writes it); otherwise
    ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(work)
    if isinstance(student.dtype, pd.CategoricalDtype):
        # codes compared; a missing code (−1) starts a run of its own, as a missing string does below
        c = student.cat.codes.to_numpy()
        diff_s = (c[1:] != c[:-1]) | (c[1:] < 0) | (c[:-1] < 0)
    else:
        try:
            arr = student.array.__arrow_array__()
        except (AttributeError, TypeError):
            arr = pa.chunked_array([pa.array(student.astype(object).to_numpy(), type=pa.string())])
        diff_s = pc.fill_null(pc.not_equal(arr.slice(1), arr.slice(0, n - 1)), True).to_numpy(zero_copy_only=False)
    change = np.empty(n, dtype=bool)
    change[0] = True
    change[1:] = (work[1:] != work[:-1]) | diff_s
    starts = np.flatnonzero(change)
    codes, _ = _factor(student.iloc[starts])
    pair = work[starts] * (int(codes.max()) + 2) + codes
    if len(pd.unique(pair)) != len(starts):
        return None
    return np.cumsum(change) - 1


def _spec_quality(ctx, config, cell, cnt, obs, csize, shape, y0, b_u, k_u, specs) -> np.ndarray:
    """spec_quality table into ``ctx``; returns a bool per task cell: withheld (no task verdict)."""
    from msoko import spec_quality
    from msoko.marks import load_scales

    ny, ng, nb, nk = shape
    n_cell = np.bincount(cell, weights=cnt.astype("float64"), minlength=csize)
    seen = np.flatnonzero(np.bincount(cell, minlength=csize) > 0)
    tk, rest = seen % nk, seen // nk
    bc, rest = rest % nb, rest // nb
    gc, yc = rest % ng, rest // ng
    cells = pd.DataFrame({"year": yc + y0, "grade": gc, "subject": b_u[bc], "task": k_u[tk],
                          "observed_max": obs[seen], "n": n_cell[seen].astype("int64")})
    # the work's maximum: as loaded with the works (ingest: the export's, or the specification's checked
    # against the scores), else the built-in mark scale's
    parts = []
    v = _get(ctx.get("tables") or {}, "vpr")
    if v is not None and "max_score" in v.columns:
        parts.append(v.groupby(["year", "grade", "subject"], observed=True)["max_score"].max().dropna().reset_index())
    scales = load_scales()
    if "max_score" in scales:
        parts.append(scales[["year", "grade", "subject", "max_score"]].dropna())
    scale_max = pd.concat([p.astype({"year": "int64", "grade": "int64", "subject": str}) for p in parts]
                          ).drop_duplicates(["year", "grade", "subject"], keep="first") if parts else None
    table = spec_quality.assess(cells, specs, scale_max, config.get("spec_quality"))
    ctx["spec_quality"] = table
    wh = np.zeros(csize, dtype=bool)
    w = spec_quality.withheld(table)
    if len(w):
        key = pd.MultiIndex.from_arrays([cells["year"], cells["grade"], cells["subject"], cells["task"].astype(str)])
        hit = key.isin(pd.MultiIndex.from_frame(w.astype({"task": str})))
        wh[seen[hit]] = True
    return wh


def _tasks(tables, config, ctx) -> list[Base]:
    """Task completion (per task) and level completion (per student work, then the mean) —
    numpy only (dense integer keys, no hashing of the 15-million-row table)."""
    (t,) = _need(tables, "vpr_tasks")
    cx: Codes = ctx["codes"]
    specs = _task_specs_lookup(tables)
    score = pd.to_numeric(t["score"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
    # keys as small ints (int32 where stored, int64 where combined): the table is the largest one
    year = pd.to_numeric(t["year"]).to_numpy()
    y0 = int(year.min())
    yc = (year - y0).astype("int32")
    del year
    gc = pd.to_numeric(t["grade"]).to_numpy().astype("int32")
    sc, s_u = _factor(t["school_id"])
    bc, b_u = _factor(t["subject"])
    kc, k_u = _factor(t["task"])
    sc, bc, kc = sc.astype("int32"), bc.astype("int32"), kc.astype("int32")
    ny, ng, ns, nb, nk = int(yc.max()) + 1, int(gc.max()) + 1, len(s_u), len(b_u), len(k_u)
    # work cell (year, grade, subject, school) and task within it
    w, wkeys = _dense(((yc.astype("int64") * ng + gc) * nb + bc) * ns + sc, ny * ng * nb * ns)
    tid, tkeys = _dense(w * nk + kc, len(wkeys) * nk)
    x = np.bincount(tid, weights=score)
    x2 = np.bincount(tid, weights=score * score)
    cnt = np.bincount(tid)
    mx = np.zeros(len(tkeys))
    np.maximum.at(mx, tid, score)
    tw, tk = tkeys // nk, tkeys % nk
    wk = wkeys[tw]
    t_sc, rest = wk % ns, wk // ns
    t_bc, rest = rest % nb, rest // nb
    t_gc, t_yc = rest % ng, rest // ng
    # maximum of a task: the specification, else the best score seen in the year (per task cell)
    cell = ((t_yc * ng + t_gc) * nb + t_bc) * nk + tk
    csize = ny * ng * nb * nk
    obs = np.zeros(csize)
    np.maximum.at(obs, cell, mx)
    tri = pd.DataFrame({"grade": t_gc, "subject": b_u[t_bc], "task": k_u[tk]}).drop_duplicates()
    tri = tri.merge(specs.assign(grade=specs["grade"].astype("int64"), subject=specs["subject"].astype(object),
                                 task=specs["task"].astype(object)), on=["grade", "subject", "task"], how="left")
    lv_u = np.array(["Б", "П", "В"], dtype=object)
    tri_key = (tri["grade"].to_numpy() * nb + pd.Index(b_u).get_indexer(tri["subject"])) * nk \
        + pd.Index(k_u).get_indexer(tri["task"])
    spec_max = np.full(ng * nb * nk, np.nan)
    spec_lvl = np.full(ng * nb * nk, -1, dtype="int64")
    spec_max[tri_key] = tri["spec_max"].to_numpy(dtype=float, na_value=np.nan)
    spec_lvl[tri_key] = tri["level"].map({v: i for i, v in enumerate(lv_u)}).fillna(-1).to_numpy().astype("int64")
    # a specification applies to a year's export only when it has the same number of tasks
    # (the 2020 exports differ from the 2021 specifications): otherwise no levels and the
    # observed maxima are used
    n_export = (np.bincount(cell, minlength=csize) > 0).reshape(ny, ng, nb, nk).sum(axis=3)
    n_spec = np.zeros((ng, nb), dtype="int64")
    sp = specs[specs["grade"].astype("int64") < ng]
    sb = pd.Index(b_u).get_indexer(sp["subject"].astype(object))
    np.add.at(n_spec, (sp["grade"].astype("int64").to_numpy()[sb >= 0], sb[sb >= 0]), 1)
    valid = (n_spec[None, :, :] > 0) & (n_export == n_spec[None, :, :])
    skey = (t_gc * nb + t_bc) * nk + tk
    t_valid = valid[t_yc, t_gc, t_bc]
    t_spec = np.where(t_valid, spec_max[skey], np.nan)
    # a score above the specified maximum means the specification is wrong: take the observed one
    tmax = np.where(t_spec > 0, np.fmax(t_spec, obs[cell]), obs[cell])
    t_lvl = np.where(t_valid, spec_lvl[skey], -1)
    # specifications checked against the scores: no task verdict from a misfitting one (msoko.spec_quality)
    wh = _spec_quality(ctx, config, cell, cnt, obs, csize, (ny, ng, nb, nk), y0, b_u, k_u, specs)
    t_wh = wh[cell]
    ctx["task_levels"] = pd.DataFrame({
        "year": (t_yc + y0).astype("int16"), "grade": t_gc.astype("int16"), "subject": cx.word(b_u)[t_bc],
        "item": cx.word(k_u)[tk], "task_level": np.where(t_lvl >= 0, lv_u[np.clip(t_lvl, 0, 2)], None)}
    ).drop_duplicates(["year", "grade", "subject", "item"])
    ok = (tmax > 0) & ~t_wh
    with np.errstate(divide="ignore", invalid="ignore"):
        s_pct = np.where(ok, x / tmax * 100, np.nan)
        ss_pct = np.where(ok, x2 / tmax ** 2 * 10000, np.nan)
    smap, bmap, kmap = cx.school(s_u), cx.word(b_u), cx.word(k_u)
    task_frame = pd.DataFrame({"year": (t_yc + y0)[ok].astype("int16"), "school_id": smap[t_sc][ok],
                               "grade": t_gc[ok].astype("int16"), "subject": bmap[t_bc][ok],
                               "item": kmap[tk][ok], "s": s_pct[ok], "ss": ss_pct[ok],
                               "n": cnt[ok].astype("float64")})
    bases = [Base("vpr_task_completion", task_frame, [("grade", "subject", "item")], encoded=True)]

    # level completion: per student work Σ score on the level's tasks / Σ their maxima, then mean
    del tid
    row_cell = ((yc.astype("int64") * ng + gc) * nb + bc) * nk + kc
    row_skey = (gc.astype("int64") * nb + bc) * nk + kc
    row_valid = valid[yc, gc, bc]
    rl = np.where(row_valid & ~wh[row_cell], spec_lvl[row_skey], -1).astype("int8")   # level 0..2 or −1
    if (rl >= 0).any():
        row_spec = np.where(row_valid, spec_max[row_skey], np.nan)
        row_obs = obs[row_cell]
        del row_cell, row_valid
        row_max = np.where(row_spec > 0, np.fmax(row_spec, row_obs), row_obs)
        del row_spec, row_obs, row_skey   # a region's table has tens of millions of rows: 8 bytes each
        run = _runs(w, t["student_code"])
        order = None
        if run is None:  # tasks of a work are not kept together: sort them together first
            st_codes, _ = _factor(t["student_code"])
            order = np.argsort(w * (int(st_codes.max()) + 2) + st_codes, kind="stable")
            ws = w[order]
            pair = ws * (int(st_codes.max()) + 2) + st_codes[order]
            change = np.empty(len(pair), dtype=bool)
            change[0] = True
            change[1:] = pair[1:] != pair[:-1]
            run = np.empty(len(pair), dtype="int64")
            run[order] = np.cumsum(change) - 1
        keep = rl >= 0
        nruns = int(run.max()) + 1
        rk = run[keep] * 3 + rl[keep]
        sx = np.bincount(rk, weights=score[keep], minlength=nruns * 3)
        sm = np.bincount(rk, weights=row_max[keep], minlength=nruns * 3)
        has = sm > 0
        p = np.where(has, sx / np.where(has, sm, 1) * 100, 0.0)
        run_w = np.zeros(nruns, dtype="int64")
        run_w[run] = w
        lvl_of = np.tile(np.arange(3), nruns)
        key2 = run_w[np.repeat(np.arange(nruns), 3)] * 3 + lvl_of
        ls = np.bincount(key2, weights=np.where(has, p, 0.0), minlength=len(wkeys) * 3)
        lss = np.bincount(key2, weights=np.where(has, p * p, 0.0), minlength=len(wkeys) * 3)
        ln = np.bincount(key2, weights=has.astype(float), minlength=len(wkeys) * 3)
        g = np.flatnonzero(ln > 0)
        gw, gl = g // 3, g % 3
        wk2 = wkeys[gw]
        l_sc, rest = wk2 % ns, wk2 // ns
        l_bc, rest = rest % nb, rest // nb
        l_gc, l_yc = rest % ng, rest // ng
        lvl = pd.DataFrame({"year": (l_yc + y0).astype("int16"), "school_id": smap[l_sc],
                            "grade": l_gc.astype("int16"), "subject": bmap[l_bc],
                            "item": cx.word(lv_u)[gl], "s": ls[g], "ss": lss[g], "n": ln[g]})
        bases.append(Base("vpr_level_completion", lvl, [("grade", "subject", "item")], encoded=True))
    else:
        bases.append(Base("vpr_level_completion", pd.DataFrame(), note=(
            "уровни сложности заданий неизвестны: нет спецификации (task_specs) с тем же числом заданий, "
            "что в выгрузке")))
    return bases


GIA_GRADE = {"ОГЭ": 9, "ЕГЭ": 11}


def _gia(tables, config, ctx) -> list[Base]:
    (g,) = _need(tables, "gia")
    g = g[g["exam"].isin(list(GIA_GRADE))].copy()
    if g.empty:
        raise NotComputable("нет результатов ОГЭ/ЕГЭ в таблице «gia»")
    g["grade"] = g["exam"].map(GIA_GRADE)
    ege = (g["exam"] == "ЕГЭ").to_numpy()
    ts = pd.to_numeric(g["test_score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ps = pd.to_numeric(g["primary_score"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    thr = pd.to_numeric(g["min_threshold"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    mark = pd.to_numeric(g["mark"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    used = np.where(ege & ~np.isnan(ts), ts, ps)
    ok = ~np.isnan(used) & ~np.isnan(thr)
    g["res"] = ok.astype(int)
    g["below"] = (ok & (used < thr)).astype(int)
    oge_m = (~ege) & ~np.isnan(mark)
    g["oge_marked"] = oge_m.astype(int)
    g["oge45"] = (oge_m & (mark >= 4)).astype(int)
    g["oge_s"] = np.where(oge_m, mark, 0.0)
    g["oge_ss"] = g["oge_s"] ** 2
    e = ege & ~np.isnan(ts)
    g["ege_n"] = e.astype(int)
    g["ege_s"] = np.where(e, ts, 0.0)
    g["ege_ss"] = g["ege_s"] ** 2
    g["ege80"] = (e & (ts >= 80)).astype(int)
    g["ege100"] = (e & (ts >= 100)).astype(int)
    g["school_id"] = g["school_id"].astype(str)
    cols = ["res", "below", "oge_marked", "oge45", "oge_s", "oge_ss", "ege_n", "ege_s", "ege_ss", "ege80", "ege100"]
    a = g.groupby(["year", "school_id", "grade", "subject"], observed=True)[cols].sum().reset_index()
    S = [("grade", "subject"), ("grade",)]
    oge, eg = a[a["grade"] == 9], a[a["grade"] == 11]
    return [
        _base("gia_below_min", a, {"num": "below", "den": "res"}, S + [()]),
        _base("oge_mark45_share", oge, {"num": "oge45", "den": "oge_marked"}, S),
        _base("oge_mean_mark", oge, {"s": "oge_s", "ss": "oge_ss", "n": "oge_marked"}, [("grade", "subject")]),
        _base("ege_mean_score", eg, {"s": "ege_s", "ss": "ege_ss", "n": "ege_n"}, [("grade", "subject")]),
        _base("ege_80plus", eg, {"num": "ege80", "den": "ege_n"}, S),
        _base("ege_100", eg, {"num": "ege100", "n": "ege_n"}, S),
    ]


def _leavers(tables, config, ctx) -> list[Base]:
    (lv,) = _need(tables, "leavers")
    lv = lv.copy()
    lv["placed"] = lv["to_spo"] + lv["to_vuz"]
    S = [("grade",)]
    out = [_base("gia_no_attestat", lv, {"num": "no_attestat", "den": "graduates"}, [("grade",), ()])]
    for code, col in [("leavers_to_grade10", "to_grade10"), ("leavers_to_spo", "to_spo"),
                      ("leavers_to_vuz", "to_vuz"), ("leavers_to_work", "to_work"),
                      ("leavers_not_placed", "not_placed")]:
        sub = lv
        if code == "leavers_to_grade10":
            sub = lv[lv["grade"] == 9]
        elif code == "leavers_to_vuz":
            sub = lv[lv["grade"] == 11]
        out.append(_base(code, sub, {"num": col, "den": "graduates"}, S))
    out.append(_base("leavers_profile_match", lv, {"num": "profile_match", "den": "placed"}, [("grade",), ()]))
    return out


def _olympiad(tables, config, ctx) -> list[Base]:
    o, = _need(tables, "olympiad")
    o = o.assign(school_id=o["school_id"].astype(str))
    out = []
    if _get(tables, "contingent") is not None:
        out += _olympiad_coverage(o, _contingent(tables))
    else:
        out += [Base(c, pd.DataFrame(), note="нет данных: таблица «contingent» (знаменатель охвата)")
                for c in ("olymp_school_participation", "olymp_municipal_share")]
    # per stage: unique people; awardees = winners or prize-winners (people, not diplomas)
    o = o.assign(award=o["status"].isin(["победитель", "призёр", "призер"]).astype(int))
    per = o.groupby(["year", "school_id", "stage", "student_code"], observed=True)["award"].max().reset_index()
    st = per.groupby(["year", "school_id", "stage"], observed=True).agg(part=("award", "size"),
                                                                       aw=("award", "sum")).reset_index()
    st["item"] = st["stage"].astype(str)
    S = [("item",)]
    out += [_base("olymp_stage_participants", st, {"num": "part", "n": "part"}, S),
            _base("olymp_awardees", st, {"num": "aw", "n": "part"}, S),
            _base("olymp_awardee_share", st, {"num": "aw", "den": "part"}, S)]
    return out


def _olympiad_coverage(o: pd.DataFrame, cont: pd.DataFrame) -> list[Base]:
    # school stage, grades 4–11, unique people (a person counted once in their grade)
    ss = o[(o["stage"] == "школьный") & o["grade"].between(4, 11)]
    ppl = ss.drop_duplicates(["year", "school_id", "student_code"])
    num = ppl.groupby(["year", "school_id", "grade"]).size().rename("num")
    den = cont[cont["grade"].between(4, 11)].groupby(["year", "school_id", "grade"])["students"].sum().rename("den")
    a = pd.concat([num, den], axis=1).fillna(0).reset_index()
    a = a[a["den"] > 0]
    out = [_base("olymp_school_participation", a, {"num": "num", "den": "den"}, [("grade",), ()])]
    ms = o[(o["stage"] == "муниципальный") & o["grade"].between(7, 11)]
    num = ms.drop_duplicates(["year", "school_id", "student_code"]).groupby(["year", "school_id"]).size().rename("num")
    den = cont[cont["grade"].between(7, 11)].groupby(["year", "school_id"])["students"].sum().rename("den")
    a = pd.concat([num, den], axis=1).fillna(0).reset_index()
    out.append(_base("olymp_municipal_share", a[a["den"] > 0], {"num": "num", "den": "den"}))
    return out


TECH_DIRECTIONS = ("техническая", "естественнонаучная")


def _addedu(tables, config, ctx) -> list[Base]:
    ad, = _need(tables, "addedu")
    cont = _contingent(tables)
    ad = ad.assign(school_id=ad["school_id"].astype(str))
    den = cont.groupby(["year", "school_id"])["students"].sum().rename("den")
    num = ad.drop_duplicates(["year", "child_code"]).groupby(["year", "school_id"]).size().rename("num")
    tech = ad[ad["direction"].isin(TECH_DIRECTIONS)].drop_duplicates(["year", "child_code"])
    numt = tech.groupby(["year", "school_id"]).size().rename("numt")
    a = pd.concat([num, numt, den], axis=1).fillna(0).reset_index()
    a = a[a["den"] > 0]
    return [_base("addedu_coverage", a, {"num": "num", "den": "den"}),
            _base("addedu_tech_coverage", a, {"num": "numt", "den": "den"})]


def _career(tables, config, ctx) -> list[Base]:
    c, = _need(tables, "career")
    S = [("grade",), ()]
    return [_base("profmin_basic_share", c, {"num": "profmin_basic", "den": "students"}, S),
            _base("profmin_main_share", c, {"num": "profmin_main", "den": "students"}, S),
            _base("profmin_advanced_share", c, {"num": "profmin_advanced", "den": "students"}, S),
            _base("profile_classes_share", c, {"num": "in_profile_classes", "den": "students"}, S)]


def _flag_base(code, df, flag) -> Base:
    f = np.asarray(flag, dtype=bool).astype(int)
    return _base(code, df, {"num": f, "den": np.ones(len(df), dtype=int)})


def _score_base(code, df, value, upper=None) -> Base:
    """A school-level score; ``upper`` — each school's maximum where the scale varies (``u``)."""
    v = pd.to_numeric(pd.Series(np.asarray(value, dtype=float), index=df.index), errors="coerce")
    keep = v.notna().to_numpy()
    d = df[keep]
    v = v[keep].to_numpy()
    cols = {"s": v, "ss": v * v, "n": np.ones(len(d), dtype=int)}
    if upper is not None:
        cols["u"] = np.asarray(upper, dtype=float)[keep]
    return _base(code, d, cols)


def _principals(tables, config, ctx) -> list[Base]:
    p, = _need(tables, "principals")
    years = int((config.get("periods") or {}).get("mgmt_training_years", 3))
    t = pd.to_numeric(p["mgmt_training_year"], errors="coerce")
    trained = (p["year"] - t < years) & (p["year"] - t >= 0)
    out = [_flag_base("principal_mgmt_training", p, trained.fillna(False)),
           _flag_base("principal_reserve", p, pd.to_numeric(p["reserve_size"], errors="coerce").fillna(0) >= 1)]
    out.append(_score_base("nokuod_score", p, p["nokuod_score"]))
    return out


def _teachers(tables, config, ctx) -> list[Base]:
    t, = _need(tables, "teachers")
    per = config.get("periods") or {}
    kpk_years = int(per.get("kpk_years", 3))
    young, senior = int(per.get("young_teacher_age", 35)), int(per.get("senior_teacher_age", 60))
    t = t.copy()
    age = t["year"] - pd.to_numeric(t["birth_year"], errors="coerce")
    kpk = pd.to_datetime(t["kpk_date"], errors="coerce", dayfirst=True)
    since = pd.to_datetime((t["year"] - kpk_years).astype(str) + "-09-01")
    end = pd.to_datetime(t["year"].astype(str) + "-08-31")
    b = lambda s: s.fillna(False).astype(bool).astype(int)  # noqa: E731
    t["one"] = 1
    t["top"] = b(t["category"].isin(["высшая", "первая"]))
    t["highest"] = b(t["category"] == "высшая")
    t["kpk"] = b((kpk >= since) & (kpk <= end))
    t["diag"] = b(t["deficit_diagnostics"])
    t["iom"] = b(t["deficit_diagnostics"].fillna(False).astype(bool) & t["individual_route"].fillna(False).astype(bool))
    t["young"] = b(age < young)
    t["senior"] = b(age >= senior)
    t["contest"] = b(t["prof_contest"])
    t["school_id"] = t["school_id"].astype(str)
    a = t.groupby(["year", "school_id"])[["one", "top", "highest", "kpk", "diag", "iom", "young",
                                          "senior", "contest"]].sum().reset_index()
    return [_base("teachers_top_category", a, {"num": "top", "den": "one"}),
            _base("teachers_highest_category", a, {"num": "highest", "den": "one"}),
            _base("teachers_kpk3", a, {"num": "kpk", "den": "one"}),
            _base("teachers_diagnostics", a, {"num": "diag", "den": "one"}),
            _base("teachers_iom_after_diag", a[a["diag"] > 0], {"num": "iom", "den": "diag"}),
            _base("teachers_young", a, {"num": "young", "den": "one"}),
            _base("teachers_60plus", a, {"num": "senior", "den": "one"}),
            _base("teachers_contests", a, {"num": "contest", "den": "one"})]


def _teachers_questionnaire(tables, config, ctx) -> list[Base]:
    """System 6 from the ФИС ОКО questionnaire (its own definitions: teachers on ≥ 0,5 ставки, «не старше 30»,
    «пенсионного возраста»), only for organisations and years with no row in the teachers template."""
    from msoko import questionnaire

    q, = _need(tables, "context_questionnaire")
    c = questionnaire.teacher_counts(q)
    t = _get(tables, "teachers")
    if t is not None:
        have = set(zip(t["year"].astype(int), t["school_id"].astype(str)))
        c = c[[(y, s) not in have for y, s in zip(c["year"], c["school_id"])]]
    c = c[c["teachers"] > 0]
    if not len(c):
        raise NotComputable("у всех организаций с анкетой есть шаблон «Педагогические работники»")
    out = []
    for code, col in (("q_teachers_highest", "highest"), ("q_teachers_young30", "young30"),
                      ("q_teachers_pension", "pension")):
        # a count above the teachers is an answer error: that school is left out, not capped
        ok = c[c[col].notna() & (c[col] <= c["teachers"])]
        out.append(_base(code, ok, {"num": col, "den": "teachers"}))
    k = c[c["kpk"].notna()]
    out.append(_base("q_kpk_per_100_teachers", k, {"num": "kpk", "den": "teachers"}))
    return out


def _upbringing(tables, config, ctx) -> list[Base]:
    u, = _need(tables, "upbringing")
    u = u.copy()
    u["ever"] = u["pdn_kdn_registered"] + u["removed_improved"]
    return [_base("upbr_clubs", u, {"num": "in_clubs", "den": "students"}),
            _base("upbr_volunteers", u, {"num": "volunteers", "den": "students"}),
            _base("upbr_movements", u, {"num": "youth_movements", "den": "students"}),
            _base("upbr_offences_rate", u, {"num": "offences", "den": "students"}),
            _base("upbr_pdn_kdn_rate", u, {"num": "pdn_kdn_registered", "den": "students"}),
            _base("upbr_removed_improved", u[u["ever"] > 0], {"num": "removed_improved", "den": "ever"}),
            _flag_base("upbr_programme_approved", u, u["programme_approved"].fillna(False).astype(bool))]


def _mkdo(tables, config, ctx) -> list[Base]:
    m, = _need(tables, "mkdo")
    m = m.rename(columns={"dou_id": "school_id"})
    area = _score_base("mkdo_area_score", m.assign(item=m["area"].astype(str)), m["score"])
    area.sets = [("item",)]
    tot = m.groupby(["year", "school_id"], observed=True)["score"].mean().reset_index()
    return [area, _score_base("mkdo_total_score", tot, tot["score"])]


def _preschool(tables, config, ctx) -> list[Base]:
    p, = _need(tables, "preschool")
    p = p.rename(columns={"dou_id": "school_id"}).copy()
    p["w37"] = p["enrolled_3_7"] + p["queue_3_7"]
    p["w03"] = p["enrolled_0_3"] + p["queue_0_3"]
    p["kids"] = p["enrolled_3_7"] + p["enrolled_0_3"]
    return [_base("preschool_availability_3_7", p[p["w37"] > 0], {"num": "enrolled_3_7", "den": "w37"}),
            _base("preschool_availability_0_3", p[p["w03"] > 0], {"num": "enrolled_0_3", "den": "w03"}),
            _base("preschool_occupancy", p[p["places"] > 0], {"num": "kids", "den": "places"}),
            _base("preschool_staff_higher_ed", p[p["staff"] > 0], {"num": "staff_higher_ed", "den": "staff"}),
            _base("preschool_staff_category", p[p["staff"] > 0], {"num": "staff_category", "den": "staff"})]


def _surveys(tables, config, ctx) -> list[Base]:
    meta = ctx["meta"]
    s, = _need(tables, "surveys")
    s = s[s["respondents_group"] == "родители"].assign(school_id=lambda d: d["school_id"].astype(str))
    dou_ids = set(meta.loc[meta["is_preschool"], "school_id"])
    for name, col in (("preschool", "dou_id"), ("mkdo", "dou_id")):
        df = _get(tables, name)
        if df is not None:
            dou_ids |= set(df[col].astype(str))
    is_dou = s["school_id"].isin(dou_ids)
    out = []
    if (~is_dou).any():
        out.append(_base("school_parent_satisfaction", s[~is_dou], {"num": "satisfied", "den": "respondents"}))
    if is_dou.any():
        out.append(_base("dou_parent_satisfaction", s[is_dou], {"num": "satisfied", "den": "respondents"}))
    return out


# --------------------------------------------------------------------------- system 2

def _students_by_school(tables, meta) -> pd.DataFrame:
    """``year, school_id, students, ovz`` from the contingent (fallback: upbringing)."""
    c = _get(tables, "contingent")
    if c is not None:
        c = c.assign(school_id=c["school_id"].astype(str))
        ovz = c["students_ovz"] if "students_ovz" in c.columns else np.nan
        c = c.assign(ovz=pd.to_numeric(ovz, errors="coerce"))
        return c.groupby(["year", "school_id"]).agg(students=("students", "sum"),
                                                    ovz=("ovz", lambda x: x.sum(min_count=1))).reset_index()
    u = _get(tables, "upbringing")
    if u is not None:
        return u.assign(school_id=u["school_id"].astype(str), ovz=np.nan)[["year", "school_id", "students", "ovz"]]
    return pd.DataFrame(columns=["year", "school_id", "students", "ovz"])


CONTEXT_TEMPLATE_METRICS = ("equipment_index", "teacher_vacancies", "students_risk_failure", "families_at_risk",
                            "parent_involvement", "learning_motivation", "school_climate", "teacher_competence")
QUESTIONNAIRE_METRICS = ("equipment_index", "parent_involvement")   # what the ФИС ОКО questionnaire measures


def _context_base(tables: dict) -> pd.DataFrame:
    """The context template (``context``) joined with what the ФИС ОКО questionnaire measures.

    One row per ``year, school_id`` found in either; for a metric both give, the template (the
    school's own figure) wins and the questionnaire fills the gaps. ``<metric>_source`` says where
    each value came from: ``context`` (template) or ``context_questionnaire``.
    """
    from msoko import questionnaire

    ctx, q = _get(tables, "context"), _get(tables, "context_questionnaire")
    if ctx is None and q is None:
        raise NotComputable("нет данных: таблица «context» (шаблон «Контекст и факторы риска ОО») "
                            "и контекстная анкета ФИС ОКО")
    if ctx is not None:
        m = ctx.assign(school_id=ctx["school_id"].astype(str)).copy()
    else:
        m = pd.DataFrame({"year": pd.Series([], dtype="int64"), "school_id": pd.Series([], dtype=object)})
    for c in CONTEXT_TEMPLATE_METRICS + ("source_row",):
        if c not in m.columns:
            m[c] = np.nan
    if "source_file" not in m.columns:
        m["source_file"] = None
    for c in QUESTIONNAIRE_METRICS:
        m[f"{c}_source"] = np.where(pd.to_numeric(m[c], errors="coerce").notna(), "context", None)
    if q is None:
        return m
    qm = questionnaire.context_metrics(q)
    m = m.merge(qm.rename(columns={c: f"_q_{c}" for c in QUESTIONNAIRE_METRICS}),
                on=["year", "school_id"], how="outer")
    for c in QUESTIONNAIRE_METRICS:
        own = pd.to_numeric(m[c], errors="coerce")
        fill = own.isna() & m[f"_q_{c}"].notna()
        m[c] = own.where(~fill, m[f"_q_{c}"])
        m[f"{c}_source"] = np.where(fill, questionnaire.SOURCE, m[f"{c}_source"])
        m = m.drop(columns=f"_q_{c}")
    return m


def context_metrics(tables: dict, meta: pd.DataFrame) -> pd.DataFrame:
    """One row per ``year, school_id`` of the context table and/or the ФИС ОКО questionnaire
    with the «500+» metrics (see :func:`_context_base` for which source wins)."""
    m = _context_base(tables)
    st = _students_by_school(tables, meta)
    m = m.merge(st, on=["year", "school_id"], how="left")
    t = _get(tables, "teachers")
    if t is not None:
        tn = t.assign(school_id=t["school_id"].astype(str)).groupby(["year", "school_id"]).size().rename("teachers_n")
        m = m.join(tn, on=["year", "school_id"])
    else:
        m["teachers_n"] = np.nan
    m = m.merge(meta[["school_id", "settlement_type", "students_total"]], on="school_id", how="left")
    # without contingent the merged counts are an all-missing object column: numbers, so arithmetic works
    contingent = pd.to_numeric(m["students"], errors="coerce")
    q_students = pd.to_numeric(m["q_students_total"], errors="coerce") if "q_students_total" in m else np.nan
    m["students"] = contingent.fillna(q_students).fillna(pd.to_numeric(m["students_total"], errors="coerce"))
    m["students_source"] = np.where(contingent.notna(), "contingent",
                                    np.where(pd.notna(q_students), "context_questionnaire",
                                             np.where(m["students"].notna(), "schools", None)))
    m = m.drop(columns=["q_students_total"], errors="ignore")
    m["ovz"] = pd.to_numeric(m["ovz"], errors="coerce")
    with np.errstate(divide="ignore", invalid="ignore"):
        stu = m["students"].astype(float).where(m["students"] > 0)
        m["vacancy_den"] = m["teachers_n"] + m["teacher_vacancies"]
        m["vacancy_rate"] = m["teacher_vacancies"] / m["vacancy_den"].where(m["vacancy_den"] > 0) * 100
        m["risk_failure_share"] = m["students_risk_failure"] / stu * 100
        m["ovz_share"] = m["ovz"] / stu * 100
        m["families_at_risk_share"] = m["families_at_risk"] / stu * 100
    return m


def risk_profile(metrics: pd.DataFrame, config: dict) -> pd.DataFrame:
    """Long table ``year, school_id, factor, name, metric, value, op, threshold, flagged``."""
    rf = config.get("risk_factors") or {}
    rows = []
    for key, spec in rf.items():
        if not isinstance(spec, dict) or "metric" not in spec:
            continue
        if spec["metric"] not in metrics.columns:
            continue
        for year, part in metrics.groupby("year"):
            s = by_year(spec, int(year))
            thr = float(by_year(s.get("threshold"), int(year)))
            val = pd.to_numeric(part[s["metric"]], errors="coerce").astype(float)
            flagged = pd.Series(OPS[s.get("op", "<")](val, thr), index=part.index).astype("boolean")
            flagged[val.isna()] = pd.NA
            rows.append(pd.DataFrame({"year": part["year"], "school_id": part["school_id"], "factor": key,
                                      "name": s.get("name", key), "metric": s["metric"], "value": val,
                                      "op": s.get("op", "<"), "threshold": thr, "flagged": flagged}))
    if not rows:
        return pd.DataFrame(columns=["year", "school_id", "factor", "name", "metric", "value", "op",
                                     "threshold", "flagged"])
    return pd.concat(rows, ignore_index=True)


CONTEXT_COUNTS = ("teacher_vacancies", "students_risk_failure", "families_at_risk", "students", "ovz", "teachers_n",
                  "students_total", "vacancy_den", "context_index_components")


def _context_output(m: pd.DataFrame) -> pd.DataFrame:
    """context_metrics.parquet: counts as nullable integers, the rest of the metrics as numbers
    (on partial data a merged column may be object or float with gaps)."""
    out = m.copy()
    for c in out.columns:
        if c in ("year", "school_id", "settlement_type", "source_file", "source_row") or c.endswith("_source"):
            continue
        v = pd.to_numeric(out[c], errors="coerce")
        if c in CONTEXT_COUNTS:
            f = v.astype("Float64")
            if bool((f.dropna() == f.dropna().round()).all()):
                v = f.round().astype("Int64")
        out[c] = v
    return out


def context_index(metrics: pd.DataFrame, config: dict) -> pd.Series:
    """Context index 0–100 (higher = less favourable), see ``[context_index]`` in the config."""
    ci = config.get("context_index") or {}
    w = ci.get("weights") or {}
    comps = _context_components(metrics, config)
    num = pd.Series(0.0, index=metrics.index)
    den = pd.Series(0.0, index=metrics.index)
    for k, v in comps.items():
        wk = float(w.get(k, 1.0))
        ok = v.notna()
        num += np.where(ok, v.fillna(0) * wk, 0.0)
        den += np.where(ok, wk, 0.0)
    return (num / den.where(den > 0) * 100).rename("context_index")


def _context_components(metrics: pd.DataFrame, config: dict) -> dict[str, pd.Series]:
    """The index's components, each 0–1 (missing where the data do not give it)."""
    ci = config.get("context_index") or {}
    sscore = ci.get("settlement_score") or {}
    students = pd.to_numeric(metrics["students"], errors="coerce")
    size = np.where(students < ci.get("small_school_students", 100), 1.0,
                    np.where(students < ci.get("medium_school_students", 300), 0.5, 0.0))
    size = np.where(students.isna(), np.nan, size)
    comps = {
        "settlement": metrics["settlement_type"].map(sscore).astype(float),
        "school_size": pd.Series(size, index=metrics.index),
        "ovz_share": (metrics["ovz_share"] / ci.get("ovz_share_cap", 20.0)).clip(0, 1),
        "families_at_risk_share": (metrics["families_at_risk_share"] / ci.get("families_at_risk_share_cap", 15.0)).clip(0, 1),
        "vacancy_rate": (metrics["vacancy_rate"] / ci.get("vacancy_rate_cap", 15.0)).clip(0, 1),
    }
    return comps


def _system2(tables, config, ctx) -> list[Base]:
    meta = ctx["meta"]
    m = context_metrics(tables, meta)
    prof = risk_profile(m, config)
    ctx["risk_profile"] = prof
    out = []
    for key, metric, kind in [("low_equipment", "equipment_index", "score"),
                              ("low_competence", "teacher_competence", "score"),
                              ("low_parent_involvement", "parent_involvement", "score"),
                              ("low_motivation", "learning_motivation", "score"),
                              ("weak_climate", "school_climate", "score")]:
        out.append(_score_base(f"risk_{key}", m, m[metric]))
    v = m[m["vacancy_den"] > 0]
    out.append(_base("risk_teacher_shortage", v, {"num": "teacher_vacancies", "den": "vacancy_den"}))
    s = m[m["students"] > 0]
    # a school the data say nothing about (e.g. the questionnaire only) is left out, not counted with a gap
    sf = s[pd.to_numeric(s["students_risk_failure"], errors="coerce").notna()]
    out.append(_base("risk_failure_risk", sf, {"num": "students_risk_failure", "den": "students"}))
    so = s[s["ovz"].notna()]
    out.append(_base("risk_high_ovz", so, {"num": "ovz", "den": "students"}))
    mv = m[pd.to_numeric(m["teacher_vacancies"], errors="coerce").notna()]
    out.append(_base("teacher_vacancies", mv, {"num": "teacher_vacancies", "n": np.ones(len(mv), dtype=int)}))
    if len(prof):
        cnt = prof.groupby(["year", "school_id"]).agg(k=("flagged", lambda x: x.fillna(False).astype(bool).sum()),
                                                      assessed=("flagged", "count")).reset_index()
        cnt = cnt[cnt["assessed"] > 0]
        out.append(_score_base("risk_factors_count", cnt, cnt["k"], upper=cnt["assessed"]))
        kmin = int((config.get("risk_factors") or {}).get("high_profile_min_factors", 3))
        out.append(_flag_base("risk_profile_high", cnt, cnt["k"] >= kmin))
    idx = context_index(m, config)
    # how many of the index's components the data gave (the questionnaire alone gives 2 of 5: settlement, size);
    # an index from fewer than [context_index] min_components is not computed: settlement and size alone
    # would call every small rural school «неблагоприятные условия» (47 of 89 on the real sample)
    known = sum(v.notna().astype(int) for v in _context_components(m, config).values())
    need = int((config.get("context_index") or {}).get("min_components", 3))
    m = m.assign(context_index=idx.where(known >= need), context_index_components=known)
    ctx["context"] = _context_output(m)
    out.append(_score_base("context_index", m, m["context_index"]))
    mm = m[m["context_index"].notna()]
    thr = mm["year"].map(lambda y: float(by_year((config.get("context_index") or {}).get("shnsu_threshold", 50.0), int(y))))
    out.append(_flag_base("shnsu_flag", mm, mm["context_index"] >= thr))
    return out


def shnor_procedures(tables: dict, ctx: dict, config: dict | None = None) -> pd.DataFrame:
    """``year, school_id, procedure, kind, season, grades, writing_grades, n, below`` — the units the
    ШНОР rule judges: a ВПР subject pooled over its grades («ВПР, Математика»), an ОГЭ subject.

    ``season`` (:func:`msoko.seasons.vpr_season`) and the grades that wrote the work (the programme grade
    + 1 in the autumn) are kept so that the two-year rule never pairs an autumn year with a spring year."""
    parts = []
    a = ctx.get("vpr_agg")
    if a is not None and len(a):
        a = a.assign(year=a["year"].astype(int), school_id=a["school_id"].astype(str),
                     subject=a["subject"].astype(str), grade=pd.to_numeric(a["grade"], errors="coerce"))
        g = a.groupby(["year", "school_id", "subject"], sort=True).agg(
            n=("marked", "sum"), below=("m2", "sum"),
            grades=("grade", lambda x: sorted({int(v) for v in x.dropna()}))).reset_index()
        season = g["year"].map(lambda y: vpr_season(y, config))
        writing = [[writing_grade(v, y, config) for v in gr] for gr, y in zip(g["grades"], g["year"])]
        parts.append(pd.DataFrame({
            "year": g["year"], "school_id": g["school_id"], "procedure": "ВПР, " + g["subject"],
            "kind": "vpr", "season": season,
            "grades": [", ".join(map(str, gr)) for gr in g["grades"]],
            "writing_grades": [", ".join(map(str, w)) for w in writing],
            "n": g["n"].astype(int), "below": g["below"].astype(int)}))
    g = _get(tables, "gia")
    if g is not None:
        o = g[g["exam"] == "ОГЭ"]
        if len(o):
            mark = pd.to_numeric(o["mark"], errors="coerce")
            ps = pd.to_numeric(o["primary_score"], errors="coerce")
            thr = pd.to_numeric(o["min_threshold"], errors="coerce")
            below = (mark == 2) | (mark.isna() & (ps < thr))
            o = o.assign(below=below.astype(int), one=1, school_id=o["school_id"].astype(str))
            go = o.groupby(["year", "school_id", "subject"]).agg(n=("one", "sum"), below=("below", "sum")).reset_index()
            parts.append(pd.DataFrame({"year": go["year"].astype(int), "school_id": go["school_id"],
                                       "procedure": "ОГЭ, " + go["subject"].astype(str), "kind": "oge",
                                       "season": None, "grades": "9", "writing_grades": "9",
                                       "n": go["n"].astype(int), "below": go["below"].astype(int)}))
    if not parts:
        raise NotComputable("нет данных: таблицы «vpr» и «gia»")
    return pd.concat(parts, ignore_index=True)


SHNOR_DEFAULTS = {"low_share": 30.0, "min_procedures": 2, "consecutive_years": 2, "min_participants": 20,
                  "require_interval": True, "confidence": 0.95, "procedures": ["vpr", "oge"]}


def shnor_rule(config: dict, year: int) -> dict:
    """The ШНОР rule of ``year``: ``[shnor]`` of the configuration (by year) over :data:`SHNOR_DEFAULTS`."""
    return {**SHNOR_DEFAULTS, **(by_year(config.get("shnor") or {}, int(year)) or {})}


def _pct(x) -> str:
    """One decimal, decimal comma (compute's own formatter, :func:`msoko.cycle.fmt`)."""
    from msoko.cycle import fmt
    return fmt(x)


def _count_ru(n: int, one: str, few: str, many: str) -> str:
    return f"{int(n)} {plural(int(n), one, few, many)}"


def _unit_text(r) -> str:
    """«ВПР, Математика: 45,0 % [33,2–57,4 %], n = 40» (a 2020 autumn work says so)."""
    autumn = " (осень)" if r["kind"] == "vpr" and r["season"] == AUTUMN else ""
    return (f"{r['procedure']}{autumn}: {_pct(r['share'])} % [{_pct(r['ci_low'])}–{_pct(r['ci_high'])} %], "
            f"n = {int(r['n'])}")


def shnor_list(procs: pd.DataFrame, config: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the configured ШНОР rule (by year, :func:`shnor_rule`) to the pooled units.

    A unit counts from ``min_participants``; it is *low* when the share below «3» reaches ``low_share``
    — with ``require_interval`` only when the lower bound of its Wilson interval does (so that one pupil
    more or less does not decide). A school is ШНОР when ``min_procedures`` units are low this year
    (``by_count``) or the same unit is low ``consecutive_years`` years in a row, every year of the same
    ВПР season (``repeated``). ``margin`` = lower bound (or share) − ``low_share``, p.p.; ``strength`` =
    the margin by which the school's strongest criterion is met (≥ 0 ⇔ ШНОР; negative: how far it is).

    Returns ``(list, units)``: one row per year and school with at least one unit (``assessed`` when a
    unit counts), and the units with ``share, ci_low, ci_high, valid, low, margin``."""
    procs = procs.copy()
    if "season" not in procs:
        procs["season"] = None
    rows, marked = [], []
    for year in sorted(procs["year"].unique()):
        year = int(year)
        rule = shnor_rule(config, year)
        low_share = float(rule["low_share"])
        min_n = int(rule["min_participants"])
        cy = int(rule["consecutive_years"])
        mp = int(rule["min_procedures"])
        p = procs[procs["kind"].isin(rule["procedures"]) & (procs["year"] <= year)
                  & (procs["year"] > year - max(cy, 1))].copy()
        n = p["n"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            p["share"] = np.where(n > 0, p["below"].to_numpy(float) / n * 100, np.nan)
        lo, hi = stats.wilson_ci(p["below"], p["n"], float(rule["confidence"]))
        p["ci_low"], p["ci_high"] = lo * 100, hi * 100
        p["valid"] = p["n"] >= min_n
        basis = p["ci_low"] if bool(rule["require_interval"]) else p["share"]
        p["margin"] = (basis - low_share).where(p["valid"])
        p["low"] = p["valid"] & (p["margin"] >= -1e-9)
        cur = p[p["year"] == year]
        marked.append(cur)
        # the same unit in each of the cy years up to this one, ВПР of the same season only
        season_now = vpr_season(year, config)
        same = (p["kind"] != "vpr") | p["year"].map(lambda y: same_season(int(y), year, config))
        past = p[same].set_index(["school_id", "procedure", "year"])
        hist = past["margin"]
        units = cur[["school_id", "procedure", "kind"]].drop_duplicates()
        rep_margin = pd.Series(np.nan, index=pd.MultiIndex.from_frame(units[["school_id", "procedure"]]))
        if cy >= 2:
            ms = [hist.reindex(pd.MultiIndex.from_arrays([units["school_id"], units["procedure"],
                                                          np.full(len(units), year - d)])).to_numpy()
                  for d in range(cy)]
            rep_margin[:] = np.min(np.vstack(ms), axis=0)  # NaN where a year is missing or not comparable
        rows.append(_shnor_schools(cur, rep_margin, past, year, mp, cy, low_share, rule, season_now))
    lst = pd.concat(rows, ignore_index=True)
    units = pd.concat(marked, ignore_index=True)
    units["low"] = units["low"].astype(bool)
    units["valid"] = units["valid"].astype(bool)
    return lst, units


SHNOR_LIST_COLUMNS = ["year", "school_id", "assessed", "procedures", "low_procedures", "by_count", "repeated",
                      "criteria_met", "shnor", "low_list", "low_detail", "count_margin", "repeat_margin", "strength",
                      "certainty", "reason"]


def _shnor_schools(cur: pd.DataFrame, rep_margin: pd.Series, past: pd.DataFrame, year: int, mp: int, cy: int,
                   low_share: float, rule: dict, season: str) -> pd.DataFrame:
    out = []
    thr = ru.short(low_share)
    by_interval = bool(rule["require_interval"])
    # each school's units once (a lookup per school in the whole index grew with the square of the schools)
    rep_of = {sid: part.droplevel(0) for sid, part in rep_margin.groupby(level=0, sort=False)}
    # the school's rows are taken over and over below: plain object columns take them without Arrow's
    # per-call cost (the same Python strings come out)
    cur = cur.astype({c: object for c, t in cur.dtypes.items() if isinstance(t, pd.StringDtype)})
    for sid, u in cur.groupby("school_id", sort=True):
        v = u[u["valid"]].sort_values("margin", ascending=False)
        low = v[v["low"]]
        count_margin = float(v["margin"].iloc[mp - 1]) if len(v) >= mp else np.nan
        rm = rep_of[sid] if sid in rep_of else pd.Series(dtype=float)
        rm = rm.dropna()
        rep = rm[rm >= -1e-9]
        repeat_margin = float(rm.max()) if len(rm) else np.nan
        by_count = len(low) >= mp
        repeated = len(rep) > 0
        strength = np.nanmax([count_margin, repeat_margin]) if not (np.isnan(count_margin) and np.isnan(repeat_margin)) \
            else np.nan
        assessed = len(v) > 0
        shnor = bool(assessed and (by_count or repeated))
        rep_names = sorted(rep.index)
        low_detail = "; ".join(_unit_text(r) for r in low.to_dict("records")) if len(low) else ""
        level = ru.short(float(rule['confidence']) * 100)
        rule_text = f"доля результатов ниже «3» не менее {thr} %" + (
            f" (нижняя граница {level} % интервала)" if by_interval else "")
        if not assessed:
            reason = (f"Не оценивалась по правилу ШНОР: нет процедур не менее чем с {int(rule['min_participants'])} "
                      "участниками.")
        elif shnor:
            parts = []
            if by_count:
                parts.append(f"{rule_text} — в {_count_ru(len(low), 'процедуре', 'процедурах', 'процедурах')} "
                             f"из {len(v)} ({low_detail})")
            if repeated:
                kind = "весенние" if season != AUTUMN else "осенние"
                for name in rep_names:
                    years = [year - d for d in range(cy - 1, -1, -1)]
                    each = "; ".join(f"{y}: " + _unit_text({**past.loc[(sid, name, y)].to_dict(), "procedure": name,
                                                             "season": None}).split(": ", 1)[1] for y in years)
                    vpr_only = f"; ВПР — только {kind} работы" if name.startswith("ВПР") else ""
                    parts.append(f"{name} — {rule_text} {cy} {plural(cy, 'год', 'года', 'лет')} подряд "
                                 f"({each}{vpr_only})")
            reason = ("ШНОР по региональным критериям: " + "; ".join(parts)
                      + f". Запас над порогом — {_pct(strength)} п.п.")
        else:
            reason = (f"Не ШНОР: {rule_text} — в {_count_ru(len(low), 'процедуре', 'процедурах', 'процедурах')} "
                      f"из {len(v)} (нужно не менее {mp})" + (f": {low_detail}" if len(low) else "") + ".")
        out.append({"year": year, "school_id": str(sid), "assessed": assessed, "procedures": int(len(v)),
                    "low_procedures": int(len(low)), "by_count": bool(by_count),
                    "repeated": "; ".join(rep_names) if repeated else None,
                    "criteria_met": int(by_count) + int(repeated), "shnor": shnor,
                    "low_list": "; ".join(low["procedure"]) if len(low) else None,
                    "low_detail": low_detail or None, "count_margin": count_margin,
                    "repeat_margin": repeat_margin, "strength": strength,
                    "certainty": ("высокая" if by_interval else "достаточная") if shnor else None,
                    "reason": reason})
    return pd.DataFrame(out, columns=SHNOR_LIST_COLUMNS)


def _shnor(tables, config, ctx) -> list[Base]:
    procs = shnor_procedures(tables, ctx, config)
    lst, marked = shnor_list(procs, config)
    ctx["shnor"] = lst
    ctx["shnor_procedures"] = marked
    a = lst[lst["assessed"]]
    return [_flag_base("shnor_flag", a, a["shnor"]),
            _base("shnor_low_procedures", a, {"num": "low_procedures", "den": "procedures"})]


# --------------------------------------------------------------------------- system 5 (composites)

def _school_totals(frames: dict[str, pd.DataFrame], codes: list[str], cx: Codes) -> pd.DataFrame:
    """Unsuppressed school values (all grades/subjects) of ``codes``: ``year, school_id`` × code."""
    parts = []
    for c in codes:
        f = frames.get(c)
        if f is None:
            continue
        f = f[(f["level"] == 0) & (f["grade"] == ALL_GRADE) & (f["subject"] == 0) & (f["item"] == 0)]
        parts.append(pd.DataFrame({"year": f["year"].to_numpy(), "school_id": f["school_id"].to_numpy(),
                                   "value": f["value"].to_numpy(), "code": c}))
    if not parts:
        return pd.DataFrame(columns=["year", "school_id"])
    out = pd.concat(parts).pivot_table(index=["year", "school_id"], columns="code", values="value").reset_index()
    out.columns.name = None
    out["school_id"] = np.array(cx.schools, dtype=object)[out["school_id"].to_numpy()]
    return out


def objectivity_component(objectivity: pd.DataFrame | None, plan: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """``year, school_id, objectivity`` = 100 − % of the school's assessed ВПР works that the plan of work
    (``objectivity_plan``, msoko.objectivity.plan) names at tier 1 or 2.

    A work is assessed when msoko's ``combined`` picture was computed for it (objectivity.parquet);
    the plan's works come with school-level error control, so an official flag alone (which similar
    schools do not confirm) or a cell-level flag that does not survive the school-level test costs the
    principal nothing. Without a plan (``plan`` None) the component is not computed."""
    if objectivity is None or plan is None or len(objectivity) == 0 or "flagged" not in objectivity.columns:
        return None
    o = objectivity[objectivity["school_id"].notna() & (objectivity["sign"] == "combined") & objectivity["flagged"].notna()]
    if o.empty:
        return None
    g = o.assign(school_id=o["school_id"].astype(str), year=o["year"].astype(int)) \
        .groupby(["year", "school_id"]).size().rename("count").reset_index()
    p = plan.loc[plan["tier"] <= 2, ["year", "school_id", "n_works_flagged"]] if len(plan) else \
        pd.DataFrame(columns=["year", "school_id", "n_works_flagged"])
    p = p.assign(year=p["year"].astype(int), school_id=p["school_id"].astype(str))
    g = g.merge(p, on=["year", "school_id"], how="left")
    flagged = pd.to_numeric(g["n_works_flagged"], errors="coerce").fillna(0.0).astype(float)
    g["objectivity"] = 100 - (flagged.clip(upper=g["count"]) / g["count"] * 100)
    return g[["year", "school_id", "objectivity"]].astype({"objectivity": float})


PRINCIPAL_TOTALS = ("vpr_success", "gia_below_min", "teachers_kpk3", "nokuod_score", "principal_mgmt_training",
                    "principal_reserve")
# the six components of the principal's composite, in the catalogue's order, with the data each needs
PRINCIPAL_COMPONENTS_RU = {
    "results": "результаты (ВПР, ГИА)",
    "objectivity": "объективность (признаки ФИОКО)",
    "staff_development": "развитие кадров (КПК педагогов, таблица «teachers»)",
    "conditions": "условия (балл НОКУОД, таблица «principals»)",
    "mgmt_training": "обучение руководителя по управлению (таблица «principals»)",
    "reserve": "кадровый резерв (таблица «principals»)",
}


def composite_assembly(comps: dict[str, pd.Series], weights: dict, min_share: float) -> pd.DataFrame:
    """The weighted mean of the components a school has, computed only where the present components
    carry at least ``min_share`` of the total weight (``[principal_composite] min_share``, 0.5).

    Columns: ``composite`` (NaN when too few components), ``components_present``,
    ``components_total`` (components with a positive weight), ``components_missing`` (Russian
    names, «; »-joined) and ``composite_note`` — «рассчитан по 4 из 6 составляющих; нет данных: …»
    or «не рассчитан: есть 2 из 6 составляющих (…); нет данных: …»."""
    w = {k: float(weights.get(k, 1.0)) for k in comps}
    used = [k for k in comps if w[k] > 0]
    index = next(iter(comps.values())).index
    have = pd.DataFrame({k: comps[k].notna() for k in used}, index=index)
    num = sum(np.where(have[k], comps[k].fillna(0) * w[k], 0.0) for k in used)
    den = sum(np.where(have[k], w[k], 0.0) for k in used)
    total_w = sum(w[k] for k in used)
    share = den / total_w if total_w > 0 else np.zeros(len(index))
    ok = (den > 0) & (share >= float(min_share) - 1e-12)
    composite = pd.Series(np.where(ok, num / np.where(den > 0, den, 1.0), np.nan), index=index)
    present = have.sum(axis=1).astype(int)
    names = PRINCIPAL_COMPONENTS_RU
    missing = ["; ".join(names.get(k, k) for k in used if not h[k]) for h in have.to_dict("records")]
    there = ["; ".join(names.get(k, k) for k in used if h[k]) for h in have.to_dict("records")]
    notes = []
    for good, k, miss, got in zip(ok, present, missing, there):
        of = f"{k} из {len(used)} {'составляющей' if len(used) == 1 else 'составляющих'}"
        if good:
            notes.append(f"рассчитан по {of}" + (f"; нет данных: {miss}" if miss else ""))
        else:
            notes.append(f"не рассчитан: есть {of}" + (f" ({got})" if got else "")
                         + (f"; нет данных: {miss}" if miss else "")
                         + f" — нужно не меньше {fmt_share(min_share)} веса составляющих")
    return pd.DataFrame({"composite": composite, "components_present": present,
                         "components_total": len(used), "components_missing": missing,
                         "composite_note": notes}, index=index)


def fmt_share(x: float) -> str:
    """0.5 → «50 %» (the threshold in a note)."""
    return f"{float(x) * 100:.0f} %"


def _composites(frames, config, ctx, objectivity, plan=None) -> list[Base]:
    tv = _school_totals(frames, list(PRINCIPAL_TOTALS), ctx["codes"])
    if tv.empty or len(tv.columns) <= 2:
        raise NotComputable("нет данных для компонентов (ВПР, ГИА, кадры, руководители)")
    oc = objectivity_component(objectivity, plan)
    if oc is not None:
        tv = tv.merge(oc, on=["year", "school_id"], how="outer")
    tv = tv.assign(year=tv["year"].astype(int))
    # every component column is written, empty where its data is absent (output_schema.toml)
    tv = tv.reindex(columns=[*tv.columns, *(c for c in PRINCIPAL_TOTALS + ("objectivity",) if c not in tv.columns)])
    for c in PRINCIPAL_TOTALS + ("objectivity",):   # numeric whatever the merges left (an empty plan: object)
        tv[c] = pd.to_numeric(tv[c], errors="coerce").astype(float)
    g = tv.__getitem__
    res = pd.concat([g("vpr_success"), 100 - g("gia_below_min")], axis=1).mean(axis=1)
    comps = {"results": res, "objectivity": g("objectivity"), "staff_development": g("teachers_kpk3"),
             "conditions": g("nokuod_score"), "mgmt_training": g("principal_mgmt_training"),
             "reserve": g("principal_reserve")}
    pc = config.get("principal_composite") or {}
    asm = composite_assembly(comps, pc.get("weights") or {}, float(pc.get("min_share", 0.5)))
    comp = asm["composite"]
    p = ctx["tables"].get("principals")
    if p is not None and len(p):
        keys = set(zip(p["year"].astype(int), p["school_id"].astype(str)))
        listed = pd.Series([k in keys for k in zip(tv["year"], tv["school_id"])], index=tv.index)
        comp = comp.where(listed)
        asm.loc[~listed & asm["composite"].notna(), "composite_note"] = "не рассчитан: школы нет в таблице «principals»"
    ctx["principal_components"] = tv.assign(**{f"component_{k}": v for k, v in comps.items()}, composite=comp,
                                            **{c: asm[c] for c in asm.columns if c != "composite"})
    base = _score_base("principal_composite", tv, comp)
    if base.frame.empty:   # no school has enough components: the reason, with the most complete school's
        best = asm.sort_values("components_present", ascending=False).iloc[0] if len(asm) else None
        note = str(best["composite_note"]) if best is not None else "нет данных для составляющих"
        base.note = note.removeprefix("не рассчитан: ")
    out = [base, _score_base("principal_results", tv, res)]
    if oc is not None:
        out.append(_score_base("principal_objectivity", tv, comps["objectivity"]))
    return out


# --------------------------------------------------------------------------- thresholds

def _year_values(df: pd.DataFrame, fn) -> np.ndarray:
    """``fn(year)`` broadcast over the rows (evaluated once per year)."""
    years = df["year"].to_numpy()
    out = np.full(len(df), np.nan)
    for y in np.unique(years):
        out[years == y] = fn(int(y))
    return out


def _flag(cond, valid) -> pd.arrays.BooleanArray:
    return pd.array(np.where(valid, cond, pd.NA), dtype="boolean")


def _apply_thresholds(code: str, df: pd.DataFrame, config: dict, ctx: dict) -> pd.DataFrame:
    school = df["level"].to_numpy() == 0
    val = df["value"].to_numpy(dtype=float)
    has = ~np.isnan(val)
    if code in ("vpr_task_completion", "vpr_level_completion"):
        cx: Codes = ctx["codes"]
        if code == "vpr_task_completion":
            lv = df[["year", "grade", "subject", "item"]].merge(
                ctx["task_levels"], on=["year", "grade", "subject", "item"], how="left")["task_level"]
        else:
            lv = pd.Series(np.array(cx.words, dtype=object)[df["item"].to_numpy()])
        lv = lv.to_numpy(dtype=object)
        thr = np.full(len(df), np.nan)
        years = df["year"].to_numpy()
        for y in np.unique(years):
            suff = by_year(config.get("sufficiency") or {}, int(y)) or {}
            for level, t in suff.items():
                thr[(years == y) & (lv == level)] = float(t)
        df["threshold"] = thr
        df["flag"] = _flag(val < thr, has & ~np.isnan(thr))
    elif code.startswith("risk_") and code[5:] in (config.get("risk_factors") or {}):
        spec = config["risk_factors"][code[5:]]
        thr = _year_values(df, lambda y: float(by_year(by_year(spec, y).get("threshold"), y)))
        df["threshold"] = thr
        df["flag"] = _flag(OPS[spec.get("op", "<")](val, thr), school & has)
    elif code == "context_index":
        thr = _year_values(df, lambda y: float(by_year(
            (config.get("context_index") or {}).get("shnsu_threshold", 50.0), y)))
        df["threshold"] = thr
        df["flag"] = _flag(val >= thr, school & has)
    elif code in ("shnor_flag", "shnsu_flag", "risk_profile_high"):
        df["flag"] = _flag(val >= 50, school & has)
    return df


def _tasks_sufficient(task_rows: pd.DataFrame) -> pd.DataFrame:
    """vpr_tasks_sufficient from the task rows (school and municipality, unsuppressed values)."""
    t = task_rows[task_rows["threshold"].notna() & task_rows["value"].notna()]
    k = ["year", "level", "school_id", "muni", "grade", "subject"]
    t = t.assign(ok=(t["value"] >= t["threshold"]).astype(int), one=1)
    a = t.groupby(k, sort=False).agg(num=("ok", "sum"), den=("one", "sum"), n=("n", "max")).reset_index()
    a["item"] = np.int32(0)
    a["value"] = a["num"] / a["den"] * 100
    a["ci_low"] = a["ci_high"] = np.nan
    mv = a[a["level"] == 1][["year", "muni", "grade", "subject", "value"]].rename(
        columns={"value": "municipality_value"})
    a = a.merge(mv, on=["year", "muni", "grade", "subject"], how="left")
    a.loc[a["level"] == 1, "municipality_value"] = np.nan
    return a


# --------------------------------------------------------------------------- orchestration

PRODUCERS = [
    (_vpr, ["vpr_participation", "vpr_fail_share", "vpr_mark3_share", "vpr_mark4_share", "vpr_mark5_share",
            "vpr_success", "vpr_quality", "vpr_mean_score", "vpr_mean_pct", "vpr_journal_lower",
            "vpr_journal_confirm", "vpr_journal_higher"]),
    (_tasks, ["vpr_task_completion", "vpr_level_completion", "vpr_tasks_sufficient"]),
    (_gia, ["gia_below_min", "oge_mark45_share", "oge_mean_mark", "ege_mean_score", "ege_80plus", "ege_100"]),
    (_leavers, ["gia_no_attestat", "leavers_to_grade10", "leavers_to_spo", "leavers_to_vuz", "leavers_to_work",
                "leavers_not_placed", "leavers_profile_match"]),
    (_system2, ["risk_low_equipment", "risk_teacher_shortage", "risk_low_competence", "risk_failure_risk",
                "risk_high_ovz", "risk_low_parent_involvement", "risk_low_motivation", "risk_weak_climate",
                "risk_factors_count", "risk_profile_high", "context_index", "shnsu_flag", "teacher_vacancies"]),
    (_shnor, ["shnor_flag", "shnor_low_procedures"]),
    (_olympiad, ["olymp_school_participation", "olymp_municipal_share", "olymp_stage_participants",
                 "olymp_awardees", "olymp_awardee_share"]),
    (_addedu, ["addedu_coverage", "addedu_tech_coverage"]),
    (_career, ["profmin_basic_share", "profmin_main_share", "profmin_advanced_share", "profile_classes_share"]),
    (_principals, ["principal_mgmt_training", "principal_reserve", "nokuod_score"]),
    (_teachers, ["teachers_top_category", "teachers_highest_category", "teachers_kpk3", "teachers_diagnostics",
                 "teachers_iom_after_diag", "teachers_young", "teachers_60plus", "teachers_contests"]),
    (_teachers_questionnaire, ["q_teachers_highest", "q_teachers_young30", "q_teachers_pension",
                               "q_kpk_per_100_teachers"]),
    (_upbringing, ["upbr_clubs", "upbr_volunteers", "upbr_movements", "upbr_offences_rate", "upbr_pdn_kdn_rate",
                   "upbr_removed_improved", "upbr_programme_approved"]),
    (_mkdo, ["mkdo_area_score", "mkdo_total_score"]),
    (_preschool, ["preschool_availability_3_7", "preschool_availability_0_3", "preschool_occupancy",
                  "preschool_staff_higher_ed", "preschool_staff_category"]),
    (_surveys, ["school_parent_satisfaction", "dou_parent_satisfaction"]),
]
COMPOSITE_CODES = ["principal_composite", "principal_results", "principal_objectivity"]


@dataclass
class IndicatorResult:
    """What :func:`compute_indicators` returns.

    ``indicators`` — the indicators.parquet frame; ``notes`` — indicators that could not be
    computed (``indicator, name_ru, system, reason``, Russian); ``details`` — supporting
    tables: ``shnor`` (list with reasons), ``shnor_procedures``, ``risk_profile``,
    ``context`` (context metrics and index), ``principal_components``; ``meta`` — the
    organisations (``school_id, name, municipality, org_type, settlement_type``).
    """

    indicators: pd.DataFrame
    notes: pd.DataFrame
    details: dict[str, pd.DataFrame]
    meta: pd.DataFrame
    failures: list[dict] = field(default_factory=list)  # step, indicators, error, message_ru: msoko's own errors

    def summary(self) -> str:
        ind = self.indicators
        return (f"показателей рассчитано: {ind['indicator'].nunique()} из "
                f"{ind['indicator'].nunique() + len(self.notes)}, строк: {len(ind)}; "
                f"не рассчитано: {len(self.notes)}")


def compute_indicators(tables: dict[str, pd.DataFrame | None], config: dict, *,
                       objectivity: pd.DataFrame | None = None,
                       objectivity_plan: pd.DataFrame | None = None,
                       progress=None) -> IndicatorResult:
    """Compute every catalogue indicator from the processed ``tables`` (name → frame or None)."""
    cat = load_catalogue().set_index("code")
    info = config.get("informativeness") or {}
    conf = float(info.get("confidence", 0.95))
    tables = {k: v for k, v in tables.items() if v is not None}
    meta = school_meta(tables, config)
    codes = Codes(meta)
    ctx = {"meta": meta, "tables": tables, "codes": codes}
    frames: dict[str, pd.DataFrame] = {}
    notes: dict[str, str] = {}
    failures: list[dict] = []
    say = progress or (lambda msg: None)

    def run(fn, names):
        try:
            bases = fn(tables, config, ctx)
        except NotComputable as exc:
            for c in names:
                notes.setdefault(c, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - one failing step must not stop the others; it is reported
            missing = _missing_input_column(exc, tables)
            if missing:  # a loaded table without a column its template declares: the data, not msoko
                for c in names:
                    notes.setdefault(c, f"нет столбца «{missing[1]}» в таблице «{missing[0]}» (таблица заполнена "
                                        "по старому или неполному шаблону; свежий — msoko templates)")
                return
            # Otherwise an exception here is msoko's own error, never worded as bad input.
            error = f"{type(exc).__name__}: {exc}"
            for c in names:
                notes.setdefault(c, f"внутренняя ошибка msoko ({error})")
            step = getattr(fn, "__name__", "").strip("_") or "?"
            failures.append({"step": step, "indicators": list(names), "error": error,
                             "message_ru": f"Показатели «{step}» ({', '.join(names)}) не рассчитаны: "
                                           f"внутренняя ошибка msoko ({error})."})
            return
        for b in bases:
            if b.code not in cat.index:
                continue
            if b.frame.empty:
                notes.setdefault(b.code, b.note or "нет строк данных для расчёта")
                continue
            kind = ENGINE_KIND[cat.loc[b.code, "kind"]]
            bounds = mean_bounds(b.code, cat.loc[b.code, "unit"]) if kind == "mean" else None
            df = _rollup(b.frame if b.encoded else codes.encode(b.frame), b.sets, kind, codes, conf, bounds)
            df = _add_change(df, kind, conf)
            df = _season_changes(df, cat.loc[b.code, "source"], config)
            frames[b.code] = _apply_thresholds(b.code, df, config, ctx)

    for fn, names in PRODUCERS:
        say(f"  показатели: {fn.__name__.strip('_')}")
        run(fn, names)
    if "vpr_task_completion" in frames:
        ts = _tasks_sufficient(frames["vpr_task_completion"])
        if len(ts):
            ts = _add_change(ts, "share", conf)
            ts = _season_changes(ts, "vpr_tasks", config)
            ts[["change_ci_low", "change_ci_high"]] = np.nan
            frames["vpr_tasks_sufficient"] = ts
        else:
            notes.setdefault("vpr_tasks_sufficient", "нет заданий с известным уровнем сложности (task_specs)")
    say("  показатели: composites")
    def composites(t, c, x):
        return _composites(frames, c, x, objectivity, objectivity_plan)

    run(composites, COMPOSITE_CODES)
    if objectivity is None or objectivity_plan is None:
        notes.setdefault("principal_objectivity", "нет результатов диагностики объективности (плана работы)")

    out = []
    for code, df in frames.items():
        spec = cat.loc[code]
        out.append(_finish(df, ENGINE_KIND[spec["kind"]], spec, info).assign(indicator=code))
    for code in cat.index:
        if code not in frames:
            notes.setdefault(code, "нет данных")
    ind = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=INTERNAL_COLUMNS)
    if len(ind):
        # stable order on the integer codes: catalogue order, level, organisation, year, breakdown
        pos = {c: i for i, c in enumerate(cat.index)}
        order = np.lexsort([ind[c].to_numpy() for c in ("item", "subject", "grade", "year", "school_id", "level")]
                           + [ind["indicator"].map(pos).to_numpy()])
        ind = codes.decode(ind.iloc[order].reset_index(drop=True))
    else:
        ind = ind.drop(columns="muni").assign(municipality=None)
    ind = _output_types(ind)
    nt = pd.DataFrame([(c, cat.loc[c, "name_ru"], int(cat.loc[c, "system"]), r) for c, r in notes.items()
                       if c in cat.index and c not in frames],
                      columns=["indicator", "name_ru", "system", "reason"])
    details = {k: ctx[k] for k in ("shnor", "shnor_procedures", "risk_profile", "context", "principal_components",
                                   "spec_quality")
               if k in ctx}
    return IndicatorResult(ind, nt, details, meta, failures)


def _missing_input_column(exc: Exception, tables: dict) -> tuple[str, str] | None:
    """(table, column) when ``exc`` is a KeyError for a column that a loaded input table lacks
    although the data dictionary declares it; None for any other exception (msoko's own error)."""
    if not isinstance(exc, KeyError) or not exc.args or not isinstance(exc.args[0], str):
        return None
    key = exc.args[0]
    from msoko.dictionary import load_dictionary

    try:
        dictionary = load_dictionary()
    except Exception:  # noqa: BLE001 - without the dictionary the error stays msoko's
        return None
    for name, df in tables.items():
        try:
            declared = {c.id for c in dictionary.table(name).columns}
        except KeyError:
            continue
        if key in declared and key not in df.columns:
            return name, key
    return None


def _output_types(ind: pd.DataFrame) -> pd.DataFrame:
    ind = ind.copy()
    ind["year"] = ind["year"].astype("int16")
    g = pd.to_numeric(ind["grade"], errors="coerce")
    ind["grade"] = pd.array(np.where(g == ALL_GRADE, np.nan, g), dtype="Float64").astype("Int8")
    for c in ("level", "school_id", "indicator", "municipality"):
        ind[c] = ind[c].astype(str)
    for c in ("subject", "item"):
        ind[c] = ind[c].astype(object)
    for c in ("suppressed", "limited"):
        ind[c] = ind[c].astype(bool)
    for c in ("vs_municipality", "vs_similar"):
        ind[c] = pd.array(ind[c].to_numpy(dtype=float), dtype="Float64").round().astype("Int8")
    ind["flag"] = ind["flag"].astype("boolean")
    for c in ("numerator", "denominator", "value", "ci_low", "ci_high", "n", "prev_value", "change",
              "change_ci_low", "change_ci_high", "municipality_value", "region_value", "similar_value",
              "similar_ci_low", "similar_ci_high", "similar_n", "similar_schools", "threshold"):
        ind[c] = pd.to_numeric(ind[c], errors="coerce").astype("float64")
    return ind[OUTPUT_COLUMNS].reset_index(drop=True)
