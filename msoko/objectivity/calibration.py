"""Is the evidence honest on the data at hand? Calibration of every sign's p-values.

Each msoko sign gives a one-sided p-value under «nothing unusual». Where almost every
school is ordinary, the share of cells with p < 0.001 should be near 0.1 % and with
p < 0.01 near 1 % (a little lower for the discrete counts, whose exact tails are
conservative). A sign far above that either finds many real deviations or has a null model
that does not fit these data — its flags must then be read with care, and a methodologist
should see it. Every ``msoko compute`` writes :func:`calibration_table` as
``objectivity_calibration.parquet`` and warns (:func:`calibration_warnings`) when a sign
exceeds ``CALIBRATION_RATIO`` × nominal at p < 0.001.

For the objectivity report, compute writes :func:`calibration_pictures` per year (the report reads the
tables, never this module): :func:`pvalue_histogram` (each sign's p-value histogram against the uniform),
:func:`flag_rate_by_size` (the flag rate by class size and number of tasks, with :func:`tasks_per_test`
giving the number of tasks of each work), the year's warning and the size bias of each sign.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko import ru

CALIBRATION_RATIO = 5.0      # a sign with more than 5× the nominal share at p < 0.001 is warned about
CALIBRATION_MIN_CELLS = 3    # ... and at least this many such cells (one cell of a small run is no evidence)
NOMINAL = (0.001, 0.01)

CALIBRATION_COLUMNS = ["sign", "title", "official", "cells", "below_001", "share_001", "nominal_001", "ratio_001",
                       "below_01", "share_01", "nominal_01", "ratio_01", "flagged", "flag_rate", "warning",
                       "message_ru"]

SIZE_BANDS = [(0, 10, "до 9"), (10, 20, "10–19"), (20, 50, "20–49"), (50, 100, "50–99"), (100, np.inf, "100 и более")]
TASK_BANDS = [(0, 11, "до 10"), (11, 15, "11–14"), (15, 21, "15–20"), (21, np.inf, "21 и более")]


def _cells(obj: pd.DataFrame) -> pd.DataFrame:
    """School-level rows with a p-value (the indices and not-assessed rows left out)."""
    if obj is None or len(obj) == 0:
        return pd.DataFrame(columns=["year", "school_id", "grade", "subject", "sign", "p_value", "flagged", "n"])
    r = obj.loc[obj["school_id"].notna() & obj["p_value"].notna()]
    return r.loc[~r["sign"].isin(["objectivity_index"])]


def _pct(x: float) -> str:
    return ru.number(100 * x, 2)


def calibration_table(obj: pd.DataFrame) -> pd.DataFrame:
    """Per sign: cells with a p-value, the share with p < 0.001 and < 0.01 against nominal, the flag rate,
    ``warning`` (share at 0.001 above :data:`CALIBRATION_RATIO` × nominal in at least
    :data:`CALIBRATION_MIN_CELLS` cells) and the Russian ``message_ru`` of the warning ('' without one)."""
    from msoko.objectivity import INFLATED_MEAN_NOTE, SIGNS

    r = _cells(obj)
    rows = []
    for sign, d in r.groupby("sign", sort=True):
        p = d["p_value"].to_numpy(dtype=float)
        n = len(p)
        k1, k2 = int((p < NOMINAL[0]).sum()), int((p < NOMINAL[1]).sum())
        s1, s2 = k1 / n, k2 / n
        fl = d["flagged"].astype("boolean")
        assessed = int(fl.notna().sum())
        flagged = int(fl.fillna(False).sum())
        title, official = SIGNS.get(sign, (sign, False, ""))[:2]
        warn = s1 > CALIBRATION_RATIO * NOMINAL[0] and k1 >= CALIBRATION_MIN_CELLS
        msg = ""
        if warn:
            msg = (f"Проверка калибровки: у признака «{title}» ({sign}) p < 0,001 в {k1} из {n} ячеек "
                   f"({_pct(s1)} % при номинальных 0,1 %, в {s1 / NOMINAL[0]:.0f} раз больше). Либо на этих данных "
                   f"действительно много отклонений, либо модель «ничего необычного» этого признака не подходит к "
                   f"этим данным: его отметки нужно читать с осторожностью.")
            if sign == "inflated_mean":
                msg += " " + INFLATED_MEAN_NOTE
        rows.append({"sign": sign, "title": title, "official": bool(official), "cells": n,
                     "below_001": k1, "share_001": s1, "nominal_001": NOMINAL[0], "ratio_001": s1 / NOMINAL[0],
                     "below_01": k2, "share_01": s2, "nominal_01": NOMINAL[1], "ratio_01": s2 / NOMINAL[1],
                     "flagged": flagged, "flag_rate": flagged / assessed if assessed else np.nan,
                     "warning": bool(warn), "message_ru": msg})
    out = pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)
    return out.astype({"cells": "int64", "below_001": "int64", "below_01": "int64", "flagged": "int64",
                       "warning": "bool", "official": "bool"})


def calibration_warnings(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(sign, Russian message) for every sign of :func:`calibration_table` that is warned about."""
    if table is None or len(table) == 0:
        return []
    w = table.loc[table["warning"].astype(bool)]
    return list(zip(w["sign"], w["message_ru"]))


