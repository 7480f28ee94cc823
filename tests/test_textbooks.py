"""Each pupil's textbook kept from the 2021 layout and counted per work."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from msoko.textbooks import textbook_label, textbook_use

HEADER = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
          "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов",
          "балл за 1", "балл за 2", "Учебник", "Др.уч. автор", "Др.уч. название"]
BOOK_A = "Канакина В.П. Русский язык 4 класс"
BOOK_B = "Иванов С.В. Русский язык 4 класс"
ROWS = [  # s1: 3 × A, 1 «другое» naming A word for word; s2: 2 × B, 1 «другое» with its own title, 1 absent, 1 blank
    ["s1", "22", "1", "101", "4", "М", "а", "1", "3", "1", "2", BOOK_A, "", ""],
    ["s1", "22", "2", "102", "4", "Ж", "а", "1", "2", "1", "1", BOOK_A, "", ""],
    ["s1", "22", "3", "103", "5", "М", "а", "2", "1", "1", "0", BOOK_A, "", ""],
    ["s1", "22", "4", "104", "3", "Ж", "а", "2", "0", "0", "0", "другое", "Канакина", BOOK_A],
    ["s2", "22", "1", "201", "4", "М", "б", "1", "3", "1", "2", BOOK_B, "", ""],
    ["s2", "22", "2", "202", "4", "Ж", "б", "1", "3", "1", "2", BOOK_B, "", ""],
    ["s2", "22", "3", "203", "4", "М", "б", "2", "2", "1", "1", "другое", "Петров П.П.", "Своя книга"],
    ["s2", "22", "4", "204", "4", "Ж", "б", "отсутствовал", "", "", "", BOOK_B, "", ""],
    ["s2", "22", "5", "205", "4", "М", "б", "1", "1", "1", "0", "", "", ""],
]


def test_label_rules():
    assert textbook_label(BOOK_A, None, None) == BOOK_A
    assert textbook_label("другое", "Петров П.П.", "Своя книга") == "другое: Своя книга (Петров П.П.)"
    assert textbook_label("другое", "0", None) == "другое"
    assert textbook_label(None, None, None) == "не указан"


def test_textbooks_kept_and_counted(tmp_path: Path):
    from msoko.ingest import ingest

    raw = tmp_path / "raw" / "vpr_results" / "2021" / "4"
    raw.mkdir(parents=True)
    lines = [";".join(HEADER)] + [";".join(r) for r in ROWS]
    (raw / "Проведение работы по русскому языку, 4 класс. ВПР 2021.csv").write_text("\n".join(lines) + "\n",
                                                                                     encoding="utf-8")
    processed = tmp_path / "p"
    ingest(raw_dir=tmp_path / "raw", processed_dir=processed, jobs=1)
    pupils = pd.read_parquet(processed / "vpr_textbooks.parquet")
    assert len(pupils) == 8                                   # the absent pupil wrote nothing
    assert set(pupils["student_code"]) == {"101", "102", "103", "104", "201", "202", "203", "205"}
    assert pupils.loc[pupils["student_code"] == "203", "other_title"].item() == "Своя книга"
    schools = pd.DataFrame({"school_id": ["s1", "s2"], "municipality": ["М", "М"]})
    use = textbook_use(pupils, schools)
    m = use[use["level"] == "municipality"].set_index("textbook")
    assert m["pupils"].to_dict() == {BOOK_A: 4, BOOK_B: 2, "другое: Своя книга (Петров П.П.)": 1, "не указан": 1}
    assert (m["work_pupils"] == 8).all()
    assert m.loc[BOOK_A, "share"] == pytest.approx(50.0)
    s2 = use[(use["level"] == "school") & (use["school_id"] == "s2")].set_index("textbook")
    assert s2.loc[BOOK_B, "pupils"] == 2 and s2.loc[BOOK_B, "share"] == pytest.approx(50.0)   # 2 of 4
    assert use["school_id"].isna().sum() == 4                 # municipality rows carry no school


# --------------------------------------------------------------------------- results by textbook (seed 003 items 3, 34)

def _results_frames():
    """Municipality M, work 2021 / 4 / Русский язык, maximum 10:
    A — s1: 2 (2), 6 (4), 8 (5); s2: 4 (3), 6 (4), 10 (5)     → 2 schools, 6 pupils: compared
    B — s1: 5 (3); s2: 5 (3), 7 (4)                           → 3 pupils < 5: not compared, no values
    C — s3: 1 (2), 1 (2), 2 (2), 3 (3), 3 (3), 0 (no mark)    → one school: not compared
    не указан — s3: 9 (5); s3 also has an absent pupil
    Municipality N: D — s4, s5 ten pupils each at 10/10; E — s4, s5 ten pupils each at 0/10."""
    rows = []   # (school, code, book, score, mark)
    for sid, book, scores in (("s1", "A", [(2, 2), (6, 4), (8, 5)]), ("s2", "A", [(4, 3), (6, 4), (10, 5)]),
                              ("s1", "B", [(5, 3)]), ("s2", "B", [(5, 3), (7, 4)]),
                              ("s3", "C", [(1, 2), (1, 2), (2, 2), (3, 3), (3, 3), (0, None)]),
                              ("s3", None, [(9, 5)])):
        rows += [(sid, book, s, m) for s, m in scores]
    for sid in ("s4", "s5"):
        rows += [(sid, "D", 10, 5)] * 10 + [(sid, "E", 0, 2)] * 10
    vpr = pd.DataFrame([{"year": 2021, "grade": 4, "subject": "Русский язык", "school_id": sid,
                         "student_code": f"{sid}-{i}", "absent": False, "primary_score": float(s), "max_score": 10.0,
                         "mark": m} for i, (sid, _, s, m) in enumerate(rows)])
    vpr = pd.concat([vpr, pd.DataFrame([{"year": 2021, "grade": 4, "subject": "Русский язык", "school_id": "s3",
                                         "student_code": "s3-absent", "absent": True, "primary_score": None,
                                         "max_score": 10.0, "mark": None}])], ignore_index=True)
    vpr["mark"] = vpr["mark"].astype("Int8")
    books = pd.DataFrame([{"year": 2021, "grade": 4, "subject": "Русский язык", "school_id": sid,
                           "student_code": f"{sid}-{i}", "textbook": b, "other_author": None, "other_title": None}
                          for i, (sid, b, _, _) in enumerate(rows)]
                         + [{"year": 2021, "grade": 4, "subject": "Русский язык", "school_id": "s3",
                             "student_code": "s3-absent", "textbook": "C", "other_author": None, "other_title": None}])
    schools = pd.DataFrame({"school_id": ["s1", "s2", "s3", "s4", "s5"], "municipality": ["M", "M", "M", "N", "N"]})
    return vpr, books, schools


def test_textbook_results_by_hand():
    from statsmodels.stats.proportion import proportion_confint

    from msoko.outputs import validate
    from msoko.textbooks import textbook_results

    vpr, books, schools = _results_frames()
    r = validate("textbook_results", textbook_results(vpr, books, schools, suppress_below=5))
    m = r[(r["level"] == "municipality") & (r["municipality"] == "M")].set_index("textbook")
    assert set(m.index) == {"A", "B", "C", "не указан"}
    # the municipality's whole work: 16 pupils wrote (the absent one did not), Σ% = 360 + 170 + 100 + 90 = 720
    assert (m["ref_pupils"] == 16).all() and m["ref_mean_pct"].iloc[0] == pytest.approx(45.0)
    assert m["ref_fail_share"].iloc[0] == pytest.approx(4 / 15 * 100)       # 15 with a mark, 4 «2»
    assert m["ref_quality_share"].iloc[0] == pytest.approx(6 / 15 * 100)
    a = m.loc["A"]
    assert (a["schools"], a["pupils"], a["marked"]) == (2, 6, 6)
    assert a["mean_pct"] == pytest.approx(60.0)                              # (20+60+80+40+60+100) / 6
    # bounded mean interval by hand: p = 0.6, v0 = 0.4/6, v = (6·v0 + 0.24)/7, Wilson at n_eff = 6·0.24/v
    v = (0.4 + 0.24) / 7
    n_eff = 6 * 0.24 / v           # n / (v / pq)
    lo, hi = proportion_confint(0.6 * n_eff, n_eff, method="wilson")
    assert (a["mean_low"], a["mean_high"]) == (pytest.approx(lo * 100), pytest.approx(hi * 100))
    assert a["mean_low"] == pytest.approx(36.26, abs=0.01)
    flo, fhi = proportion_confint(1, 6, method="wilson")
    assert a["fail_share"] == pytest.approx(100 / 6) and a["fail_low"] == pytest.approx(flo * 100)
    assert a["quality_share"] == pytest.approx(400 / 6)
    assert bool(a["compared"]) and a["vs_municipality"] == "не отличается"    # 36,3–79,8 covers 45
    b = m.loc["B"]   # two schools but 3 pupils: a count, no result
    assert not b["compared"] and b["pupils"] == 3 and pd.isna(b["mean_pct"]) and "меньше 5" in b["note"]
    c = m.loc["C"]   # one school: its result is shown but not compared
    assert not c["compared"] and pd.isna(c["vs_municipality"]) and "одной школы" in c["note"]
    assert c["pupils"] == 6 and c["marked"] == 5 and c["mean_pct"] == pytest.approx(100 / 6)
    assert c["fail_share"] == pytest.approx(60.0)
    assert not m.loc["не указан", "compared"]
    # municipality N: D at the top, E at the bottom; all at one end gives Wilson's k = n bound n / (n + z²)
    n = r[(r["level"] == "municipality") & (r["municipality"] == "N")].set_index("textbook")
    z2 = 1.959963984540054 ** 2
    assert n.loc["D", "ref_mean_pct"] == pytest.approx(50.0)
    assert n.loc["D", "mean_low"] == pytest.approx(20 / (20 + z2) * 100)
    assert n.loc["D", "vs_municipality"] == "выше" and n.loc["E", "vs_municipality"] == "ниже"
    # school rows: under 5 pupils a count only; s3's C result is the municipality's C (one school)
    s = r[r["level"] == "school"].set_index(["school_id", "textbook"])
    assert s.loc[("s1", "A"), "pupils"] == 3 and pd.isna(s.loc[("s1", "A"), "mean_pct"])
    assert s.loc[("s3", "C"), "mean_pct"] == pytest.approx(100 / 6) and not s["compared"].any()
    assert s.loc[("s4", "D"), "mean_pct"] == pytest.approx(100.0)


def test_textbook_sections_show_compute_table(tmp_path: Path):
    """The municipal section folds each work with compute's values; the school section puts the school's result
    beside the municipality's on the same textbook; the caution that schools choose textbooks is said."""
    from msoko import report as R
    from msoko.textbooks import textbook_results

    vpr, books, schools = _results_frames()
    schools = schools.assign(name=["Школа 1", "Школа 2", "Школа 3", "Школа 4", "Школа 5"])
    schools.to_parquet(tmp_path / "schools.parquet")
    textbook_results(vpr, books, schools, suppress_below=5).to_parquet(tmp_path / "textbook_results.parquet")
    data = R.load(tmp_path, cache=False)
    sec = R.show_municipal_textbooks(data, "M", 2021)
    html = str(sec)
    assert "Школы выбирают учебники сами" in html and html.count("<details") == 1
    t = sec.tables["Результаты по учебникам — Русский язык, 4 класс"].set_index("Учебник")
    assert t.loc["Вся работа муниципалитета", "Средний % от максимума"] == "45"
    assert t.loc["Вся работа муниципалитета", "Школ"] == "3"
    assert t.loc["A", "Средний % от максимума"] == "60 [36–80]"          # 36,3–79,8 by hand
    assert t.loc["A", "Доля «2», %"] == "17 [3–56]"                      # Wilson 1/6: 3,0–56,4 %
    assert t.loc["A", "Против муниципалитета"] == "не отличается"
    assert t.loc["B", "Средний % от максимума"] == "—" and t.loc["B", "Против муниципалитета"].startswith("не сравнивается")
    assert "одной школы" in t.loc["C", "Против муниципалитета"]
    s = R.show_school_textbooks(data, "s1", 2021).tables["Учебники (УМК) школы и результаты ВПР 2021"]
    s = s.set_index("Учебник")
    assert s.loc["A", "Школа: средний % от максимума"].startswith("скрыто")      # 3 pupils in s1
    assert s.loc["A", "Муниципалитет по этому учебнику: средний %"] == "60 [36–80]"
    assert s.loc["A", "Муниципалитет по этому учебнику: школ"] == "2"
    n = R.show_school_textbooks(data, "s4", 2021).tables["Учебники (УМК) школы и результаты ВПР 2021"].set_index("Учебник")
    assert n.loc["D", "Школа: средний % от максимума"].startswith("100") and n.loc["D", "Учебник против муниципалитета"] == "выше"
    assert "не оценивался: нет данных" in str(R.show_municipal_textbooks(data, "M", 2020))   # no textbooks in 2020
