"""Objectivity signs from ``objectivity.parquet`` (one vocabulary: :data:`msoko.objectivity.SIGNS`),
their evidence in words, the plan of work and the «зоны внимания».
"""
from __future__ import annotations


import pandas as pd

from msoko.vocabulary import SIGNS
from msoko.vocabulary import OFFICIAL_SIGNS
from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR
from msoko.report.fmt import (
    INDEX_SIGN, _value_with_unit, fmt, informativeness, plain, reliability_phrase, subject_phrase,
)
from msoko.report.data import (ReportData, all_loaded_group, names_by_id, school_row, suppress_below,
                               take_rows, year_school_rows)
from msoko.report.indicators import KEY_BREAKDOWN_INDICATORS, indicator_groups


# objectivity
# ======================================================================================

def sign_name(sign: str) -> str:
    """Russian title of a sign, from the objectivity module's catalogue."""
    return plain(str(SIGNS[sign][0])) if sign in SIGNS else str(sign)


def is_official(sign: str) -> bool:
    return sign in OFFICIAL_SIGNS


def plan_counts(data: ReportData, year: int, municipality: str | None = None) -> dict | None:
    """The schools of the plan of work on objectivity as compute counted them (``municipalities_summary``,
    ``plan_*`` columns, msoko.municipalities.plan_by_unit): one municipality's row, or with ``None`` the
    all-loaded row (the only municipality's when one is loaded). None when not computed."""
    s = data.table("municipalities_summary")
    if s.empty or "plan_measures" not in s:
        return None
    d = s[s["year"] == int(year)]
    if municipality is not None:
        d = d[d["municipality"].astype(str) == str(municipality)]
    elif (d["level"] == "all").any():
        d = d[d["level"] == "all"]
    return d.iloc[0].to_dict() if len(d) == 1 else None


PLAN_MEASURES = "Школ с мерами по плану работы (уровни 1–2)"
PLAN_WATCH = "Школ для самоанализа по одной находке (уровень 3)"


def objectivity_index(data: ReportData) -> pd.DataFrame:
    """«Год / Показатель объективности»: the official index per year (100 − % of marked schools, compute's
    row) and, beside it, the schools of the plan of work per tier (compute's counts, :func:`plan_counts`)."""
    o = data.objectivity
    if o.empty:
        return pd.DataFrame()
    idx = o[o["sign"] == INDEX_SIGN].sort_values("year")
    rows = []
    for _, r in idx.iterrows():
        y = int(r["year"])
        assessed = int(r["n"])
        marked = int(round(assessed * (100.0 - float(r["value"])) / 100.0))
        row = {"Год": str(y), "Показатель объективности": fmt(r["value"]),
               "Школ с хотя бы одним признаком": fmt(marked), "Школ оценено": fmt(assessed)}
        pc = plan_counts(data, y)
        if pc is not None:
            row[PLAN_MEASURES] = fmt(int(pc["plan_measures"]))
            row[PLAN_WATCH] = fmt(int(pc["plan_tier3"]))
        rows.append(row)
    return pd.DataFrame(rows)


def flagged_signs(data: ReportData, year: int, school_id: str | None = None, *, official: bool | None = None,
                  include_combined: bool = True) -> pd.DataFrame:
    """Flagged signs of a year (one school or all), sorted by school name, grade, subject. One school's: its rows
    of all the schools' frame (sorted once per load and arguments: the multi-column sort is stable, so a school's
    rows keep the order a sort of its own gave), once per load — a school report asks four times, and a school's
    own filters, names and sort cost ~3 ms. Read it, never modify it."""
    o = data.objectivity
    if o.empty:
        return pd.DataFrame(columns=["year", "school_id", "grade", "subject", "sign", "value", "threshold", "n"])
    if school_id is None:
        return _flagged_signs(data, year, official, include_combined)

    def every():
        d = _flagged_signs(data, year, official, include_combined)
        return d, d.groupby("school_id", sort=False).indices

    def build():
        d, pos = data.memo(("_flagged_all", int(year), official, include_combined), every)
        p = pos.get(str(school_id))
        return (take_rows(d, p) if p is not None else d.iloc[0:0]).reset_index(drop=True)
    return data.memo(("_flagged_signs", int(year), str(school_id), official, include_combined), build)


