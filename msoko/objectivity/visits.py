"""Monitoring visits taken in: the «справка по итогу мониторингового визита» (seed 002, item 3) per school and year.

The template ``visits`` has one row per item checked at a visit (протокол проведения ВПР, хранение работ,
проверка работ комиссией, присутствие наблюдателей, …) with its finding — «нарушений нет», «замечания» or
«нарушения» — and a free-text note. :func:`visit_rows` makes one row per school and year (the year of the
visit's date: the plan made on the results of year Y is carried out in Y + 1, so a visit of Y + 1 is
matched with the plan of Y): visits, items checked, items with remarks and with violations (named, with
their notes), the school's worst finding, and the school's tier in the plan of the year before. A plan
school of tier 1 (the plan's visits are for tier 1) with no visit in the data gets a row «визит не
проводился» — the plan said visit, the data say nothing was done.

A visit's finding is about the procedure at the school, never about a pupil's or a teacher's honesty;
the sentences say what was checked and what was found, and that a finding is a reason for the measures
of the plan, not a verdict.
"""
from __future__ import annotations

import pandas as pd

from msoko import ru

FINDINGS = ("нарушений нет", "замечания", "нарушения")
NOT_VISITED = "визит не проводился"
COLUMNS = ["year", "school_id", "visits", "dates", "kinds", "items", "items_remarks", "items_violations", "finding",
           "remarks", "violations", "plan_tier", "text"]


def _date(d) -> str:
    return pd.Timestamp(d).strftime("%d.%m.%Y")


def _listed(x: pd.DataFrame) -> str:
    """«хранение работ (работы хранятся у учителя); …» — items with their notes, in the order of the template."""
    return "; ".join(f"{r.item} ({r.note})" if isinstance(r.note, str) and r.note.strip() else str(r.item)
                     for r in x.itertuples(index=False))


