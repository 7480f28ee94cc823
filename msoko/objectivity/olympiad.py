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
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from msoko import ru

AWARD = ("призёр", "победитель")
DEFAULTS = {"olympiad_min_n": 10, "olympiad_alpha": 0.01}
COLUMNS = ["year", "school_id", "advanced", "awarded", "share", "expected", "p_value", "flagged", "text"]


def settings(config: dict | None) -> dict:
    return {**DEFAULTS, **((config or {}).get("olympiad_objectivity") or {})}


def olympiad_rows(olympiad: pd.DataFrame | None, config: dict | None = None) -> pd.DataFrame:
    """One row per school and year with school-stage awardees at the municipal stage (see the docstring)."""
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
    g["text"] = [_text(r, int(conf["olympiad_min_n"])) for r in g.itertuples(index=False)]
    return g[COLUMNS].sort_values(["year", "school_id"]).reset_index(drop=True)


def _text(r, min_n: int) -> str:
    who = (f"из {r.advanced} {ru.plural(r.advanced, 'призёра', 'призёров', 'призёров')} и победителей школьного этапа, "
           f"участвовавших в муниципальном, призёрами или победителями стали {r.awarded} ({ru.number(r.share, 0)} %) "
           f"при {ru.number(r.expected, 0)} % у других школ")
    if r.advanced < min_n:
        return f"Не оценивается: {who}; нужно не менее {min_n} участников."
    if r.flagged is True or (r.flagged is not pd.NA and bool(r.flagged)):
        return (f"Школьный этап, возможно, оценивался мягче муниципального: {who} "
                f"({ru.chance(r.p_value)}). Повод посмотреть на работу жюри школьного этапа, а не вывод о нарушениях.")
    return f"Результаты школьного этапа подтверждаются муниципальным: {who}."
