"""Textbooks (УМК) and the ВПР results by textbook (seed 003 items 3 and 34): the municipal section (every
work folded, the textbooks in use and their results against the municipality) and the school section
(the school's textbooks per work, its result beside the municipality's on the same textbook).

Everything is compute's ``textbook_results.parquet`` (msoko.textbooks): which textbook is compared and how
it stands were decided there; this module selects and formats.
"""
from __future__ import annotations

import pandas as pd

from msoko.report.common import records
from msoko.report.data import ReportData, school_row, suppress_below, year_school_rows
from msoko.report.fmt import count, esc, fmt
from msoko.report.section import Section, TextTable
from msoko.seasons import work_title

CAUTION = ("Школы выбирают учебники сами, поэтому результат учебника — это результат школ, которые его выбрали "
           "(их состава, условий и учителей), а не качество книги. Учебник сравнивается с муниципалитетом, "
           "только если им пользуются не меньше 2 школ и обучающихся не меньше {min_n}; учебник одной школы не "
           "сравнивается — это было бы сравнение этой школы. Интервал (95 %) учитывает разброс обучающихся, "
           "а не школ: обучающиеся одной школы похожи друг на друга, поэтому настоящая неопределённость шире.")
NO_DATA = ("Учебники (УМК) за {year} год не указаны в выгрузках ВПР (столбец «Учебник» есть в выгрузках "
           "ФИС ОКО с 2021 года) — раздел не оценивался: нет данных.")


def _results(data: ReportData) -> pd.DataFrame:
    return data.table("textbook_results")


def _municipal_rows(data: ReportData, level: str, municipality: str, year: int) -> pd.DataFrame:
    """The rows of one level («municipality» or «school») of the municipality's year, in table order, once per
    load: each work filters these instead of the whole region's table."""
    def build() -> pd.DataFrame:
        t = _results(data)
        return t[(t["level"] == level) & (t["municipality"] == municipality) & (t["year"] == year)]
    return data.memo(("_textbook_rows", level, municipality, int(year)), build)


def _works(data: ReportData, level: str, municipality: str, year: int) -> dict:
    """:func:`_municipal_rows` split by work: (grade, subject) → its rows in table order, once per load."""
    def build() -> dict:
        t = _municipal_rows(data, level, municipality, year)
        return dict(tuple(t.groupby(["grade", "subject"], sort=False))) if len(t) else {}
    return data.memo(("_textbook_works", level, municipality, int(year)), build)


def _ci(value, low, high, digits: int = 0) -> str:
    if pd.isna(value):
        return "—"
    if pd.isna(low) or pd.isna(high):
        return fmt(value, digits)
    return f"{fmt(value, digits)} [{fmt(low, digits)}–{fmt(high, digits)}]"


def _verdict(r) -> str:
    if bool(r["compared"]):
        return str(r["vs_municipality"])
    return f"не сравнивается — {r['note']}" if isinstance(r["note"], str) and r["note"] else "не сравнивается"


def municipal_textbook_table(data: ReportData, municipality: str, year: int, grade: int, subject: str) -> pd.DataFrame:
    """One row per textbook of the work in the municipality (the whole work first): schools, pupils, mean % of
    the maximum, «2» and «4»–«5» with intervals, and how it stands against the municipality."""
    t = _results(data)
    if t.empty:
        return pd.DataFrame()
    w = _works(data, "municipality", municipality, year).get((grade, subject))
    if w is None or w.empty:
        return pd.DataFrame()
    recs = records(w.sort_values(["compared", "pupils"], ascending=[False, False], kind="stable"),
                   ["textbook", "schools", "pupils", "mean_pct", "mean_low", "mean_high", "fail_share", "fail_low",
                    "fail_high", "quality_share", "quality_low", "quality_high", "compared", "vs_municipality", "note"])
    ref = w.iloc[0]
    sc = _works(data, "school", municipality, year).get((grade, subject))
    schools = 0 if sc is None else sc["school_id"].nunique()
    rows = [{"Учебник": "Вся работа муниципалитета", "Школ": fmt(int(schools)),
             "Обучающихся": fmt(int(ref["ref_pupils"])), "Средний % от максимума": fmt(ref["ref_mean_pct"], 0),
             "Доля «2», %": fmt(ref["ref_fail_share"], 0), "Доля «4»–«5», %": fmt(ref["ref_quality_share"], 0),
             "Против муниципалитета": ""}]
    for r in recs:
        rows.append({"Учебник": str(r["textbook"]), "Школ": fmt(int(r["schools"])),
                     "Обучающихся": fmt(int(r["pupils"])),
                     "Средний % от максимума": _ci(r["mean_pct"], r["mean_low"], r["mean_high"]),
                     "Доля «2», %": _ci(r["fail_share"], r["fail_low"], r["fail_high"]),
                     "Доля «4»–«5», %": _ci(r["quality_share"], r["quality_low"], r["quality_high"]),
                     "Против муниципалитета": _verdict(r)})
    return pd.DataFrame(rows)