def pvalue_histogram(obj: pd.DataFrame, bins: int = 20, signs=None) -> pd.DataFrame:
    """Per sign and bin of [0, 1]: cells, share and the share expected if every cell were ordinary
    (uniform p-values: 1/bins). Columns: sign, title, bin, p_low, p_high, cells, share, expected.
    A calibrated sign is flat with a rise in the first bin only where there are real findings;
    a discrete count gives a spike at p = 1 (the last bin): many cells with nothing at all."""
    from msoko.objectivity import SIGNS

    r = _cells(obj)
    if signs is not None:
        r = r.loc[r["sign"].isin(list(signs))]
    edges = np.linspace(0.0, 1.0, bins + 1)
    parts = []
    for sign, d in r.groupby("sign", sort=True):
        p = np.clip(d["p_value"].to_numpy(dtype=float), 0.0, 1.0)
        b = np.minimum((p * bins).astype(int), bins - 1)
        cnt = np.bincount(b, minlength=bins)
        parts.append(pd.DataFrame({"sign": sign, "title": SIGNS.get(sign, (sign,))[0], "bin": np.arange(bins),
                                   "p_low": edges[:-1], "p_high": edges[1:], "cells": cnt,
                                   "share": cnt / max(len(p), 1), "expected": 1.0 / bins}))
    cols = ["sign", "title", "bin", "p_low", "p_high", "cells", "share", "expected"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def _distinct(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """The distinct rows of ``df[cols]`` (missing values a value of their own) by Arrow's hash grouping, in
    the dtypes of ``df`` — a categorical column in the dtype of its categories, so that a grouping of the
    result sorts values, not category codes; ``df[cols]`` itself if Arrow cannot group them."""
    part = df[cols]
    cats = {c: part[c].cat.categories for c in cols if isinstance(part[c].dtype, pd.CategoricalDtype)}
    if cats:     # grouped on the integer codes (−1 for a missing value)
        part = part.assign(**{c: part[c].cat.codes for c in cats})
    try:
        import pyarrow as pa
        table = pa.Table.from_pandas(part, preserve_index=False)
        out = table.group_by(cols, use_threads=False).aggregate([]).to_pandas()
        out = out[cols].astype(part.dtypes.to_dict())
    except Exception:  # noqa: BLE001 - the general path gives the same counts
        return df[cols]
    for c, u in cats.items():
        out[c] = pd.array(u.take(out[c].to_numpy(), allow_fill=True), dtype=u.dtype)
    return out


def tasks_per_test(vpr_tasks: pd.DataFrame | None) -> pd.DataFrame:
    """year, grade, subject, tasks: the number of distinct tasks of each work in ``vpr_tasks``."""
    cols = ["year", "grade", "subject", "tasks"]
    if vpr_tasks is None or len(vpr_tasks) == 0 or not {"year", "grade", "subject", "task"} <= set(vpr_tasks.columns):
        return pd.DataFrame(columns=cols)
    # the distinct (year, grade, subject, task) rows first (Arrow's hash grouping, a few thousand rows out of
    # a region's tens of millions), then distinct (work, task code) pairs counted on integer codes
    vpr_tasks = _distinct(vpr_tasks, ["year", "grade", "subject", "task"])
    g = vpr_tasks.groupby(["year", "grade", "subject"], observed=True)
    codes, uniques = pd.factorize(vpr_tasks["task"])
    gid = g.ngroup().to_numpy(dtype="float64", na_value=np.nan)   # NaN: a row without its work
    ok = (codes >= 0) & np.isfinite(gid)
    pairs = np.unique(gid[ok].astype(np.int64) * max(len(uniques), 1) + codes[ok])
    t = g.size()
    t[:] = np.bincount(pairs // max(len(uniques), 1), minlength=len(t))
    t = t.rename("tasks").reset_index()
    return t.astype({"year": "int64", "grade": "int64", "tasks": "int64"})[cols]


def _band(x, bands) -> np.ndarray:
    x = np.asarray(pd.to_numeric(pd.Series(x), errors="coerce"), dtype=float)
    out = np.full(len(x), "нет данных", dtype=object)
    for lo, hi, lab in bands:
        out[(x >= lo) & (x < hi)] = lab
    return out


def flag_rate_by_size(obj: pd.DataFrame, tasks: pd.DataFrame | None = None, signs=None) -> pd.DataFrame:
    """Per sign × band of the number of participants (n of the school × work) × band of the number of
    tasks of the work: cells assessed, flagged and the flag rate (0–1). ``tasks`` is
    :func:`tasks_per_test` (without it the task band is «нет данных»). Columns: sign, title, size_band,
    tasks_band, assessed, flagged, rate. A sign whose rate climbs with the class size or with few
    tasks when nothing else does is not calibrated there."""
    from msoko.objectivity import SIGNS

    cols = ["sign", "title", "size_band", "tasks_band", "assessed", "flagged", "rate"]
    if obj is None or len(obj) == 0:
        return pd.DataFrame(columns=cols)
    r = obj.loc[obj["school_id"].notna() & obj["flagged"].notna(), ["year", "grade", "subject", "sign", "n",
                                                                       "flagged"]].copy()
    if signs is not None:
        r = r.loc[r["sign"].isin(list(signs))]
    r = r.astype({"year": "int64", "grade": "int64"})
    if tasks is not None and len(tasks):
        r = r.merge(tasks[["year", "grade", "subject", "tasks"]], on=["year", "grade", "subject"], how="left")
    else:
        r["tasks"] = np.nan
    r["size_band"] = _band(r["n"], SIZE_BANDS)
    r["tasks_band"] = _band(r["tasks"], TASK_BANDS)
    r["f"] = r["flagged"].astype(bool)
    out = r.groupby(["sign", "size_band", "tasks_band"], sort=False).agg(assessed=("f", "size"),
                                                                         flagged=("f", "sum")).reset_index()
    out["rate"] = out["flagged"] / out["assessed"]
    out["title"] = out["sign"].map(lambda s: SIGNS.get(s, (s,))[0])
    order = {lab: i for i, (_, _, lab) in enumerate(SIZE_BANDS)}
    torder = {lab: i for i, (_, _, lab) in enumerate(TASK_BANDS)}
    out = out.assign(_a=out["size_band"].map(order).fillna(99), _b=out["tasks_band"].map(torder).fillna(99))
    return out.sort_values(["sign", "_a", "_b"]).drop(columns=["_a", "_b"]).reset_index(drop=True)[cols]


# ======================================================================================
# the calibration pictures of the objectivity report, per year (written by compute)
# ======================================================================================

SMALL_BANDS = ("до 9", "10–19", "20–49")      # works under 50 participants
LARGE_BANDS = ("50–99", "100 и более")        # works of 50 and more
SIZE_BIAS_MIN_WORKS = 10       # works needed on each side before a size bias is said
SIZE_BIAS_MIN_GAP = 0.05       # the flag rate of large works at least 5 points above that of small ones ...
SIZE_BIAS_MIN_RATIO = 3.0      # ... and at least 3 times it

CALIBRATION_YEAR_COLUMNS = ["year", "sign", "cells", "below_001", "share_001", "warning", "assessed_small",
                            "flagged_small", "assessed_large", "flagged_large", "size_bias"]
PVALUE_BIN_COLUMNS = ["year", "sign", "bin", "p_low", "p_high", "cells", "share", "expected"]
FLAG_RATE_COLUMNS = ["year", "sign", "kind", "band", "band_order", "assessed", "flagged", "rate"]


def _size_bias(rates: pd.DataFrame) -> dict:
    """Flag counts of works under 50 and of 50+ participants and whether the sign flags the large ones
    much more often (:data:`SIZE_BIAS_MIN_GAP`, :data:`SIZE_BIAS_MIN_RATIO`, each side with at least
    :data:`SIZE_BIAS_MIN_WORKS` works)."""
    small = rates[rates["size_band"].isin(SMALL_BANDS)]
    large = rates[rates["size_band"].isin(LARGE_BANDS)]
    a_s, f_s = int(small["assessed"].sum()), int(small["flagged"].sum())
    a_l, f_l = int(large["assessed"].sum()), int(large["flagged"].sum())
    bias = False
    if a_s >= SIZE_BIAS_MIN_WORKS and a_l >= SIZE_BIAS_MIN_WORKS:
        rs, rl = f_s / a_s, f_l / a_l
        bias = rl - rs >= SIZE_BIAS_MIN_GAP and rl >= SIZE_BIAS_MIN_RATIO * max(rs, 1e-9)
    return {"assessed_small": a_s, "flagged_small": f_s, "assessed_large": a_l, "flagged_large": f_l,
            "size_bias": bool(bias)}


def _marginal(rates: pd.DataFrame, year: int, column: str, kind: str, bands) -> list[dict]:
    by = rates.groupby(["sign", column], sort=False)[["assessed", "flagged"]].sum()
    order = {lab: i for i, (_, _, lab) in enumerate(bands)}
    return [{"year": int(year), "sign": sign, "kind": kind, "band": band, "band_order": order.get(band, len(bands)),
             "assessed": int(r["assessed"]), "flagged": int(r["flagged"]), "rate": r["flagged"] / r["assessed"]}
            for (sign, band), r in by.iterrows() if r["assessed"]]


def calibration_pictures(obj: pd.DataFrame | None, vpr_tasks: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """What the objectivity report's calibration section draws, per year (one definition, here):

    - ``objectivity_calibration_years`` — per year × sign: cells with a p-value, those below 0.001, their
      share, ``warning`` (the rule of :func:`calibration_table`: above :data:`CALIBRATION_RATIO` × nominal
      in at least :data:`CALIBRATION_MIN_CELLS` cells), the works assessed and flagged under 50 and at 50+
      participants and ``size_bias`` (large works flagged much more often);
    - ``objectivity_pvalue_bins`` — :func:`pvalue_histogram` per year (20 bins);
    - ``objectivity_flag_rates`` — per year × sign, the flag rate by band of participants (``kind`` «size»)
      and by band of the work's number of tasks (``kind`` «tasks», from ``vpr_tasks``; works without task
      data left out)."""
    years, bins, rates = [], [], []
    r = _cells(obj)
    tasks = tasks_per_test(vpr_tasks)
    if obj is not None and len(obj):
        for y in sorted(obj["year"].dropna().unique()):
            oy = obj[obj["year"] == y]
            h = pvalue_histogram(oy)
            if len(h):
                bins.append(h.assign(year=int(y))[PVALUE_BIN_COLUMNS])
            fr = flag_rate_by_size(oy[oy["grade"].notna()], tasks)
            rates += _marginal(fr, y, "size_band", "size", SIZE_BANDS)
            rates += _marginal(fr[fr["tasks_band"] != "нет данных"], y, "tasks_band", "tasks", TASK_BANDS)
            ry = r[r["year"] == y]
            for sign in sorted(set(ry["sign"]) | set(fr["sign"])):
                p = ry.loc[ry["sign"] == sign, "p_value"].to_numpy(dtype=float)
                k = int((p < NOMINAL[0]).sum())
                share = k / len(p) if len(p) else np.nan
                years.append({"year": int(y), "sign": sign, "cells": len(p), "below_001": k, "share_001": share,
                              "warning": bool(len(p) and share > CALIBRATION_RATIO * NOMINAL[0]
                                              and k >= CALIBRATION_MIN_CELLS),
                              **_size_bias(fr[fr["sign"] == sign])})
    return {"objectivity_calibration_years": pd.DataFrame(years, columns=CALIBRATION_YEAR_COLUMNS),
            "objectivity_pvalue_bins": (pd.concat(bins, ignore_index=True) if bins
                                        else pd.DataFrame(columns=PVALUE_BIN_COLUMNS)),
            "objectivity_flag_rates": pd.DataFrame(rates, columns=FLAG_RATE_COLUMNS)}
