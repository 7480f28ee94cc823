"""The ФИС ОКО views of one ВПР (marks, scores, tasks, levels, journal), ГИА and МКДО tables.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import pandas as pd

from msoko.report.fmt import GROUP_MUNI, GROUP_REGION, GROUP_SCHOOL, GROUP_SIMILAR
from msoko.report.fmt import fmt, informativeness
from msoko.report.data import ReportData, school_row, suppress_below
from msoko.report.section import TextTable
from msoko.report.indicators import _cell_key, _groups, _indicator_rows, _row_index, indicator_groups


# ФИС ОКО views of one ВПР
# ======================================================================================

def _vpr_cell(data: ReportData, year: int, grade: int, subject: str) -> pd.DataFrame:
    def build():
        v = data.vpr_year(year)
        return v[(v["grade"] == grade) & (v["subject"] == subject)] if not v.empty else v

    return data.memo(("_cell", int(year), int(grade), str(subject)), build)


def _group_rows(data: ReportData, key: tuple, frame: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """Rows of ``frame`` (identified by ``key``) that belong to the schools ``ids``.

    Memoised in the loaded data: the municipality and similar-schools groups are the same for
    many reports of a run, and a school's own rows come from one index of the frame."""
    ids = list(ids)
    if len(ids) == 1:
        pos = data.memo(("_group_pos", key), lambda: frame.groupby("school_id", sort=False, observed=True).indices)
        p = pos.get(ids[0])
        return data.memo(("_group_rows", key, ids[0]), lambda: frame.iloc[p] if p is not None else frame.iloc[0:0])
    return data.memo(("_group_rows", key, tuple(ids)), lambda: frame[frame["school_id"].isin(ids)])


def _work(data: ReportData, year: int, grade: int, subject: str) -> dict:
    """The work's row of ``vpr_works.parquet`` (compute, :mod:`msoko.vpr_views`), ``{}`` when absent."""
    def build():
        w = data.table("vpr_works")
        return {} if w.empty else {(int(r["year"]), int(r["grade"]), str(r["subject"])): r
                                   for r in w.to_dict("records")}

    return data.memo(("_vpr_works",), build).get((int(year), int(grade), str(subject)), {})


def mark_boundaries(data: ReportData, year: int, grade: int, subject: str) -> dict[int, float]:
    """Lowest primary score of each mark «3»–«5» as seen in the export (marks are data, not code)."""
    w = _work(data, year, grade, subject)
    return {m: float(w[f"mark{m}_min"]) for m in (3, 4, 5) if w and pd.notna(w.get(f"mark{m}_min"))}


def max_score(data: ReportData, year: int, grade: int, subject: str) -> float | None:
    """The work's maximum primary score (declared in the export, else the highest seen)."""
    w = _work(data, year, grade, subject)
    return float(w["max_score"]) if w and pd.notna(w.get("max_score")) else None


MARK_SHARES = {2: "vpr_fail_share", 3: "vpr_mark3_share", 4: "vpr_mark4_share", 5: "vpr_mark5_share"}
JOURNAL_SHARES = {"Понизили": "vpr_journal_lower", "Подтвердили": "vpr_journal_confirm",
                  "Повысили": "vpr_journal_higher"}


def _shares(data: ReportData, school_id: str, year: int, grade: int, subject: str, codes: dict,
            column: str) -> pd.DataFrame:
    """``group, <column>, share (%), n`` from ``indicators.parquet``: one row per group and category
    (``codes``: category → indicator); groups under 5 participants left out."""
    return pd.DataFrame(share_records(data, school_id, year, grade, subject, codes, column),
                        columns=["group", column, "share", "n"])


def share_records(data: ReportData, school_id: str, year: int, grade: int, subject: str, codes: dict,
                  column: str) -> list[dict]:
    """The rows of :func:`_shares` as dicts (a report joins the works' rows into one frame)."""
    out = [{"group": r["group"], column: cat, "share": float(r["value"]), "n": r["n"]}
           for cat, code in codes.items() for r in _groups(data, school_id, year, code, grade, subject)
           if not r["suppressed"] and pd.notna(r["value"])]
    order = {grp: i for i, grp in enumerate((GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI, GROUP_REGION))}
    out.sort(key=lambda r: order.get(r["group"], 9))  # stable: categories keep their order
    return out


