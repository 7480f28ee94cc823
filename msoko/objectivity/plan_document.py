"""The plan of work as a document, and the year reviewed.

:func:`plan_document` turns the ranked, tiered plan of work (:mod:`msoko.objectivity.plan`) into the
year's plan in the form a УО approves (the Omsk plan: measure, expected result — протокол, справка,
акт —, dates, the responsible, the schools by name). The dates run over the school year after the
results (the plan for results of year Y is carried out from February to December of Y + 1); the
responsible come from configuration (``[objectivity_plan.responsible]``).

:func:`year_review` follows last year's plan schools into this year: which families of evidence
disappeared, persisted or appeared, their tier now, and what the re-checks and observers of this year
said about them — the December review of the plan («управленческое собеседование по итогам реализации
плана»).
"""
from __future__ import annotations

import pandas as pd

from msoko.objectivity.plan import EXPERTISE, FAMILY_WORDS, OBSERVERS, RECHECK, SELF_CHECK

DOC_COLUMNS = ["year", "item", "measure", "result", "dates", "responsible", "schools", "school_ids", "n_schools"]

RESPONSIBLE = {
    "working_group": "Управление образования (председатель рабочей группы)",
    "meetings": "Управление образования",
    "visits": "Методисты ИМЦ",
    "recheck": "Муниципальные предметные комиссии",
    "observers": "Управление образования, ИМЦ",
    "expertise": "Методисты ИМЦ",
    "self_check": "Руководители общеобразовательных организаций",
    "analysis": "Управление образования, ИМЦ",
}


def _names(schools: pd.DataFrame | None, ids: list[str]) -> str:
    if schools is None or schools.empty:
        return ", ".join(ids)
    n = schools.assign(school_id=schools["school_id"].astype(str)).set_index("school_id")["name"]
    return "; ".join(f"{n.get(i, i)} ({i})" for i in ids)


def plan_document(plan: pd.DataFrame, schools: pd.DataFrame | None = None, config: dict | None = None
                  ) -> pd.DataFrame:
    """One row per item of the year's plan (see the module docstring), for every year of ``plan``."""
    resp = {**RESPONSIBLE, **(((config or {}).get("objectivity_plan") or {}).get("responsible") or {})}
    rows = []
    if plan is None or plan.empty:
        return pd.DataFrame(columns=DOC_COLUMNS)
    for year, p in plan.groupby("year", sort=True):
        y = int(year) + 1
        p = p.sort_values(["tier", "score"], ascending=[True, False]) if "score" in p else p.sort_values("tier")
        p = p.assign(school_id=p["school_id"].astype(str))

        def ids(mask) -> list[str]:
            return list(p.loc[mask, "school_id"])

        has = p["measures"].fillna("").str.contains
        heavy = ids(p["tier"] <= 2)
        items = [
            ("Создание рабочей группы по обеспечению объективности процедур оценки качества образования",
             "Протокол совещания рабочей группы (не менее 3)", f"Февраль–декабрь {y}", resp["working_group"], []),
            (f"Совещание с руководителями {len(heavy)} общеобразовательных организаций с признаками необъективности "
             f"(уровни 1–2 плана)", "Протокол совещания с руководителями", f"Февраль {y}", resp["meetings"], heavy),
            ("Мониторинговые визиты", f"Справка по итогу мониторингового визита (не менее {len(ids(p['tier'] == 1))})",
             f"Февраль–март {y}", resp["visits"], ids(p["tier"] == 1)),
            ("Перепроверка работ ВПР с совпадающими ответами", "Справка по итогам перепроверки",
             f"Апрель–май {y}", resp["recheck"], ids(has(RECHECK, regex=False))),
            ("Независимые наблюдатели на ВПР", f"Акт (не менее {len(ids(has(OBSERVERS, regex=False)))})",
             f"Март–май {y}", resp["observers"], ids(has(OBSERVERS, regex=False))),
            ("Экспертиза контрольно-измерительных материалов и сравнительный анализ текущих отметок и результатов "
             "внешних оценочных процедур", "Экспертный лист; аналитическая справка", f"Март {y}", resp["expertise"],
             ids(has(EXPERTISE, regex=False))),
            ("Самоанализ объективности оценивания (без внешних мер)", "Справка организации о самоанализе",
             f"Апрель {y}", resp["self_check"], ids(has(SELF_CHECK, regex=False))),
            ("Анализ итогов реализации плана: признаки этого года у школ плана, итоги перепроверок и наблюдения",
             "Аналитическая справка", f"Ноябрь–декабрь {y}", resp["analysis"], []),
            (f"Управленческое собеседование с руководителями {len(heavy)} организаций по итогам реализации плана",
             "Протокол совещания с руководителями", f"Декабрь {y}", resp["meetings"], heavy),
        ]
        k = 0
        for measure, result, dates, who, sids in items:
            if not sids and ("организаций" in measure or measure.startswith(("Мониторинговые", "Перепроверка",
                                                                               "Независимые", "Экспертиза",
                                                                               "Самоанализ"))):
                continue   # an item for no school is not in the plan
            k += 1
            rows.append(dict(year=int(year), item=k, measure=measure, result=result, dates=dates, responsible=who,
                             schools=_names(schools, sids) if sids else "—", school_ids="; ".join(sids),
                             n_schools=len(sids)))
    return pd.DataFrame(rows, columns=DOC_COLUMNS)


