"""Objectivity of the school stage of the olympiad (ВсОШ): do a school's school-stage awardees hold up at the
municipal stage?

A municipal МСОКО regulation asks for the objectivity of the school olympiad. A school stage judged leniently makes
many «призёры» and «победители» who then do not place at the municipal stage, marked by the municipality's
jury. Per school and year this module counts its school-stage awardees (prize-winners and winners) who took
part in the municipal stage in the same subject, and how many of them were awarded there; it compares that
share with the other schools' (leave-one-school-out) — a binomial lower tail
``p = P(X ≤ k | n, r₋ₛ)``, where ``r₋ₛ`` is the other schools' share (the municipal jury is the same for
everyone). A finding needs ``olympiad_min_n`` (10) such pupils and ``p < olympiad_alpha`` (0,01), both in
``[olympiad_objectivity]``; it is a reason to look at how the school stage was judged, never a verdict.

Its limit, said beside every finding in the report: a school stage ranks pupils *within* the school, so the
awardees of a school with weaker pupils also place less often at the municipal stage without any leniency;
read a finding together with the school's ВПР results (demo: 1 finding in 32 assessed school-years).
So each row carries the school's standing in the same year's ВПР (``vpr_d``: the mean of its pupils' scores,
each standardised within its work, in pupil SD) and ОГЭ (``oge_d``: the same over the ОГЭ primary scores in
each subject), and a finding's sentence says whether the school's pupils write ВПР/ОГЭ below the municipality
by ``weaker_sd`` (0,2 SD, ``[olympiad_objectivity]``) — then weaker pupils may explain part of the gap — or
not, when weaker pupils do not explain it. Olympiad codes are not the ВПР/ОГЭ codes, so the standing is the
school's, not its awardees'.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru

AWARD = ("призёр", "победитель")
DEFAULTS = {"olympiad_min_n": 10, "olympiad_alpha": 0.01, "weaker_sd": 0.2}
COLUMNS = ["year", "school_id", "advanced", "awarded", "share", "expected", "p_value", "flagged", "vpr_d", "oge_d",
           "text"]


def school_standing(scores: pd.DataFrame | None, by: list[str], score: str = "primary_score") -> pd.DataFrame:
    """``year, school_id, d``: the mean of a school's pupils' ``score``, each standardised (ddof=1) within its
    ``by`` group (a work, or an exam's subject, of a year), per school and year."""
    if scores is None or scores.empty:
        return pd.DataFrame(columns=["year", "school_id", "d"])
    x = scores[scores[score].notna()]
    if "absent" in x:
        x = x[~x["absent"].fillna(False).astype(bool)]
    grp = x.groupby(by)[score]
    z = (x[score] - grp.transform("mean")) / grp.transform("std")
    out = pd.DataFrame({"year": x["year"].astype(int), "school_id": x["school_id"].astype(str), "z": z}).dropna()
    return out.groupby(["year", "school_id"], as_index=False)["z"].mean().rename(columns={"z": "d"})


def settings(config: dict | None) -> dict:
    return {**DEFAULTS, **((config or {}).get("olympiad_objectivity") or {})}


def olympiad_rows(olympiad: pd.DataFrame | None, config: dict | None = None, vpr: pd.DataFrame | None = None,
                  gia: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per school and year with school-stage awardees at the municipal stage (see the docstring);
    ``vpr`` and ``gia`` (the loaded tables) give the school's standing beside it."""
    conf = settings(config)
    if olympiad is None or olympiad.empty:
        return pd.DataFrame(columns=COLUMNS)
    o = olympiad.assign(school_id=olympiad["school_id"].astype(str), student_code=olympiad["student_code"].astype(str))
    key = ["year", "student_code", "subject"]
    school = o[(o["stage"] == "школьный") & o["status"].isin(AWARD)][key + ["school_id"]].drop_duplicates(key)
    muni = o[o["stage"] == "муниципальный"][key + ["status"]].drop_duplicates(key)
    m = school.merge(muni, on=key, how="inner")
    if m.empty:
        return pd.DataFrame(columns=COLUMNS)
    m["won"] = m["status"].isin(AWARD).astype(int)
    g = m.groupby(["year", "school_id"]).agg(advanced=("won", "size"), awarded=("won", "sum")).reset_index()
    tot = g.groupby("year")[["advanced", "awarded"]].transform("sum")
    others_n = tot["advanced"] - g["advanced"]
    expected = ((tot["awarded"] - g["awarded"]) / others_n.where(others_n > 0)).clip(1e-6, 1 - 1e-6)
    g["share"] = 100.0 * g["awarded"] / g["advanced"]
    g["expected"] = 100.0 * expected
    ok = (g["advanced"] >= int(conf["olympiad_min_n"])) & expected.notna()
    g["p_value"] = np.where(ok, st.binom.cdf(g["awarded"], g["advanced"], expected.fillna(0.5)), np.nan)
    g["flagged"] = pd.array((g["p_value"] < float(conf["olympiad_alpha"])).where(ok, None), dtype="boolean")
    vpr_d = school_standing(vpr, ["year", "grade", "subject"])
    oge = None if gia is None else gia[gia["exam"] == "ОГЭ"]
    oge_d = school_standing(oge, ["year", "subject"])
    g["year"] = g["year"].astype(int)
    g = g.merge(vpr_d.rename(columns={"d": "vpr_d"}), on=["year", "school_id"], how="left")
    g = g.merge(oge_d.rename(columns={"d": "oge_d"}), on=["year", "school_id"], how="left")
    g["text"] = [_text(r, int(conf["olympiad_min_n"]), float(conf["weaker_sd"])) for r in g.itertuples(index=False)]
    return g[COLUMNS].sort_values(["year", "school_id"]).reset_index(drop=True)


def _standing(r, weaker: float) -> str:
    """What the school's ВПР/ОГЭ say about its pupils: weaker (may explain part of the gap) or not."""
    parts = [f"{name} {ru.signed(v, 2)} SD" for name, v in (("ВПР", r.vpr_d), ("ОГЭ", r.oge_d)) if pd.notna(v)]
    if not parts:
        return " Результатов школы в ВПР и ОГЭ этого года в данных нет: сопоставить не с чем."
    low = min(v for v in (r.vpr_d, r.oge_d) if pd.notna(v)) <= -weaker
    said = ", ".join(parts)
    if low:
        return (f" Результаты школы ниже муниципальных ({said}): более слабые ученики могут объяснять часть "
                "разрыва.")
    return f" Результаты школы в ВПР/ОГЭ не ниже муниципальных ({said}): слабостью учеников разрыв, по-видимому, не объясняется."


def _text(r, min_n: int, weaker: float = 0.2) -> str:
    who = (f"из {r.advanced} {ru.plural(r.advanced, 'призёра', 'призёров', 'призёров')} и победителей школьного этапа, "
           f"участвовавших в муниципальном, призёрами или победителями стали {r.awarded} ({ru.number(r.share, 0)} %) "
           f"при {ru.number(r.expected, 0)} % у других школ")
    if r.advanced < min_n:
        return f"Не оценивается: {who}; нужно не менее {min_n} участников."
    if r.flagged is True or (r.flagged is not pd.NA and bool(r.flagged)):
        return (f"Школьный этап, возможно, оценивался мягче муниципального: {who} "
                f"({ru.chance(r.p_value)}). Повод посмотреть на работу жюри школьного этапа, а не вывод о нарушениях."
                + _standing(r, weaker))
    return f"Результаты школьного этапа подтверждаются муниципальным: {who}."