def marks_distribution(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, mark, share (%), n`` — the shares of marks «2»–«5» (``indicators.parquet``)."""
    return _shares(data, school_id, year, grade, subject, MARK_SHARES, "mark")


def score_distribution(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, score, share (%), n`` over whole primary scores 0…maximum; the school plus the
    municipality (``vpr_score_counts.parquet``); a group under 5 participants left out."""
    cols = ["group", "score", "share", "n"]
    counts = data.table("vpr_score_counts")
    top = max_score(data, year, grade, subject)
    if counts.empty or top is None:
        return pd.DataFrame(columns=cols)
    muni = str(school_row(data, school_id)["municipality"])
    scores = np.arange(0, int(top) + 1)
    groups, shares, ns = [], [], []
    for g, level, unit in ((GROUP_SCHOOL, "school", str(school_id)), (GROUP_MUNI, "municipality", muni)):
        hit = _score_counts(data, counts, (int(year), level, unit, int(grade), str(subject)))
        if hit is None or hit[1] < suppress_below(data):
            continue
        by_score, n = hit
        # the counts reindexed on 0…maximum (a score outside left out, a score not seen counts 0)
        c = np.array([by_score.get(k, 0) for k in scores.tolist()], dtype=np.int64)
        groups.append(g)
        shares.append(100 * c / n)
        ns.append(n)
    if not groups:
        return pd.DataFrame(columns=cols)
    k = len(scores)
    return pd.DataFrame({"group": [g for g in groups for _ in range(k)], "score": np.tile(scores, len(groups)),
                         "share": np.concatenate(shares), "n": np.repeat(np.asarray(ns, dtype=np.int64), k)})


def _score_counts(data: ReportData, counts: pd.DataFrame, key: tuple) -> tuple[dict, int] | None:
    """``({score: count}, n)`` of one group of ``vpr_score_counts`` (``key``: year, level, unit, grade, subject),
    ``n`` its first row's; None when absent. The rows' positions and columns once per load, each group's
    dict once: a frame per group and school, a reindex and a concatenation cost ~3 ms a work."""
    def index():
        pos = counts.groupby(["year", "level", "school_id", "grade", "subject"], sort=False, observed=True).indices
        return {(int(y), str(lv), str(u), int(g), str(sj)): p for (y, lv, u, g, sj), p in pos.items()}, \
            tuple(counts[c].to_numpy() for c in ("score", "count", "n")), {}

    pos, (score, count, n), done = data.memo(("_score_counts",), index)
    if key not in done:
        p = pos.get(key)
        done[key] = None if p is None else (dict(zip(score[p].tolist(), count[p].tolist())), int(n[p[0]]))
    return done[key]


def _item_groups(data: ReportData, school_id: str, year: int, code: str, grade: int, subject: str,
                 column: str) -> pd.DataFrame:
    """``<column>, group, value, n``: the items (tasks, levels) of one indicator for the school, similar
    schools and the municipality, as compute wrote them; a suppressed school shows only the others."""
    parts = _item_parts(data, school_id, year, code, grade, subject)
    if parts is None:
        return pd.DataFrame(columns=[column, "group", "value", "n"])
    items, groups, values, ns = parts
    return pd.DataFrame({column: pd.array(items, dtype=data.indicator_items["item"].dtype), "group": groups,
                         "value": values, "n": ns})


def _item_parts(data: ReportData, school_id: str, year: int, code: str, grade: int, subject: str):
    """The columns of :func:`_item_groups` as ``(items, groups, values, ns)`` (lists, float arrays), or None
    when it is empty: plain arrays, one frame (if any) at the end — a frame per part cost more than the rows."""
    frame = data.indicator_items
    cells = _row_index(data, True)[1] if not frame.empty else {}
    me = cells.get((int(year), str(code), "school", str(school_id), _cell_key(grade), _cell_key(subject)))
    if me is None or not len(me):
        return None
    muni = str(school_row(data, school_id)["municipality"])
    m = cells.get((int(year), str(code), "municipality", muni, _cell_key(grade), _cell_key(subject)))
    m = np.zeros(0, int) if m is None else m
    # the item rows' columns as arrays once per load; positions instead of a frame per part and school
    a = data.memo(("_item_group_arrays",), lambda: {
        "item": frame["item"].to_numpy(dtype=object), "suppressed": frame["suppressed"].fillna(False).to_numpy(bool),
        **{c: frame[c].to_numpy(float) for c in ("value", "n", "similar_value", "similar_n")}})
    sim = ~np.isnan(a["similar_value"][me]) & (a["similar_n"][me] >= suppress_below(data))
    parts = [(me, None if not a["suppressed"][me].any() else np.zeros(len(me), bool), GROUP_SCHOOL, "value", "n"),
             (me, sim, GROUP_SIMILAR, "similar_value", "similar_n"), (m, None, GROUP_MUNI, "value", "n")]
    items, groups, values, ns = [], [], [], []
    for pos, keep, g, v, n in parts:
        if keep is None:
            keep = np.ones(len(pos), bool)
        if not keep.any():
            continue
        items.extend(a["item"][pos][keep].tolist())
        groups.extend([g] * int(keep.sum()))
        values.append(a[v][pos][keep])
        ns.append(a[n][pos][keep])
    if not items:
        return None
    return items, groups, np.concatenate(values), np.concatenate(ns)


def spec_note(data: ReportData, year: int, grade: int, subject: str) -> str | None:
    """Why a work's tasks carry no verdict (``spec_quality.parquet``, decided in compute), or None."""
    def build():   # the first work-level row of each work, once per load (four masks per work cost ~3 ms)
        sq = data.table("spec_quality")
        if sq.empty:
            return {}
        w = sq[sq["task"].isna()]
        out: dict = {}
        for y, g, s, v, r in zip(w["year"].tolist(), w["grade"].tolist(), w["subject"].tolist(),
                                 w["verdict"].tolist(), w["reason"].tolist()):
            out.setdefault((y, g, s), (v, r))
        return out

    first = data.memo(("_spec_note_rows",), build)
    hit = first.get((year, grade, subject))
    if hit is None or hit[0] not in ("misfit", "partial"):
        return None
    reason = str(hit[1])
    return reason[:1].upper() + reason[1:] + " (см. раздел «Качество данных» муниципального отчёта)."


def task_completion(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``task, label, level, group, value (% of max), n`` for the school, similar schools and the
    municipality — compute's ``vpr_task_completion`` rows (a task not done counts as 0); labels and
    levels from the task specification."""
    cols = ["task", "label", "level", "group", "value", "n"]
    res = _item_parts(data, school_id, year, "vpr_task_completion", grade, subject)
    if res is None:
        return pd.DataFrame(columns=cols)

    def work_spec():
        spec = data.task_specs
        spec = spec[(spec["grade"] == grade) & (spec["subject"] == subject)]
        spec = spec.assign(task=spec["task"].astype(str),
                           label=spec["task_label"].astype(str) if "task_label" in spec else spec["task"].astype(str))
        return spec.drop_duplicates("task")[["task", "label", "level"]]

    # the work's specification is the same for every school of a run: its labels and levels by task, once
    def spec_maps():
        spec = data.memo(("_work_spec", int(grade), str(subject)), work_spec)
        return {c: (dict(zip(spec["task"], spec[c])), spec[c].dtype) for c in ("label", "level")}

    maps = data.memo(("_work_spec_maps", int(grade), str(subject)), spec_maps)
    items, group, value, n = res
    task = [str(t) for t in items]
    label = [maps["label"][0].get(t, t) for t in task]
    label = [t if lab is None or (isinstance(lab, float) and np.isnan(lab)) else lab for t, lab in zip(task, label)]
    level = [maps["level"][0].get(t, np.nan) for t in task]
    # school, similar schools, municipality; within each, tasks by their number («3.1» after «3»), then name
    rank = {g: i for i, g in enumerate((GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI))}
    num = [_task_number(t) for t in task]
    order = sorted(range(len(task)), key=lambda i: (rank.get(group[i], 3), math.isnan(num[i]),
                                                   0.0 if math.isnan(num[i]) else num[i], task[i]))
    task_dtype = data.memo(("_item_str_dtype",), lambda: data.indicator_items["item"].iloc[:0].astype(str).dtype)
    return pd.DataFrame({"task": pd.array([task[i] for i in order], dtype=task_dtype),
                         "label": pd.array([label[i] for i in order], dtype=maps["label"][1]),
                         "level": pd.array([level[i] for i in order], dtype=maps["level"][1]),
                         "group": [group[i] for i in order],
                         "value": value[order] if len(order) else value, "n": n[order] if len(order) else n})


_TASK_NUMBER = re.compile(r"^(\d+)")


def _task_number(task: str) -> float:
    m = _TASK_NUMBER.match(task)
    return float(m.group(1)) if m else math.nan


def level_completion(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``level, group, value, n``: completion by difficulty level (Б/П/В) for the school, similar schools and
    the municipality — compute's ``vpr_level_completion`` rows."""
    return _item_groups(data, school_id, year, "vpr_level_completion", grade, subject, "level")


def journal_comparison(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """``group, category, share (%), n`` — понизили / подтвердили / повысили (``indicators.parquet``)."""
    return _shares(data, school_id, year, grade, subject, JOURNAL_SHARES, "category")


SUMMARY_INDICATORS = {"Доля «2»": "vpr_fail_share", "Успеваемость («3»–«5»)": "vpr_success",
                      "Качество («4»–«5»)": "vpr_quality"}


def vpr_summary_table(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """Participants, mean score, успеваемость, качество and the share of «2» per group, with intervals
    — the values of ``indicators.parquet`` for this work."""
    return vpr_summary_text(data, school_id, year, grade, subject).build()


def vpr_summary_text(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> TextTable:
    """:func:`vpr_summary_table` as a :class:`~msoko.report.section.TextTable` (its frame built when read)."""
    rows = _summary_records(data, school_id, year, grade, subject)
    return TextTable.of_records(rows, lambda: filled_frame(rows), fill="—")


def _summary_records(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> list[dict]:
    """The rows of :func:`vpr_summary_table` as dicts (a cell a row lacks: «—»)."""
    mean = {x["group"]: x for x in _groups(data, school_id, year, "vpr_mean_score", grade, subject)}
    shares = {label: {x["group"]: x for x in _groups(data, school_id, year, code, grade, subject)}
              for label, code in SUMMARY_INDICATORS.items()}
    rows = []
    for g, me in mean.items():
        n = me["n"]
        row = {"Группа": g, "Участников": fmt(int(n)) if pd.notna(n) else "—"}
        if me["suppressed"]:
            row["Средний балл"] = f"скрыто (n < {suppress_below(data)})"
            rows.append(row)
            continue
        row["Средний балл"] = fmt(me["value"])
        for label, t in shares.items():
            r = t.get(g)
            if r is None or r["suppressed"] or pd.isna(r["value"]):
                row[label] = "—"
            elif pd.notna(r["ci_low"]):
                row[label] = f"{fmt(r['value'], 0)} % [{fmt(r['ci_low'], 0)}–{fmt(r['ci_high'], 0)}]"
            else:
                row[label] = f"{fmt(r['value'], 0)} %"
        row["Информативность"] = informativeness(n, suppress_below(data)) if pd.notna(n) else "—"
        rows.append(row)
    return rows


def filled_frame(rows: list[dict], fill: str = "—") -> pd.DataFrame:
    """``pd.DataFrame(rows).fillna(fill)`` for rows of text cells: the columns in the order they first
    appear, a cell a row lacks filled (the constructor's record path and ``fillna`` cost ~3 ms a table)."""
    if not rows:
        return pd.DataFrame(rows).fillna(fill)
    cols = list(dict.fromkeys(k for r in rows for k in r))
    return pd.DataFrame({c: [r.get(c, fill) for r in rows] for c in cols})


# ======================================================================================
# ГИА
# ======================================================================================

# grade → exam and its mean: the mark of the ОГЭ, the test score of the ЕГЭ
GIA_EXAMS = {9: ("ОГЭ", "oge_mean_mark"), 11: ("ЕГЭ", "ege_mean_score")}


def gia_table(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """ГИА by exam and subject: participants, the mean (ОГЭ: mark, ЕГЭ: test score) and the share below
    the minimum with its interval — the school beside the municipality, from ``indicators.parquet``."""
    return pd.DataFrame(gia_records(data, school_id, year)).fillna("—")


def gia_text(data: ReportData, school_id: str, year: int) -> TextTable:
    """:func:`gia_table` as a :class:`TextTable` (its rows written as they are, the frame built when read)."""
    rows = gia_records(data, school_id, year)
    return TextTable.of_records(rows, lambda: pd.DataFrame(rows).fillna("—"), fill="—")


def _gia_works(data: ReportData, year: int, school_id: str) -> list:
    """(grade, subject) of the school's ``gia_below_min`` rows of the year (ОГЭ and ЕГЭ grades, a subject), sorted:
    every school's once per load, instead of a filter and a sort of the school's rows per school (~3 ms)."""
    def build() -> dict:
        ind = data.indicators
        d = ind[(ind["indicator"] == "gia_below_min") & (ind["level"] == "school") & ind["grade"].isin(list(GIA_EXAMS))
                & ind["subject"].notna()]
        out: dict = {}
        for y, u, g, s in zip(d["year"].tolist(), d["school_id"].astype(str).tolist(), d["grade"].tolist(),
                              d["subject"].tolist()):
            out.setdefault((y, u), []).append((g, s))
        return {k: sorted(v) for k, v in out.items()}
    if data.indicators.empty:
        return []
    return data.memo(("_gia_works",), build).get((year, str(school_id)), [])


def gia_records(data: ReportData, school_id: str, year: int) -> list[dict]:
    """The rows of :func:`gia_table` (text cells; a cell a row lacks is «—» in the table)."""
    out = []
    for grade, subject in _gia_works(data, year, school_id):
        exam, mean_code = GIA_EXAMS[int(grade)]
        row = {"Экзамен": exam, "Предмет": subject}
        below = {x["group"]: x for x in _groups(data, school_id, year, "gia_below_min", grade, subject)}
        mean = {x["group"]: x for x in _groups(data, school_id, year, mean_code, grade, subject)}
        for grp in (GROUP_SCHOOL, GROUP_MUNI):
            if grp not in below:
                continue
            b = below[grp]
            row[f"{grp}: участников"] = fmt(int(b["n"])) if pd.notna(b["n"]) else "—"
            if b["suppressed"]:
                row[f"{grp}: средний результат"] = f"скрыто (n < {suppress_below(data)})"
                row[f"{grp}: ниже минимума"] = "—"
                continue
            m = mean[grp]["value"] if grp in mean else float("nan")
            row[f"{grp}: средний результат"] = fmt(m) if pd.notna(m) else "—"
            row[f"{grp}: ниже минимума"] = (f"{fmt(b['value'], 0)} % [{fmt(b['ci_low'], 0)}–{fmt(b['ci_high'], 0)}]"
                                           if pd.notna(b["ci_low"]) else f"{fmt(b['value'], 0)} %")
        out.append(row)
    return out


# ======================================================================================
# МКДО
# ======================================================================================

def mkdo_areas(data: ReportData, municipality: str, year: int, dou_id: str | None = None) -> pd.DataFrame:
    """``area, group, score, n`` — the municipality's МКДО score per area (and one kindergarten's when
    given), compute's ``mkdo_area_score`` rows."""
    cols = ["area", "group", "score", "n"]
    parts = []
    if dou_id is not None:
        d = _indicator_rows(data, year, "mkdo_area_score", "school", dou_id, items=True)
        parts.append(pd.DataFrame({"area": d["item"], "group": GROUP_SCHOOL, "score": d["value"], "n": d["n"]}))
    m = _indicator_rows(data, year, "mkdo_area_score", "municipality", municipality, items=True)
    parts.append(pd.DataFrame({"area": m["item"], "group": GROUP_MUNI, "score": m["value"], "n": m["n"]}))
    out = pd.concat(parts, ignore_index=True)
    return out[cols].reset_index(drop=True) if len(out) else pd.DataFrame(columns=cols)