def _flagged_signs(data: ReportData, year: int, official: bool | None, include_combined: bool) -> pd.DataFrame:
    """Every school's flagged signs of a year (:func:`flagged_signs` without a school)."""
    # the year's flagged rows once per load (a scan of the whole table per call cost ~15 ms), copied: columns are
    # set below
    d = data.memo(("_flagged_year", int(year)), lambda: _flagged_year(data.objectivity, year))[0].copy()
    if official is True:
        d = d[d["sign"].isin(OFFICIAL_SIGNS)]
    elif official is False:
        d = d[~d["sign"].isin(OFFICIAL_SIGNS)]
    if not include_combined:
        d = d[d["sign"] != "combined"]
    d["school_id"] = d["school_id"].astype(str)
    d["_name"] = d["school_id"].map(names_by_id(data)).astype(str)
    return d.sort_values(["_name", "school_id", "grade", "subject", "sign"]).drop(columns="_name").reset_index(drop=True)


def official_sign_works(data: ReportData, year: int, school_id: str) -> set[tuple[int, str]]:
    """(grade, subject) of the school's works with a flagged official sign: those of
    ``flagged_signs(data, year, school_id, official=True)`` with a grade and a subject, without the frame,
    its names and its sorting (~5 ms)."""
    o = data.objectivity
    if o.empty:
        return set()
    base, pos = data.memo(("_flagged_year", int(year)), lambda: _flagged_year(o, year))
    p = pos.get(str(school_id))
    if p is None:
        return set()
    sign, grade, subject = (base[c].to_numpy(dtype=object, na_value=None)[p] for c in ("sign", "grade", "subject"))
    return {(int(g), str(x)) for s, g, x in zip(sign.tolist(), grade.tolist(), subject.tolist())
            if s in OFFICIAL_SIGNS and g is not None and x is not None}


def _flagged_year(o: pd.DataFrame, year: int) -> tuple[pd.DataFrame, dict]:
    """The flagged sign rows of a year (index signs left out) and their positions by school."""
    d = o[(o["year"] == year) & ~o["sign"].astype(str).str.startswith(INDEX_SIGN)
          & o["flagged"].fillna(False).astype(bool)].copy()
    return d, d.groupby(d["school_id"].astype(str), sort=False).indices


def _sign_evidence_text(sign: str, value, threshold) -> str:
    if sign == "inflated_mean":
        return (f"нижняя граница интервала школы {fmt(value)} выше верхней границы интервала сравнения "
                f"{fmt(threshold)}") if pd.notna(value) and pd.notna(threshold) else "интервал школы выше интервала сравнения"
    if sign == "journal_mismatch":
        return f"корреляция Спирмена отметки в журнале и балла ВПР {fmt(value, 2)} (< 0)"
    if sign == "cohort_fall":
        return f"K = {fmt(value, 2)} выше верхней границы {fmt(threshold, 2)} (верхний квартиль + 3 межквартильных размаха)"
    if sign == "cohort_rise":
        return f"K = {fmt(value, 2)} ниже нижней границы {fmt(threshold, 2)} (нижний квартиль − 3 межквартильных размаха)"
    return f"значение {fmt(value, 2)}, порог {fmt(threshold, 2)}"


def _evidence(r) -> str:
    """The numbers behind a sign: the objectivity module's own sentence when it gives one."""
    detail = r.get("detail") if hasattr(r, "get") else None
    if isinstance(detail, str) and detail.strip():
        return plain(detail.strip())
    return plain(_sign_evidence_text(r["sign"], r["value"], r["threshold"]))


def signs_table(data: ReportData, year: int, school_id: str | None = None, *, official: bool | None = None,
                include_combined: bool = True) -> pd.DataFrame:
    """Human table of flagged signs with their evidence and informativeness (sorted by school name)."""
    d = flagged_signs(data, year, school_id, official=official, include_combined=include_combined)
    if d.empty:
        return pd.DataFrame()
    names = names_by_id(data)
    out = pd.DataFrame({
        "Школа": d["school_id"].map(names).fillna(d["school_id"]),
        "Логин": d["school_id"],
        "Класс": d["grade"].map(lambda g: "—" if pd.isna(g) else str(int(g))),
        "Предмет": d["subject"].fillna("—"),
        "Признак": d["sign"].map(sign_name),
        "Чей метод": d["sign"].map(lambda s: "ФИОКО (официальный)" if is_official(s) else "дополнительный"),
        "Свидетельство": [_evidence(r) for _, r in d.iterrows()],
        "Информативность": d["n"].map(informativeness),
    })
    if school_id is not None:
        out = out.drop(columns=["Школа", "Логин"])
    return out


