"""ВПР mark scales: primary score → mark «2»…«5».

Scales are configuration (``resources/mark_scales.csv``: year, grade, subject,
min3, min4, min5, source), never code: they change by year and subject. A score
``s`` gets «5» if ``s >= min5``, «4» if ``s >= min4``, «3» if ``s >= min3``, else «2».
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from msoko.errors import MsokoError

SCALE_COLUMNS = ["year", "grade", "subject", "min3", "min4", "min5"]


def load_scales(path: str | Path | None = None) -> pd.DataFrame:
    src = Path(path) if path else resources.files("msoko") / "resources" / "mark_scales.csv"
    with open(src, encoding="utf-8") as fh:
        df = pd.read_csv(fh, comment="#", dtype={"subject": str})
    missing = [c for c in SCALE_COLUMNS if c not in df.columns]
    if missing:
        raise MsokoError(f"Шкалы отметок {src}: нет столбцов {', '.join(missing)}.")
    df = df.astype({"year": "int16", "grade": "int8", "min3": "float64", "min4": "float64", "min5": "float64"})
    bad = df[~((df.min3 <= df.min4) & (df.min4 <= df.min5))]
    if len(bad):
        r = bad.iloc[0]
        raise MsokoError(f"Шкалы отметок {src}: границы не возрастают для {r.year}, {r.grade} класс, {r.subject}.")
    dup = df.duplicated(["year", "grade", "subject"])
    if dup.any():
        r = df[dup].iloc[0]
        raise MsokoError(f"Шкалы отметок {src}: шкала повторяется для {r.year}, {r.grade} класс, {r.subject}.")
    return df


def mark_from_score(score, min3, min4, min5) -> np.ndarray:
    """Vectorised: score and the three boundaries (arrays or scalars) → float array of marks (NaN where unknown)."""
    s = np.asarray(score, dtype="float64")
    m3, m4, m5 = (np.asarray(x, dtype="float64") for x in (min3, min4, min5))
    out = np.where(s >= m5, 5.0, np.where(s >= m4, 4.0, np.where(s >= m3, 3.0, 2.0)))
    out = np.where(np.isnan(s) | np.isnan(m3) | np.isnan(m4) | np.isnan(m5), np.nan, out)
    return out


def assign_marks(vpr: pd.DataFrame, scales: pd.DataFrame | None = None) -> tuple[pd.Series, list[tuple]]:
    """Marks for a vpr frame (year, grade, subject, primary_score[, export_mark]).

    Returns (marks as Int8 Series aligned with ``vpr``, list of (year, grade, subject)
    present in ``vpr`` with scores but without a scale). A mark present in the export
    (column ``export_mark``) wins.
    """
    if scales is None:
        scales = load_scales()
    keys = vpr[["year", "grade", "subject"]].astype({"year": "int16", "grade": "int8"})
    merged = keys.merge(scales[SCALE_COLUMNS], on=["year", "grade", "subject"], how="left")
    mark = mark_from_score(vpr["primary_score"].to_numpy(dtype="float64", na_value=np.nan),
                           merged["min3"].to_numpy(), merged["min4"].to_numpy(), merged["min5"].to_numpy())
    if "export_mark" in vpr.columns:
        em = pd.to_numeric(vpr["export_mark"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        mark = np.where(np.isnan(em), mark, em)
    no_scale = merged["min3"].isna().to_numpy() & vpr["primary_score"].notna().to_numpy()
    missing = sorted({(int(y), int(g), str(s)) for y, g, s in
                      keys[no_scale].drop_duplicates().itertuples(index=False)})
    return pd.Series(pd.array(mark, dtype="Int8"), index=vpr.index), missing
