"""Small report helpers: the processed_dir a JupyterLab notebook (run in notebooks/) resolves,
and one output per report section."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msoko.report.data import _locate_processed


def test_relative_processed_dir_found_from_a_subfolder(tmp_path, monkeypatch):
    processed = tmp_path / "data" / "processed"
    processed.mkdir(parents=True)
    (processed / "schools.parquet").write_bytes(b"")
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    monkeypatch.chdir(nb_dir)
    assert _locate_processed(Path("data/processed")) == processed


def test_missing_folder_is_returned_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _locate_processed(Path("nowhere/processed")) == Path("nowhere/processed")


def test_tiny_negative_interval_bound_prints_as_zero():
    from msoko.report import fmt

    assert fmt(-1e-17, 0) == "0"
    assert fmt(-0.04, 1) == "0,0"
    assert fmt(-1.5, 1) == "\u22121,5"  # the minus sign, not a hyphen


def test_section_is_one_output_with_its_tables_and_figures():
    """A show_* function returns one Section: shown as one HTML output in the order built, its
    tables kept as DataFrames by caption and its charts by title for an analyst."""
    from msoko.report.section import Section

    df = pd.DataFrame({"a": [1]})
    sec = Section().para("один").table(df, caption="T").html("<p>два</p>")
    sec.figure(type("C", (), {"title": "Рисунок X", "_repr_html_": lambda self: "<svg/>"})())
    html = sec._repr_html_()
    assert html.index("один") < html.index("T") < html.index("<p>два</p>") < html.index("<svg/>")
    assert sec.tables["T"] is df and list(sec.figures) == ["Рисунок X"]
    other = Section().table(df, caption="T")
    sec.extend(other)
    assert list(sec.tables) == ["T", "T (2)"]
    assert "таблиц 2" in repr(sec)


# ---------------------------------------------------------------- Russian numbers and plurals
# every expected string below was worked out by hand from the rules of Russian grammar and typography

@pytest.mark.parametrize("n, expected", [
    (1, "работа"), (2, "работы"), (4, "работы"), (5, "работ"), (11, "работ"), (12, "работ"), (14, "работ"),
    (21, "работа"), (22, "работы"), (25, "работ"), (101, "работа"), (111, "работ"), (0, "работ"),
    (1.2, "работы"), (18.7, "работы"), (0.5, "работы"),
])
def test_plural_forms(n, expected):
    from msoko.report.fmt import plural

    assert plural(n, "работа", "работы", "работ") == expected


def test_count_with_number_and_noun():
    from msoko.report.fmt import count

    assert count(18.7, "балл") == "18,7 балла"
    assert count(1.2, "фактор") == "1,2 фактора"
    assert count(23, "работа") == "23 работы"
    assert count(21, "работа") == "21 работа"
    assert count(5.0, "фактор") == "5 факторов"
    assert count(12_345, "обучающийся") == "12\u202f345 обучающихся"


def test_number_typography():
    from msoko.report.fmt import fmt, fmt_signed

    assert fmt(1000) == "1000"                       # four digits stay whole
    assert fmt(12_345) == "12\u202f345"               # thousands with a thin (narrow no-break) space
    assert fmt(1_234_567.25, 1) == "1\u202f234\u202f567,2"
    assert fmt(-3) == "\u22123" and fmt(-0.25, 2) == "\u22120,25"
    assert fmt_signed(0.4) == "+0,4" and fmt_signed(-0.4) == "\u22120,4" and fmt_signed(0.0) == "0,0"


def test_agreement_inside_a_sentence():
    from msoko.report.fmt import agree

    assert agree("всего 23 работ, 18,7 балл и 1,2 факторов") == "всего 23 работы, 18,7 балла и 1,2 фактора"
    # after a word that governs the genitive: «из 23 работ» (plural), «из 21 работы» (singular)
    assert agree("5 из 23 работ") == "5 из 23 работ"
    assert agree("3 из 21 работ") == "3 из 21 работы"
    assert agree("у 1 работа") == "у 1 работы" and agree("у 5 работа") == "у 5 работ"
    # other prepositions are left as written
    assert agree("в 23 работах") == "в 23 работах"


def test_p_values_and_sd_in_words():
    from msoko.report.fmt import chance, plain, sd_words

    assert chance(1.3e-114) == "случайно такое бывает реже чем в 1 случае из 1\u202f000\u202f000"
    assert chance(0.0004) == "случайно такое бывает реже чем в 1 случае из 1000"
    assert chance(0.004) == "случайно такое бывает реже чем в 1 случае из 100"
    assert chance(0.05) == "случайно такое бывает примерно в 1 случае из 20"
    assert sd_words(0.55) == "0,55 стандартного отклонения"
    assert sd_words(2) == "2 стандартных отклонения" and sd_words(1) == "1 стандартное отклонение"
    s = plain("msoko: расхождение 0,55 SD; p=1.3e-114; разница -2,5 балл")
    assert s == ("расхождение 0,55 стандартного отклонения; случайно такое бывает реже чем в 1 случае из "
                 "1\u202f000\u202f000; разница \u22122,5 балла")


def test_one_informativeness_vocabulary():
    from msoko.report.fmt import informativeness_word

    assert informativeness_word(60) == "информативно"
    assert informativeness_word(25) == "ориентировочно"
    assert informativeness_word(12) == "информативность ограничена"
    assert [informativeness_word(label=x) for x in ("информативна", "минимально", "ограниченно")] == [
        "информативно", "ориентировочно", "информативность ограничена"]


def test_source_names_never_show_code():
    from msoko.report.fmt import source_words

    assert source_words("teachers, contingent") == "кадры, контингент"
    assert source_words("vpr") == "ВПР (ФИС ОКО)"
    assert source_words("some_table") == ""


# ---------------------------------------------------------------- tables written as pandas writes them

_TO_HTML = dict(index=False, escape=True, na_rep="—", border=0, classes="msoko-table")


def test_html_table_is_the_text_pandas_to_html_writes():
    """A report table's HTML is written directly for text and integer columns, and is the same text as
    ``DataFrame.to_html`` (escaping, stripping, double spaces, missing cells, long text); other columns
    (numbers with decimals, mixed cells, line breaks) are left to pandas."""
    from msoko.report.fmt import _html_body, _plain_rows

    plain = [
        pd.DataFrame({"Школа": ["СОШ № 1", None, "a & b <c>"], "n": [1, 2, -3]}),
        pd.DataFrame({"A": ["  с пробелом", "два  пробела", "x" * 120], "Б": ["д", "", "ё"]}),
        pd.DataFrame({"A": pd.array(["x", None, "y"], dtype="str"), "<B>": [np.nan, "&amp;", "z"]}),
    ]
    other = [pd.DataFrame({"A": [1.5, 2.25]}), pd.DataFrame({"A": ["x", 1, None]}), pd.DataFrame({"A": ["a\nb"]}),
             pd.DataFrame({"A": [True, False]})]
    for df in plain + other:
        assert _html_body(df, "msoko-table") == df.to_html(**_TO_HTML)
    assert all(_plain_rows(df) is not None for df in plain)
    assert all(_plain_rows(df) is None for df in other)


def test_every_table_of_a_demo_school_report_is_the_pandas_text(demo_processed, monkeypatch):
    """Each table a whole school report of the demo shows (run in this process) is written as pandas
    wrote it; most of them by the direct paths (text and integer columns, tables written from their rows)."""
    import importlib

    from msoko.runner.inprocess import run_cells

    F = importlib.import_module("msoko.report.fmt")   # msoko.report.fmt is also a function of msoko.report

    seen = []
    body = F._html_body

    def checked(df, classes):
        out = body(df, classes)
        assert out == df.to_html(index=False, escape=True, na_rep="—", border=0, classes=classes)
        seen.append(F._plain_rows(df) is not None)
        return out

    monkeypatch.setattr(F, "_html_body", checked)
    S = importlib.import_module("msoko.report.section")
    text = S.html_text_table

    def checked_text(columns, rows, **kw):   # a table written from its rows (report.section.TextTable)
        out = text(columns, rows, **kw)
        df = pd.DataFrame(rows, columns=columns)
        assert df.to_html(index=False, escape=True, na_rep="—", border=0, classes="msoko-table") in out
        seen.append(True)
        return out

    monkeypatch.setattr(S, "html_text_table", checked_text)
    school = sorted(pd.read_parquet(demo_processed / "vpr.parquet", columns=["school_id"])["school_id"].unique())[0]
    for _ in run_cells("school", {"processed_dir": str(demo_processed), "school_id": school}):
        pass
    assert len(seen) >= 30 and sum(seen) >= 0.8 * len(seen)