def mean_intervals(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, mean, ci_low, ci_high, n`` of the primary score as the objectivity signs see it (the
    school and the reference of all schools, from compute's ``objectivity_evidence.parquet``), with the
    similar schools' pooled mean from ``indicators.parquet``."""
    iv = cell_evidence(data, school_id, year, grade, subject).get("intervals")
    cols = ["group", "mean", "ci_low", "ci_high", "n"]
    if iv is None or iv.empty:
        return pd.DataFrame(columns=cols)
    names = {"школа": GROUP_SCHOOL, "эталон (все школы)": all_loaded_group(data)
             if data.schools["municipality"].nunique() > 1 else GROUP_MUNI}
    out = iv.assign(group=iv["group"].map(names).fillna(iv["group"]))[cols]
    sim = indicator_groups(data, school_id, year, "vpr_mean_score", grade, subject)
    sim = sim[(sim["group"] == GROUP_SIMILAR) & ~sim["suppressed"] & sim["value"].notna()]
    if len(sim):
        r = sim.iloc[0]
        row = pd.DataFrame([{"group": GROUP_SIMILAR, "mean": r["value"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                             "n": r["n"]}])
        out = pd.concat([out.iloc[:1], row, out.iloc[1:]], ignore_index=True)
    return out.reset_index(drop=True)


def cell_evidence(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> dict:
    """Picture data of one school × work as compute wrote it (``objectivity_evidence.parquet``,
    :func:`msoko.objectivity.picture_evidence`): ``scores`` (score, observed, expected, window, boundary)
    and ``intervals`` (group, mean, ci_low, ci_high, n); ``{}`` for a work compute did not draw."""
    ev = data.memo(("_evidence_by_cell",), lambda: {
        k: g for k, g in data.table("objectivity_evidence").groupby(["year", "school_id", "grade", "subject"])}
        if not data.table("objectivity_evidence").empty else {})
    g = ev.get((int(year), str(school_id), int(grade), str(subject)))
    if g is None:
        return {}
    out = {}
    sc = g[g["kind"] == "scores"]
    if len(sc):
        out["scores"] = sc[["score", "observed", "expected", "window", "boundary"]].astype(
            {"score": "int64", "window": bool, "boundary": bool}).reset_index(drop=True)
    iv = g[g["kind"] == "intervals"]
    if len(iv):
        out["intervals"] = iv[["group", "mean", "ci_low", "ci_high", "n"]].astype({"n": "int64"}).reset_index(drop=True)
    return out


def bunching_data(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``score, count, expected``: the school's score counts and what the bunching sign's own model
    (the smooth counterfactual, ``objectivity_evidence.parquet``) expects for them."""
    sc = cell_evidence(data, school_id, year, grade, subject).get("scores")
    if sc is None or sc.empty:
        return pd.DataFrame(columns=["score", "count", "expected"])
    return sc.rename(columns={"observed": "count"})[["score", "count", "expected"]].reset_index(drop=True)


def _cohort_rows(data: ReportData, year: int, subject: str) -> pd.DataFrame:
    """Every school's rows of compute's ``objectivity_cohort.parquet`` for one year and subject (the whole
    table whatever slice is loaded: it is the reference the school is drawn against)."""
    c = data.table("objectivity_cohort")
    if c.empty:
        return c
    return c[(c["year"] == year) & (c["subject"] == subject)]


def cohort_k_data(data: ReportData, year: int, subject: str) -> pd.DataFrame:
    """``school_id, k, flagged`` of every school for the cohort sign (grade 4 in Y−1 → grade 5 in Y), from
    compute's ``objectivity_cohort.parquet``."""
    d = _cohort_rows(data, year, subject)
    if d.empty:
        return pd.DataFrame(columns=["school_id", "k", "flagged"])
    return d[["school_id", "k", "flagged"]].astype({"school_id": str, "flagged": bool}) \
        .sort_values("school_id").reset_index(drop=True)


def cohort_fences(data: ReportData, year: int, subject: str) -> tuple[float, float] | None:
    """The outlier fences (low: «cohort_rise», high: «cohort_fall») of a year and subject, or None."""
    d = _cohort_rows(data, year, subject)
    lo, hi = (d["fence_low"].dropna(), d["fence_high"].dropna()) if not d.empty else ((), ())
    if not len(lo) or not len(hi):
        return None
    return float(lo.iloc[0]), float(hi.iloc[0])


TIER_NAMES = {1: "1 — наблюдатели или перепроверка", 2: "2 — экспертиза КИМ и сопоставление отметок",
              3: "3 — самоанализ по одной находке"}


def plan_rows(data: ReportData, year: int) -> pd.DataFrame:
    """The rows of ``objectivity_plan.parquet`` for a year, ranked by tier and score (compute's order)."""
    p = data.table("objectivity_plan")
    if p.empty:
        return p
    p = p[p["year"] == year].copy()
    p["school_id"] = p["school_id"].astype(str)
    return p.sort_values(["tier", "score", "school_id"], ascending=[True, False, True], kind="stable") \
        .reset_index(drop=True)


def plan_of_work(data: ReportData, year: int) -> pd.DataFrame:
    """The plan of work on objectivity as compute wrote it (``objectivity_plan.parquet``, one definition:
    :mod:`msoko.objectivity.plan`): one row per school, ranked by tier and the strength and persistence
    of the evidence. Columns: Школа, Логин, Уровень, Меры, Основания, Работы, Лет с находками."""
    p = plan_rows(data, year)
    if p.empty:
        return pd.DataFrame()
    names = data.schools.set_index("school_id")["name"]
    return pd.DataFrame({
        "Школа": p["school_id"].map(names).fillna(p["school_id"]),
        "Логин": p["school_id"],
        "Уровень": p["tier"].map(TIER_NAMES),
        "Меры": p["measures"],
        "Основания": p["reasons"].map(plain),
        "Работы": p["works"].replace("", "—"),
        "Лет с находками": p["persistence"].map(lambda v: fmt(int(v)) if int(v) else "—"),
    })


INDEX_TIER_WORDS = {1: "меры: наблюдатели или перепроверка (план работы, уровень 1)",
                    2: "меры: экспертиза КИМ и сопоставление отметок (план работы, уровень 2)",
                    3: "самоанализ: одна находка на уровне школы (план работы, уровень 3)"}
# a school of the plan's notes: flagged signs, no school-level finding — information, not a measure
INDEX_NOTE_WORDS = "находок на уровне школы нет; для сведения — признаки в отдельных работах"
INDEX_NOTE_OFFICIAL_WORDS = "находок на уровне школы нет; для сведения — официальные признаки ФИОКО"


def index_objectivity(processed_dir, year: int) -> dict[str, str]:
    """Per school, its objectivity status in a few words for the runs' index: its tier of the plan of work
    (``objectivity_plan.parquet``; tiers 1–2 measures, tier 3 a self-check on one finding), «находок на
    уровне школы нет; для сведения — …» for a school of the plan's notes (``objectivity_plan_notes``),
    «находок нет» for another assessed school (``objectivity.parquet``: a sign assessed that year);
    schools with none of these are left out (the index says «не рассчитана»)."""
    from pathlib import Path

    processed = Path(processed_dir)
    out: dict[str, str] = {}
    ob = processed / "objectivity.parquet"
    if ob.exists():
        o = pd.read_parquet(ob, columns=["year", "school_id", "flagged"])
        o = o[(o["year"] == year) & o["school_id"].notna() & o["flagged"].notna()]
        out.update({sid: "находок нет" for sid in o["school_id"].astype(str).unique()})
    nt = processed / "objectivity_plan_notes.parquet"
    if nt.exists():
        n = pd.read_parquet(nt, columns=["year", "school_id", "official_only"])
        for sid, off in zip(*(n.loc[n["year"] == year, c] for c in ("school_id", "official_only"))):
            out[str(sid)] = INDEX_NOTE_OFFICIAL_WORDS if bool(off) else INDEX_NOTE_WORDS
    pl = processed / "objectivity_plan.parquet"
    if pl.exists():
        p = pd.read_parquet(pl, columns=["year", "school_id", "tier"])
        for sid, tier in zip(*(p.loc[p["year"] == year, c] for c in ("school_id", "tier"))):
            out[str(sid)] = INDEX_TIER_WORDS[int(tier)]
    return out


def plan_tier(data: ReportData, school_id: str, year: int) -> dict | None:
    """The school's row of the plan of work (tier, measures, reasons, works) or None: the year's plan and its
    schools' first positions once per load (the plan filtered and sorted per school cost ~5 ms)."""
    def plan():
        p = plan_rows(data, year)
        first: dict = {}
        for i, sid in enumerate(p["school_id"].tolist() if not p.empty else []):
            first.setdefault(sid, i)
        return p, first
    p, first = data.memo(("_plan_first", int(year)), plan)
    i = first.get(str(school_id))
    return None if i is None else p.iloc[i].to_dict()


def plan_note(data: ReportData, school_id: str, year: int) -> dict | None:
    """The school's row of the plan's notes (``objectivity_plan_notes``: flagged signs without a
    school-level finding; official_only, reasons) or None."""
    n = data.table("objectivity_plan_notes")
    if n.empty:
        return None
    r = year_school_rows(data, "objectivity_plan_notes", year, school_id)
    return None if r.empty else r.iloc[0].to_dict()


# ======================================================================================
# «зоны внимания»
# ======================================================================================


def attention_zones(data: ReportData, school_id: str, year: int, *, max_items: int = 12) -> list[str]:
    """Plain Russian sentences: what stands out for the school and how sure we are.

    An indicator stands out when the school's 95 % interval lies entirely on the
    worse side of the municipal value (direction from the catalogue). Sentences
    are ordered by informativeness (largest sample first), then the objectivity
    signs follow.
    """
    ind, cat = data.indicators, data.catalogue.set_index("code")
    out: list[tuple[int, str]] = []
    if not ind.empty:
        muni = str(school_row(data, school_id)["municipality"])
        d = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"] == school_id)
                & ~ind["suppressed"].fillna(False).astype(bool) & ind["ci_low"].notna() & ind["ci_high"].notna()]
        m = ind[(ind["year"] == year) & (ind["level"] == "municipality") & (ind["school_id"] == muni)]
        keys = ["indicator", "grade", "subject"]
        d = d.merge(m[keys + ["value"]].rename(columns={"value": "muni"}), on=keys, how="inner")
        d = d[(d["grade"].isna() & d["subject"].isna()) | d["indicator"].isin(KEY_BREAKDOWN_INDICATORS)]
        for _, r in d.iterrows():
            if r["indicator"] not in cat.index or pd.isna(r["muni"]):
                continue
            c = cat.loc[r["indicator"]]
            direction = c["direction"]
            if direction not in ("higher", "lower"):
                continue
            if r["ci_low"] > r["muni"]:
                word = "выше"
            elif r["ci_high"] < r["muni"]:
                word = "ниже"
            else:
                continue
            worse = (word == "ниже") == (direction == "higher")
            if not worse:
                continue
            unit = c["unit"]
            where = subject_phrase(r["subject"], r["grade"])
            name = c["name"] + (f" {where}" if where else "")
            n = int(r["n"]) if pd.notna(r["n"]) else 0
            s = (f"{name} ({_value_with_unit(r['value'], unit)}, 95 % ДИ {fmt(r['ci_low'], 0 if unit == '%' else 1)}–"
                 f"{_value_with_unit(r['ci_high'], unit)}) {word}, чем в муниципалитете "
                 f"({_value_with_unit(r['muni'], unit)}); {reliability_phrase(n)}.")
            out.append((n, s))
    out.sort(key=lambda t: -t[0])
    sentences = [s for _, s in out[:max_items]]
    sig = flagged_signs(data, year, school_id, include_combined=False)
    for _, r in sig.iterrows():
        where = subject_phrase(r["subject"], r["grade"])
        who = "официальный признак ФИОКО" if is_official(r["sign"]) else "дополнительный признак msoko"
        sentences.append(
            f"{where[:1].upper() + where[1:] if where else 'В результатах'} есть {who} «{sign_name(r['sign'])}»: "
            f"{_evidence(r).rstrip('.')}; {informativeness(r['n'], suppress_below(data))}. "
            "Это повод внимательно посмотреть на проведение и проверку работы, а не доказательство нарушений.")
    return sentences


# ======================================================================================