def show_municipal_textbooks(data: ReportData, municipality: str, year: int) -> Section:
    """Textbooks in use and the results by textbook, one folded block per work (seed 003 items 3, 34)."""
    sec = Section()
    t = _results(data)
    m = _municipal_rows(data, "municipality", municipality, year) if not t.empty else t
    if m.empty:
        sec.para(NO_DATA.format(year=year), "msoko-empty")
        return sec
    sec.para(CAUTION.format(min_n=suppress_below(data)), "msoko-note")
    works = m[["grade", "subject"]].drop_duplicates().sort_values(["grade", "subject"])
    comp = m[m["compared"].astype(bool)]
    diff = comp[comp["vs_municipality"].isin(["выше", "ниже"])]
    sec.para(f"Работ с указанными учебниками — {fmt(len(works))}; с муниципалитетом сравниваются "
             f"{count(len(comp), ('пара', 'пары', 'пар'))} «работа — учебник» из {fmt(len(m))}; средний процент "
             "выполнения выше "
             f"муниципального за пределами интервала — {fmt(int((diff['vs_municipality'] == 'выше').sum()))}, "
             f"ниже — {fmt(int((diff['vs_municipality'] == 'ниже').sum()))}.")
    by_work = _works(data, "municipality", municipality, year)
    for g, s in works.itertuples(index=False):
        w = by_work.get((g, s), m.iloc[0:0])
        c = w[w["compared"].astype(bool)]
        up, down = (c["vs_municipality"] == "выше").sum(), (c["vs_municipality"] == "ниже").sum()
        summary = (f"{work_title(year, g, s, data.config)} — {count(len(w), ('учебник', 'учебника', 'учебников'))}, "
                   f"сравниваются {fmt(len(c))}" + (f"; выше муниципалитета: {fmt(int(up))}" if up else "")
                   + (f"; ниже: {fmt(int(down))}" if down else ""))
        sec.html(f"<details class=\"more textbooks\"><summary>{esc(summary)}</summary>")
        sec.table(municipal_textbook_table(data, municipality, year, int(g), str(s)),
                  caption=f"Результаты по учебникам — {s}, {int(g)} класс",
                  note="В квадратных скобках — 95 % доверительный интервал; доли «2» и «4»–«5» — от имеющих отметку; "
                       "«против муниципалитета» — интервал среднего процента выше или ниже среднего всей работы "
                       "муниципалитета либо накрывает его.")
        sec.html("</details>")
    return sec


def school_textbook_table(data: ReportData, school_id: str, year: int) -> pd.DataFrame:
    """One row per work and textbook of the school: its pupils and result beside the municipality's on the same
    textbook (schools, result, comparison) and the municipality's whole work."""
    return pd.DataFrame(_school_textbook_rows(data, school_id, year))


def _municipal_textbooks(data: ReportData, municipality: str, year: int) -> dict:
    """The municipality's rows of a year as records by (grade, subject, textbook), once per load (a frame indexed
    per school and its ``.loc`` per row cost ~5 ms a school)."""
    def build() -> dict:
        m = _municipal_rows(data, "municipality", municipality, year)
        out: dict = {}
        for r in records(m):
            out.setdefault((r["grade"], r["subject"], r["textbook"]), r)
        return out
    return data.memo(("_municipal_textbooks", municipality, int(year)), build)


def _school_textbook_rows(data: ReportData, school_id: str, year: int) -> list[dict]:
    """The rows of :func:`school_textbook_table` (text cells), from the school's rows and the municipality's
    records by textbook."""
    t = _results(data)
    if t.empty:
        return []
    muni = str(school_row(data, school_id)["municipality"])
    s = year_school_rows(data, "textbook_results", year, school_id)
    s = s[s["level"] == "school"]
    if s.empty:
        return []
    m = _municipal_textbooks(data, muni, year)
    rows = []
    for r in records(s.sort_values(["grade", "subject", "pupils"], ascending=[True, True, False], kind="stable")):
        x = m.get((r["grade"], r["subject"], r["textbook"]))
        school = (f"скрыто (меньше {suppress_below(data)})" if pd.isna(r["mean_pct"]) else
                  _ci(r["mean_pct"], r["mean_low"], r["mean_high"]))
        rows.append({"Работа": f"{int(r['grade'])} кл., {r['subject']}", "Учебник": str(r["textbook"]),
                     "Обучающихся школы": fmt(int(r["pupils"])), "Школа: средний % от максимума": school,
                     "Муниципалитет по этому учебнику: школ": fmt(int(x["schools"])) if x is not None else "—",
                     "Муниципалитет по этому учебнику: средний %": (_ci(x["mean_pct"], x["mean_low"], x["mean_high"])
                                                                  if x is not None else "—"),
                     "Учебник против муниципалитета": _verdict(x) if x is not None else "—",
                     "Вся работа муниципалитета: средний %": fmt(r["ref_mean_pct"], 0)})
    return rows


def show_school_textbooks(data: ReportData, school_id: str, year: int) -> Section:
    """Which textbooks the school uses in each work, with its result next to the municipality's for the same
    textbook (folded)."""
    sec = Section()
    t = _results(data)
    if t.empty or year not in data.memo(("_textbook_years",), lambda: set(t["year"].tolist())):
        sec.para(NO_DATA.format(year=year), "msoko-empty")
        return sec
    rows = _school_textbook_rows(data, school_id, year)
    if not rows:
        sec.para(f"Учебники школы за {year} год в выгрузках ВПР не указаны.", "msoko-empty")
        return sec
    tab = TextTable.of_records(rows, lambda: pd.DataFrame(rows))
    works = len({r["Работа"] for r in rows})
    sec.para(CAUTION.format(min_n=suppress_below(data)), "msoko-note")
    sec.html(f"<details class=\"more textbooks\"><summary>Учебники школы и результаты рядом с муниципалитетом "
             f"(работ — {esc(fmt(works))}, пар «работа — учебник» — {esc(fmt(len(rows)))})</summary>")
    sec.table(tab, caption=f"Учебники (УМК) школы и результаты ВПР {year}",
              note="В квадратных скобках — 95 % доверительный интервал. «Муниципалитет по этому учебнику» — все "
                   "обучающиеся муниципалитета по тому же учебнику, включая школу.")
    sec.html("</details>")
    return sec
