"""Textbooks (УМК) in use: per ВПР work, the textbooks the pupils named, with pupil counts.

The 2021 ФИС ОКО layout names each pupil's textbook («Учебник»; «другое» with «Др.уч. автор» and
«Др.уч. название»). Ingest keeps them (``vpr_textbooks.parquet``, one row per pupil who wrote the
work); :func:`textbook_use` counts pupils per work and textbook, for each school and municipality
(``textbook_use.parquet``). Seed 003: «Анализ обеспеченности обучающихся учебниками и используемых
УМК». A count of pupils is not a comparison of books: schools choose their textbooks.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

NOT_GIVEN = "не указан"
OTHER = "другое"
COLUMNS = ["year", "grade", "subject", "level", "municipality", "school_id", "textbook", "pupils", "work_pupils",
           "share"]


def textbook_label(textbook, other_author, other_title) -> str:
    """One label per pupil: the listed textbook; «другое: <название> (<автор>)»; «не указан»."""
    def clean(v):
        t = "" if v is None or (isinstance(v, float) and pd.isna(v)) else " ".join(str(v).split())
        return "" if t in ("0", "1", "-", "—") else t

    t, a, n = clean(textbook), clean(other_author), clean(other_title)
    if t and t.lower() != OTHER:
        return t
    if n or a:
        return f"{OTHER}: {n or a}" + (f" ({a})" if n and a and a not in n else "")
    return OTHER if t else NOT_GIVEN


def textbook_use(pupils: pd.DataFrame, schools: pd.DataFrame | None) -> pd.DataFrame:
    """``textbook_use``: pupils per (year, grade, subject, textbook) in each school and municipality;
    ``share`` = pupils / pupils of that work in the same school or municipality × 100."""
    if pupils is None or not len(pupils):
        return pd.DataFrame(columns=COLUMNS)
    p = pupils.assign(school_id=pupils["school_id"].astype(str))
    # one label per distinct (textbook, author, title): a few hundred, for tens of thousands of pupils
    cols = ["textbook", "other_author", "other_title"]
    code = p.groupby(cols, dropna=False, sort=False, observed=True).ngroup().to_numpy()
    first = np.unique(code, return_index=True)[1]
    u = p[cols].iloc[first]
    labels = np.array([textbook_label(*k) for k in zip(u["textbook"], u["other_author"], u["other_title"])],
                      dtype=object)
    p["label"] = labels[code]
    # «другое» naming a textbook of the list, word for word, is that textbook
    listed = set(p["label"]) - {NOT_GIVEN, OTHER}
    listed = {x for x in listed if not x.startswith(f"{OTHER}: ")}
    title = p["other_title"].map(lambda v: " ".join(str(v).split()) if isinstance(v, str) else "")
    p["label"] = p["label"].where(~(p["label"].str.startswith(f"{OTHER}: ") & title.isin(listed)), title)
    muni = (schools.assign(school_id=schools["school_id"].astype(str)).set_index("school_id")["municipality"]
            if schools is not None and len(schools) else pd.Series(dtype=object))
    p["municipality"] = p["school_id"].map(muni).fillna("Муниципалитет (не указан)").astype(str)
    work = ["year", "grade", "subject"]
    parts = []
    for level, keys in (("school", ["municipality", "school_id"]), ("municipality", ["municipality"])):
        c = p.groupby(work + keys + ["label"], observed=True).size().rename("pupils").reset_index()
        tot = p.groupby(work + keys, observed=True).size().rename("work_pupils").reset_index()
        c = c.merge(tot, on=work + keys)
        c["level"] = level
        if level == "municipality":
            c["school_id"] = None
        parts.append(c)
    out = pd.concat(parts, ignore_index=True).rename(columns={"label": "textbook"})
    out["share"] = out["pupils"] / out["work_pupils"] * 100
    out = out.sort_values(["year", "grade", "subject", "level", "municipality", "school_id", "pupils"],
                          ascending=[True, True, True, False, True, True, False], na_position="first")
    return out[COLUMNS].astype({"year": "int64", "grade": "int64", "pupils": "int64", "work_pupils": "int64"}) \
        .reset_index(drop=True)
