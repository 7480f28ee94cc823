"""The skill each ВПР task checks, named in every task view of the school report, and every work of the school
reachable in its report (the works not shown in detail folded).

The values are compute's: a task's completion by the school, similar schools and the municipality with the
interval, the threshold of its difficulty level and whether the school reached it (``flag``), and the
comparison with the municipality and similar schools (``vs_municipality``, ``vs_similar``) — the
``vpr_task_completion`` rows of ``indicators.parquet``; whether the specification fits the scores is
``spec_quality.parquet`` (no skill verdict where it does not). The skills come from ``task_specs`` through
:func:`msoko.skills.task_skills`.
"""
from __future__ import annotations

import pandas as pd

from msoko.report.data import ReportData, suppress_below
from msoko.report.fmt import esc, fmt, html_para, html_table
from msoko.report.indicators import _item_records
from msoko.report.section import Section, TextTable
from msoko.seasons import work_title
from msoko.skills import task_skills

NO_VERDICT = "не оценивается: спецификация не подходит к баллам выгрузки"
LEVEL_WORD = {"Б": "базовый", "П": "повышенный", "В": "высокий"}


def work_skills(data: ReportData, grade: int, subject: str) -> pd.DataFrame:
    """The work's tasks with their skills (:func:`msoko.skills.task_skills`), the same for every school."""
    def build():
        t = data.memo(("_task_skills",), lambda: task_skills(data.task_specs))
        return t[(t["grade"] == int(grade)) & (t["subject"] == str(subject))].reset_index(drop=True)
    return data.memo(("_work_skills", int(grade), str(subject)), build)


def _withheld(data: ReportData) -> frozenset:
    """(year, grade, subject, task or None) where compute withheld task verdicts, built once per load."""
    def build():
        sq = data.table("spec_quality")
        if sq.empty or "task_verdicts" not in sq:
            return frozenset()
        w = sq[~sq["task_verdicts"].fillna(True).astype(bool)]
        return frozenset((int(y), int(g), str(s), None if pd.isna(t) else str(t))
                         for y, g, s, t in zip(w["year"], w["grade"], w["subject"], w["task"]))
    return data.memo(("_spec_withheld",), build)


def spec_fits(data: ReportData, year: int, grade: int, subject: str, task: str | None = None) -> bool:
    """False when compute withheld task verdicts for the work (or this task): ``spec_quality.task_verdicts``."""
    w = _withheld(data)
    key = (int(year), int(grade), str(subject))
    return (key + (None,)) not in w and (task is None or (key + (str(task),)) not in w)


def _ci(v, lo, hi) -> str:
    if pd.isna(v):
        return "—"
    return f"{fmt(v, 0)} [{fmt(lo, 0)}–{fmt(hi, 0)}]" if pd.notna(lo) and pd.notna(hi) else fmt(v, 0)


def _verdict(r) -> str:
    parts = []
    flag = r.get("flag")
    if pd.notna(flag):
        parts.append("ниже порога" if bool(flag) else "порог достигнут")
    for col, who in (("vs_municipality", "муниципалитета"), ("vs_similar", "похожих школ")):
        v = r.get(col)
        if pd.notna(v) and int(v) != 0:
            parts.append(f"{'ниже' if int(v) < 0 else 'выше'} {who}")
    return "; ".join(parts) if parts else "не отличается"