REVIEW_COLUMNS = ["year", "school_id", "tier_before", "tier_now", "families_before", "families_now", "persisted",
                  "disappeared", "appeared", "recheck", "observed", "visits", "outcome"]


def _fams(s) -> set[str]:
    return {f.strip() for f in str(s or "").split(";") if f.strip()}


def _words(fams: set[str]) -> str:
    return "; ".join(FAMILY_WORDS.get(f, f) for f in sorted(fams))


def year_review(plan: pd.DataFrame, recheck: pd.DataFrame | None = None, observed: pd.DataFrame | None = None,
                years=None, visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Last year's plan schools (tiers 1–2 and 3) this year: one row per school and year reviewed. ``years``:
    the years with assessed data (default: the plan's years) — a year with no plan row at all still reviews
    the year before; a year not in the data is not reviewed. ``visits``: compute's ``objectivity_visits``
    (:mod:`msoko.objectivity.visits`), the year's visits and their findings."""
    from msoko.objectivity.visits import visits_of

    if plan is None or plan.empty:
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    plan = plan.assign(school_id=plan["school_id"].astype(str))
    all_years = sorted({int(y) for y in (plan["year"].unique() if years is None else years)})
    rows = []
    for y in all_years:
        before = plan[plan["year"] == y - 1]
        if before.empty:
            continue
        now = plan[plan["year"] == y].set_index("school_id")
        for r in before.itertuples(index=False):
            fb = _fams(r.families)
            has_now = r.school_id in now.index
            fn = _fams(now.loc[r.school_id, "families"]) if has_now else set()
            tier_now = int(now.loc[r.school_id, "tier"]) if has_now else None
            rc = _verdicts(recheck, y, r.school_id)
            ob = _verdicts(observed, y, r.school_id)
            if not has_now:
                outcome = "признаков этого года нет: школа выходит из плана"
            elif fb & fn:
                outcome = f"признаки сохраняются ({_words(fb & fn)}): уровень {tier_now}"
            else:
                outcome = f"прежние признаки не повторились, появились другие ({_words(fn)}): уровень {tier_now}"
            rows.append(dict(year=y, school_id=r.school_id, tier_before=int(r.tier), tier_now=tier_now,
                             families_before=_words(fb), families_now=_words(fn), persisted=_words(fb & fn),
                             disappeared=_words(fb - fn), appeared=_words(fn - fb), recheck=rc, observed=ob,
                             visits=visits_of(visits, y, r.school_id), outcome=outcome))
    out = pd.DataFrame(rows, columns=REVIEW_COLUMNS)
    out["tier_now"] = pd.to_numeric(out["tier_now"]).astype("Int64")
    return out


def _verdicts(t: pd.DataFrame | None, year: int, sid: str) -> str:
    if t is None or t.empty:
        return ""
    x = t[(t["year"] == year) & (t["school_id"].astype(str) == sid)]
    return "; ".join(f"{int(g)} кл., {s}: {v}" for g, s, v in zip(x["grade"], x["subject"], x["verdict"]))