def visit_rows(visits: pd.DataFrame | None, plan: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per school and year with a visit, and per tier-1 plan school of the year before without one."""
    rows = []
    plan = None if plan is None or plan.empty else plan.assign(school_id=plan["school_id"].astype(str))

    def tier(year: int, sid: str):
        if plan is None:
            return None
        t = plan[(plan["year"] == year - 1) & (plan["school_id"] == sid)]["tier"]
        return int(t.min()) if len(t) else None

    seen = set()
    if visits is not None and len(visits):
        v = visits.assign(school_id=visits["school_id"].astype(str), date=pd.to_datetime(visits["date"]))
        v["year"] = v["date"].dt.year
        v["note"] = v["note"] if "note" in v else None
        for (year, sid), x in v.sort_values(["date", "source_row"] if "source_row" in v else ["date"]).groupby(
                ["year", "school_id"], sort=True):
            year = int(year)
            seen.add((year, sid))
            rem = x[x["finding"] == "замечания"]
            vio = x[x["finding"] == "нарушения"]
            worst = "нарушения" if len(vio) else ("замечания" if len(rem) else "нарушений нет")
            dates = sorted(x["date"].unique())
            kinds = list(dict.fromkeys(x.sort_values("date")["visit_kind"].astype(str)))
            r = dict(year=year, school_id=sid, visits=len(dates), dates=", ".join(_date(d) for d in dates),
                     kinds=", ".join(kinds), items=len(x), items_remarks=len(rem), items_violations=len(vio),
                     finding=worst, remarks=_listed(rem), violations=_listed(vio), plan_tier=tier(year, sid))
            r["text"] = _text(r)
            rows.append(r)
    if plan is not None and visits is not None and len(visits):
        years = sorted(set(pd.to_datetime(visits["date"]).dt.year.astype(int)))
        for year in years:
            for sid in sorted(plan.loc[(plan["year"] == year - 1) & (plan["tier"] == 1), "school_id"].unique()):
                if (year, sid) in seen:
                    continue
                r = dict(year=year, school_id=sid, visits=0, dates="", kinds="", items=0, items_remarks=0,
                         items_violations=0, finding=NOT_VISITED, remarks="", violations="", plan_tier=1)
                r["text"] = _text(r)
                rows.append(r)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["plan_tier"] = pd.to_numeric(out["plan_tier"]).astype("Int64")
    for c in ("visits", "items", "items_remarks", "items_violations"):
        out[c] = out[c].astype("int64")
    return out.sort_values(["year", "school_id"]).reset_index(drop=True)


def _text(r: dict) -> str:
    """The справка's sentence: what was checked and found, in words that never accuse."""
    if r["finding"] == NOT_VISITED:
        return (f"Мониторинговый визит планом работы по итогам {r['year'] - 1} года предусмотрен (уровень 1), "
                "справки о визите в данных нет.")
    n = r["items"]
    head = (f"{ru.plural(r['visits'], 'Визит', 'Визиты', 'Визиты')} {r['dates']} ({r['kinds']}): проверено "
            f"{n} {ru.plural(n, 'пункт', 'пункта', 'пунктов')}")
    if r["finding"] == "нарушений нет":
        return head + ", нарушений не выявлено."
    parts = []
    if r["items_violations"]:
        parts.append(f"нарушения по {r['items_violations']} из {n} — {r['violations']}")
    if r["items_remarks"]:
        parts.append(f"замечания по {r['items_remarks']} из {n} — {r['remarks']}")
    tail = (" Это сведения о порядке проведения и проверки работ, а не о добросовестности педагогов: повод обсудить "
            "с руководителем меры плана.")
    return head + "; " + "; ".join(parts) + "." + tail


def visits_of(t: pd.DataFrame | None, year: int, sid: str) -> str:
    """«12.02.2024: замечания» — a school's visits of a year for the year review (empty when none)."""
    if t is None or t.empty:
        return ""
    x = t[(t["year"] == year) & (t["school_id"].astype(str) == sid)]
    out = []
    for r in x.itertuples(index=False):
        if r.finding == NOT_VISITED:
            out.append(NOT_VISITED)
        else:
            what = r.violations if r.finding == "нарушения" else (r.remarks if r.finding == "замечания" else "")
            out.append(f"{r.dates}: {r.finding}" + (f" — {what}" if what else ""))
    return "; ".join(out)


TIER_GROUPS = {1: "уровень 1 плана", 2: "уровень 2 плана", 3: "уровень 3 плана (самоанализ)", 0: "вне плана"}
BY_TIER_COLUMNS = ["year", "group", "title", "visited", "with_violations", "with_findings", "share_findings",
                   "ci_low", "ci_high"]


def visits_by_tier(rows: pd.DataFrame) -> pd.DataFrame:
    """The plan tested against the visits: per year and tier of the plan of the year before (``0`` — not in the
    plan), schools visited, with violations, with remarks or violations, and that share (%) with its Wilson
    interval. Rows «визит не проводился» are not visits and do not count."""
    from msoko.stats import wilson_ci

    v = rows[rows["visits"] > 0] if rows is not None and len(rows) else None
    if v is None or v.empty:
        return pd.DataFrame(columns=BY_TIER_COLUMNS)
    v = v.assign(group=v["plan_tier"].fillna(0).astype(int),
                 vio=v["finding"] == "нарушения", any_=v["finding"].isin(["замечания", "нарушения"]))
    g = v.groupby(["year", "group"]).agg(visited=("school_id", "size"), with_violations=("vio", "sum"),
                                         with_findings=("any_", "sum")).reset_index()
    g["share_findings"] = 100.0 * g["with_findings"] / g["visited"]
    lo, hi = wilson_ci(g["with_findings"], g["visited"])
    g["ci_low"], g["ci_high"] = 100.0 * lo, 100.0 * hi
    g["title"] = g["group"].map(TIER_GROUPS)
    g["order"] = g["group"].replace({0: 9})
    for c in ("visited", "with_violations", "with_findings"):
        g[c] = g[c].astype("int64")
    return g.sort_values(["year", "order"])[BY_TIER_COLUMNS].reset_index(drop=True)