def skills_table(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """One row per task: its label and level, the skill (short), the school's completion [interval] beside
    similar schools and the municipality, the threshold, and compute's verdict — none where the
    specification does not fit."""
    out = _skills_records(data, school_id, year, grade, subject)
    return pd.DataFrame() if out is None else pd.DataFrame(out)


def _skills_records(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> list[dict] | None:
    """The rows of :func:`skills_table` as dicts (None: neither a specification nor a value)."""
    sk = work_skills(data, grade, subject)
    used = ["item", "value", "ci_low", "ci_high", "suppressed", "similar_value", "municipality_value", "threshold",
            "flag", "vs_municipality", "vs_similar"]
    rows = _item_records(data, year, "vpr_task_completion", "school", school_id, grade, subject, used)
    vals = {str(r["item"]): r for r in rows}
    if sk.empty and not vals:
        return None
    fits = spec_fits(data, year, grade, subject)
    tasks = data.memo(("_work_skill_tasks", int(grade), str(subject)), lambda: list(sk["task"])) if len(sk) \
        else sorted(vals, key=lambda x: (len(x), x))
    # the specification's rows as dicts, once per work (a row lookup per task costs more than the table)
    by_task = data.memo(("_work_skills_by_task", int(grade), str(subject)),
                        lambda: {str(t): r for t, r in zip(sk["task"], sk.to_dict("records"))})
    out = []
    for task in tasks:
        s = by_task.get(str(task))
        r = vals.get(task, {})
        hidden = bool(r.get("suppressed")) if r else True
        row = {"Задание": str(s["label"]) if s is not None else task,
               "Уровень": LEVEL_WORD.get(s["level"], str(s["level"])) if s is not None and isinstance(s["level"], str)
               else "—",
               "Проверяемое умение": str(s["skill_short"]) if s is not None and s["skill_short"] else "не указано в спецификации",
               "Школа, %": (f"скрыто (n < {suppress_below(data)})" if r and hidden else
                            _ci(r.get("value"), r.get("ci_low"), r.get("ci_high")) if r else "—"),
               "Похожие школы, %": fmt(r["similar_value"], 0) if r and pd.notna(r.get("similar_value")) else "—",
               "Муниципалитет, %": fmt(r["municipality_value"], 0) if r and pd.notna(r.get("municipality_value")) else "—",
               "Порог, %": fmt(r["threshold"], 0) if r and pd.notna(r.get("threshold")) else "—"}
        if not fits or not spec_fits(data, year, grade, subject, task):
            row["Вывод"] = NO_VERDICT
        elif not r or hidden or pd.isna(r.get("value")):
            row["Вывод"] = "—"
        else:
            row["Вывод"] = _verdict(r)
        out.append(row)
    return out


def skills_full_table(data: ReportData, grade: int, subject: str) -> pd.DataFrame:
    """The specification's full text per task: the skill, the planned outcome, КЭС and КТ."""
    sk = work_skills(data, grade, subject)
    if sk.empty:
        return pd.DataFrame()
    return pd.DataFrame({"Задание": sk["label"], "Уровень": sk["level"].map(lambda x: LEVEL_WORD.get(x, "—")),
                         "Проверяемое умение": sk["skill"], "Планируемый результат": sk["outcome"],
                         "КЭС": sk["kes"], "КТ": sk["kt"]})


def unformed_skills(table: pd.DataFrame) -> list[str]:
    """«5.1 (Умение исследовать…)» for each task of :func:`skills_table` the school did not reach."""
    if table.empty:
        return []
    # as lists: iterating over Arrow-backed columns cell by cell cost ~1 ms a work
    return [f"{a} ({b})" for a, b, v in zip(table["Задание"].tolist(), table["Проверяемое умение"].tolist(),
                                            table["Вывод"].tolist()) if str(v).startswith("ниже порога")]


def show_work_skills(data: ReportData, school_id: str, year: int, grade: int, subject: str) -> Section:
    """The tasks of one work with the skills they check (short), the school against similar schools and the
    municipality, and the full specification text folded."""
    sec = Section()
    out = _skills_records(data, school_id, year, grade, subject)
    if not out:   # skills_table(...).empty
        sec.para("Спецификация работы не загружена: проверяемые умения не названы.", "msoko-empty")
        return sec
    t = TextTable.of_records(out, lambda: pd.DataFrame(out))   # the frame of skills_table, built when read
    work = f"{subject}, {grade} класс"
    fits = spec_fits(data, year, grade, subject)
    unformed = [f"{r['Задание']} ({r['Проверяемое умение']})" for r in out   # unformed_skills(skills_table(…))
                if str(r["Вывод"]).startswith("ниже порога")]
    if not fits:
        sec.para("Спецификация не подходит к баллам выгрузки: умения названы, вывода о них нет.", "msoko-note")
    elif unformed:
        sec.para(f"Умения, по которым школа не достигла порога ({len(unformed)}): " + "; ".join(unformed) + ".")
    sec.table(t, caption=f"Задания и проверяемые умения — {work}",
              note="«Школа» — % от максимального балла задания, в квадратных скобках — 95 % доверительный интервал; "
                   "порог — порог достаточности уровня сложности; «ниже/выше» — за пределами погрешности.")
    # the same for every school: drawn once per loaded data, shown, not repeated in each school's workbook
    full = data.memo(("_skills_full_html", int(grade), str(subject)), lambda: _full_spec_html(data, grade, subject))
    if full:
        sec.html(full)
    return sec


def _full_spec_html(data: ReportData, grade: int, subject: str) -> str:
    """The folded block with the specification's full text of a work's skills ("" without a specification)."""
    full = skills_full_table(data, grade, subject)
    if full.empty:
        return ""
    work = f"{subject}, {grade} класс"
    return ("<details class=\"more skills\"><summary>Полный текст умений из спецификации "
            f"(планируемые результаты, КЭС, КТ) — {esc(work)}</summary>"
            + html_table(full, caption=f"Спецификация: умения полностью — {work}") + "</details>")


def show_folded_works(data: ReportData, school_id: str, year: int, works, summary_table) -> Section:
    """Every work not shown in detail, each folded: its main figures (``summary_table``, the function of the
    detailed view) and its tasks with the skills — no chart, so the report stays light."""
    sec = Section()
    works = list(works)
    if not works:
        return sec
    sec.html(html_para(f"Остальные работы школы ({len(works)}) — ниже, свёрнуты: основные показатели и задания "
                       "с проверяемыми умениями.", "msoko-note"))
    for grade, subject, n in works:
        sec.html(f"<details class=\"more work\"><summary>{esc(work_title(year, grade, subject, data.config))} — "
                 f"участников {esc(fmt(int(n)))}</summary>")
        if n < suppress_below(data):
            sec.para(f"Участников меньше {suppress_below(data)} — результаты не показываются.", "msoko-empty")
        else:
            sec.table(summary_table(data, school_id, year, grade, subject),
                      caption=f"Основные показатели — {subject}, {grade} класс")
            sec.extend(show_work_skills(data, school_id, year, grade, subject))
        sec.html("</details>")
    return sec
