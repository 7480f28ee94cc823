"""Re-checks of ВПР works (перепроверка) taken in: what they say about a school's work, and about msoko's
own evidence.

A municipal commission re-marks a school's works (as in a city department's plan of work with schools showing signs of
non-objectivity: «перепроверка работ», «справка по итогам перепроверки»). The template ``recheck`` holds one row per pupil and task: the score as first marked
(``score_first``) and as re-checked (``score_recheck``). Per school and work this module computes

- the works re-checked, the share whose mark changed (and lowered), with Wilson intervals;
- the mean change of the primary score per work with its t interval (paired: the same work twice);
- the tasks where the changes concentrate (a task carrying ≥ ``task_share`` of all points changed);
- a verdict in words that never accuse:

  * «подтверждено» — the re-checked scores are clearly lower: the interval of the mean change lies
    below zero and the mean change is at least ``min_mean_change`` primary points;
  * «не подтверждено» — enough works, and the interval rules out a fall of ``min_mean_change`` or more;
  * «не определено» — a change may be there but the interval is too wide to say;
  * «мало работ» — fewer than ``min_works`` works re-checked: no verdict.

:func:`recheck_precision` sets the verdicts against msoko's flags for the same works: of the re-checked
works msoko flagged (by family of evidence), how many the re-check confirmed, and of those not flagged,
how many — msoko's precision measured on the municipality's own data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko import ru
from msoko.stats import mean_ci, wilson_ci

KEY = ["year", "school_id", "grade", "subject"]

DEFAULTS = {"min_works": 10, "min_mean_change": 1.0, "task_share": 0.25}

VERDICTS = {
    "confirmed": "подтверждено",
    "not_confirmed": "не подтверждено",
    "inconclusive": "не определено",
    "too_few": "мало работ",
}

# objectivity signs by the family of evidence they belong to (the precision table's rows)
FAMILIES = {
    "official": ("inflated_mean", "journal_mismatch", "cohort_fall", "cohort_rise"),
    "results": ("inflated_mean_similar", "bunching", "tasks_basic_vs_advanced", "score_swing", "high_not_confirmed",
                "answer_similarity"),
    "marks": ("marks_lower", "marks_higher", "marks_far", "marks_far_below", "marks_unrelated"),
    "combined": ("combined",),
}
FAMILY_TITLES = {"official": "официальные признаки ФИОКО", "results": "доказательства msoko по результатам ВПР",
                 "marks": "доказательства msoko по отметкам за четверть", "combined": "совокупность признаков msoko",
                 "none": "работы без признаков"}


def settings(config: dict | None) -> dict:
    return {**DEFAULTS, **((config or {}).get("recheck") or {})}


def scales_from_vpr(vpr: pd.DataFrame) -> pd.DataFrame:
    """``year, grade, subject, min3, min4, min5`` — the lowest primary score that carried each mark in the
    loaded works (the marks ingest assigned: the export's own where it had them)."""
    v = vpr[vpr["mark"].notna() & vpr["primary_score"].notna()]
    if v.empty:
        return pd.DataFrame(columns=["year", "grade", "subject", "min3", "min4", "min5"])
    lows = v.groupby(["year", "grade", "subject", "mark"], observed=True)["primary_score"].min().unstack("mark")
    out = pd.DataFrame({f"min{m}": lows[m] if m in lows else np.nan for m in (3, 4, 5)}, index=lows.index)
    return out.reset_index()


def _marks(score: np.ndarray, scale: pd.Series | None) -> np.ndarray:
    if scale is None or scale[["min3", "min4", "min5"]].isna().any():
        return np.full(len(score), np.nan)
    return np.where(score >= scale["min5"], 5, np.where(score >= scale["min4"], 4,
                    np.where(score >= scale["min3"], 3, 2))).astype(float)


def recheck_works(recheck: pd.DataFrame, scales: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per re-checked work: ``year, school_id, grade, subject, participant, first, rechecked,
    change, mark_first, mark_recheck``."""
    r = recheck.assign(score_first=pd.to_numeric(recheck["score_first"], errors="coerce").fillna(0.0),
                       score_recheck=pd.to_numeric(recheck["score_recheck"], errors="coerce").fillna(0.0))
    w = r.groupby(KEY + ["participant"], observed=True, sort=True).agg(
        first=("score_first", "sum"), rechecked=("score_recheck", "sum")).reset_index()
    w["change"] = w["rechecked"] - w["first"]
    w["mark_first"] = np.nan
    w["mark_recheck"] = np.nan
    if scales is not None and len(scales):
        sc = scales.set_index(["year", "grade", "subject"])
        for key, idx in w.groupby(["year", "grade", "subject"], observed=True).groups.items():
            s = sc.loc[key] if key in sc.index else None
            w.loc[idx, "mark_first"] = _marks(w.loc[idx, "first"].to_numpy(float), s)
            w.loc[idx, "mark_recheck"] = _marks(w.loc[idx, "rechecked"].to_numpy(float), s)
    return w


def _concentrated(r: pd.DataFrame, share: float, works: int) -> str:
    """Tasks carrying at least ``share`` of all points changed in the work (by absolute change); none when
    fewer than half a point per work changed at all (a few points here and there concentrate nowhere)."""
    d = (pd.to_numeric(r["score_recheck"], errors="coerce").fillna(0) - pd.to_numeric(r["score_first"], errors="coerce")
         .fillna(0)).abs()
    total = float(d.sum())
    if total <= 0 or total < 0.5 * works:
        return ""
    by = d.groupby(r["task"].astype(str)).sum() / total
    by = by[by >= share].sort_values(ascending=False)
    return ", ".join(by.index)


def recheck_summary(recheck: pd.DataFrame, scales: pd.DataFrame | None = None, config: dict | None = None
                    ) -> pd.DataFrame:
    """Per school and work: the re-check in numbers and a verdict (see the module docstring)."""
    conf = settings(config)
    cols = KEY + ["works", "mean_first", "mean_change", "ci_low", "ci_high", "marks_changed", "marks_lowered",
                  "marks_changed_share", "marks_changed_ci_low", "marks_changed_ci_high", "tasks", "checker",
                  "verdict", "text"]
    if recheck is None or recheck.empty:
        return pd.DataFrame(columns=cols)
    works = recheck_works(recheck, scales)
    # each school × work's own rows of the re-check, found once (not by comparing every row for each work)
    own = recheck.groupby(KEY, observed=True, sort=False).indices
    used = recheck[[c for c in ("score_first", "score_recheck", "task", "checker") if c in recheck.columns]]
    none = np.zeros(0, dtype=np.int64)
    rows = []
    for key, w in works.groupby(KEY, observed=True, sort=True):
        n = len(w)
        d = w["change"].to_numpy(float)
        mean, lo, hi = mean_ci(d.sum(), (d ** 2).sum(), n)
        mean, lo, hi = float(mean), float(lo), float(hi)
        if n >= 2 and not np.isfinite(lo):  # no spread at all: every work changed by the same amount
            lo = hi = mean
        known = w["mark_first"].notna() & w["mark_recheck"].notna()
        changed = int((w.loc[known, "mark_first"] != w.loc[known, "mark_recheck"]).sum())
        lowered = int((w.loc[known, "mark_recheck"] < w.loc[known, "mark_first"]).sum())
        k = int(known.sum())
        clo, chi = wilson_ci(changed, k) if k else (np.nan, np.nan)
        sub = used.iloc[own.get(key, none)]
        checker = "; ".join(sorted({str(c) for c in sub.get("checker", pd.Series(dtype=object)).dropna()}))
        verdict = _verdict(n, mean, lo, hi, conf)
        rows.append(dict(zip(KEY, key), works=n, mean_first=float(w["first"].mean()), mean_change=mean,
                         ci_low=lo, ci_high=hi, marks_changed=changed, marks_lowered=lowered,
                         marks_changed_share=100.0 * changed / k if k else np.nan,
                         marks_changed_ci_low=round(float(np.asarray(clo)) * 100, 6) if k else np.nan,
                         marks_changed_ci_high=round(float(np.asarray(chi)) * 100, 6) if k else np.nan,
                         tasks=_concentrated(sub, float(conf["task_share"]), n), checker=checker,
                         verdict=VERDICTS[verdict], text=_text(verdict, n, mean, lo, hi, changed, lowered, k, conf)))
    return pd.DataFrame(rows, columns=cols)


def _verdict(n: int, mean: float, lo: float, hi: float, conf: dict) -> str:
    need = float(conf["min_mean_change"])
    if n < int(conf["min_works"]):
        return "too_few"
    if hi < 0 and mean <= -need:
        return "confirmed"
    if lo > -need:
        return "not_confirmed"
    return "inconclusive"


def _num(x: float, digits: int = 1) -> str:
    return ru.number(float(x), digits)


def _text(verdict: str, n: int, mean: float, lo: float, hi: float, changed: int, lowered: int, k: int,
          conf: dict) -> str:
    works = f"{n} {ru.plural(n, 'работа', 'работы', 'работ')}"
    change = (f"средний первичный балл при перепроверке изменился на {_num(mean)} "
              f"(95 % интервал {_num(lo)}…{_num(hi)})")
    marks = (f"; отметка изменилась в {changed} из {k}, из них понижена в {lowered}" if k else "")
    if verdict == "too_few":
        return (f"Перепроверено {works} — меньше {int(conf['min_works'])}: вывод не делается; {change}{marks}.")
    if verdict == "confirmed":
        return (f"Перепроверено {works}: {change}{marks}. Результаты перепроверки согласуются с признаками "
                f"завышения оценивания: рекомендуется обсудить критерии проверки со школой.")
    if verdict == "not_confirmed":
        return (f"Перепроверено {works}: {change}{marks}. Перепроверка не подтвердила завышения оценивания: "
                f"снижение на {_num(float(conf['min_mean_change']))} балла и более исключается интервалом.")
    return (f"Перепроверено {works}: {change}{marks}. Вывод сделать нельзя: интервал слишком широк; "
            f"при необходимости перепроверку можно расширить.")


def families_of(objectivity: pd.DataFrame) -> pd.DataFrame:
    """``year, school_id, grade, subject, family`` of every flagged work (a work may be in several families)."""
    if objectivity is None or objectivity.empty:
        return pd.DataFrame(columns=KEY + ["family"])
    o = objectivity[objectivity["flagged"].fillna(False).astype(bool) & objectivity["grade"].notna()]
    fam = {s: f for f, signs in FAMILIES.items() for s in signs}
    o = o.assign(family=o["sign"].map(fam)).dropna(subset=["family"])
    o = o.assign(school_id=o["school_id"].astype(str), grade=o["grade"].astype(int))
    return o[KEY + ["family"]].drop_duplicates().reset_index(drop=True)


def recheck_precision(summary: pd.DataFrame, objectivity: pd.DataFrame | None,
                      visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """``year, family, title, works_rechecked, with_verdict, confirmed, share_confirmed, ci_low, ci_high`` and
    ``schools_visited, visits_findings, visits_violations, share_visits_findings, visits_ci_low, visits_ci_high``.

    Re-checks: of the re-checked works of the year flagged by each family (and of those flagged by none), how
    many the re-check confirmed. Works with too few re-checked papers («мало работ») count in
    ``works_rechecked`` only.

    Monitoring visits (``visits``: the rows of :func:`msoko.objectivity.visits.visit_rows`; school-years with
    no visit do not count): the plan made on the results of year Y − 1 is carried out in Y, so a visit of year
    Y is set against the flags of Y − 1 — of the schools visited in Y with a work flagged by the family in
    Y − 1 (and of those with no flagged work), how many visits found remarks or violations, and violations.
    Shares in %, Wilson intervals."""
    cols = ["year", "family", "title", "works_rechecked", "with_verdict", "confirmed", "share_confirmed",
            "ci_low", "ci_high"] + VISIT_COLUMNS
    s = (summary.assign(school_id=summary["school_id"].astype(str), grade=summary["grade"].astype(int))
         if summary is not None and not summary.empty else pd.DataFrame(columns=KEY + ["verdict"]))
    v = visits[visits["visits"] > 0].assign(school_id=lambda d: d["school_id"].astype(str)) \
        if visits is not None and len(visits) else pd.DataFrame(columns=["year", "school_id", "finding"])
    years = sorted({int(y) for y in s["year"]} | {int(y) for y in v["year"]})
    if not years:
        return pd.DataFrame(columns=cols)
    fam = families_of(objectivity)
    rows = []
    for year in years:
        sy = s[s["year"] == year]
        f = fam[fam["year"] == year]
        flagged_keys = set(map(tuple, f[KEY].itertuples(index=False, name=None)))
        vy = v[v["year"] == year]
        before = fam[fam["year"] == year - 1]
        for family in list(FAMILIES) + ["none"]:
            if family == "none":
                keys = {k for k in map(tuple, sy[KEY].itertuples(index=False, name=None)) if k not in flagged_keys}
                vis = vy[~vy["school_id"].isin(set(before["school_id"]))]
            else:
                keys = set(map(tuple, f.loc[f["family"] == family, KEY].itertuples(index=False, name=None)))
                vis = vy[vy["school_id"].isin(set(before.loc[before["family"] == family, "school_id"]))]
            part = sy.loc[np.array([k in keys for k in map(tuple, sy[KEY].itertuples(index=False, name=None))],
                                   dtype=bool)]
            if part.empty and vis.empty:
                continue
            judged = part[part["verdict"] != VERDICTS["too_few"]]
            conf = int((judged["verdict"] == VERDICTS["confirmed"]).sum())
            m = len(judged)
            lo, hi = wilson_ci(conf, m) if m else (np.nan, np.nan)
            rows.append(dict(year=int(year), family=family, title=FAMILY_TITLES[family], works_rechecked=len(part),
                             with_verdict=m, confirmed=conf, share_confirmed=100.0 * conf / m if m else np.nan,
                             ci_low=round(float(np.asarray(lo)) * 100, 6) if m else np.nan,
                             ci_high=round(float(np.asarray(hi)) * 100, 6) if m else np.nan,
                             **_visit_share(vis)))
    return pd.DataFrame(rows, columns=cols)


VISIT_COLUMNS = ["schools_visited", "visits_findings", "visits_violations", "share_visits_findings",
                 "visits_ci_low", "visits_ci_high"]


def _visit_share(vis: pd.DataFrame) -> dict:
    """Schools visited, with remarks or violations, with violations; the share with findings (%) and its
    Wilson interval (NaN without visits)."""
    n = len(vis)
    k = int(vis["finding"].isin(["замечания", "нарушения"]).sum())
    lo, hi = wilson_ci(k, n) if n else (np.nan, np.nan)
    return dict(schools_visited=n, visits_findings=k, visits_violations=int((vis["finding"] == "нарушения").sum()),
                share_visits_findings=100.0 * k / n if n else np.nan,
                visits_ci_low=round(float(np.asarray(lo)) * 100, 6) if n else np.nan,
                visits_ci_high=round(float(np.asarray(hi)) * 100, 6) if n else np.nan)
