"""Missing is said as missing: compute decides per system (and per named count: ШНОР, ШНСУ, рисковый
профиль, ДОУ) whether it was assessed (``system_status``); the municipal report renders «не оценивалось:
нет данных (…)» and never «в пределах целей» or a count of 0 for what was not assessed."""
from __future__ import annotations

import html
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from msoko.cycle import system_status
from msoko.indicators import load_catalogue


def _vpr(seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for sid in ["A", "B", "C", "D"]:
        for y in (2022, 2023):
            for subj in ("Математика", "Русский язык"):
                marks = rng.choice([2, 3, 4, 5], 25, p=[0.1 + 0.1 * (sid == "A"), 0.4, 0.3, 0.2 - 0.1 * (sid == "A")])
                rows.append(pd.DataFrame({
                    "year": y, "grade": 5, "subject": subj, "school_id": sid,
                    "student_code": [f"{sid}{y}{subj}{k}" for k in range(25)],
                    "journal_mark": pd.array(marks, dtype="Int8"), "sex": "м", "class": "а", "variant": "1",
                    "absent": False, "primary_score": marks * 4.0, "max_score": 20.0,
                    "mark": pd.array(marks, dtype="Int8")}))
    return pd.concat(rows, ignore_index=True)


SCHOOLS = pd.DataFrame({"school_id": ["A", "B", "C", "D"], "name": ["Школа А", "Школа Б", "Школа В", "Школа Г"],
                        "municipality": "Город", "org_type": "СОШ", "settlement_type": "город", "settlement": "x",
                        "students_total": pd.array([None] * 4, dtype="Int32"), "is_preschool": False})


def test_status_by_hand_on_a_small_frame():
    """Municipality rows: system 1 has two of its indicators with values, system 3 none (its note names
    the table); ШНОР assessed (1 of 4), ШНСУ not; one kindergarten in the registry."""
    def row(code, value, num=np.nan, den=np.nan, grade=None):
        return {"year": 2023, "level": "municipality", "school_id": "Город", "indicator": code, "grade": grade,
                "subject": None, "item": None, "value": value, "numerator": num, "denominator": den}
    ind = pd.DataFrame([row("vpr_fail_share", 10.0, 5, 50), row("vpr_quality", 40.0, 20, 50),
                        row("vpr_level_completion", 55.0, grade=5), row("shnor_flag", 25.0, 1, 4),
                        row("olymp_school_participation", np.nan)])
    notes = pd.DataFrame({"indicator": ["olymp_school_participation", "addedu_coverage", "shnsu_flag"],
                          "reason": ["нет данных: таблица «olympiad»", "нет данных: таблица «addedu», таблица "
                                     "«contingent»", "нет данных: таблица «context»"], "system": [3, 3, 2]})
    meta = pd.DataFrame({"school_id": ["A", "d1"], "municipality": "Город", "is_preschool": [False, True]})
    cat = load_catalogue()
    st = system_status(ind, cat, notes, meta).set_index(["system", "topic"])
    n1 = int((cat["system"] == 1).sum())
    s1 = st.loc[(1, "system")]
    assert bool(s1["assessed"]) and s1["indicators_computed"] == 3 and s1["indicators_total"] == n1
    assert s1["text_ru"].startswith(f"оценено по 3 из {n1} показателей; нет данных: ")
    s3 = st.loc[(3, "system")]
    assert not bool(s3["assessed"]) and s3["indicators_computed"] == 0
    # the notes name the tables; indicators without a note fall back to their catalogue sources
    assert s3["text_ru"] == ("не оценивалось: нет данных (шаблоны и выгрузки «Всероссийская олимпиада школьников», "
                             "«Контингент обучающихся», «Дополнительное образование»)")
    assert (st.loc[(2, "shnor"), "count"], st.loc[(2, "shnor"), "of"]) == (1.0, 4.0)
    assert st.loc[(2, "shnor"), "text_ru"] == "ШНОР: 1 из 4"
    assert not bool(st.loc[(2, "shnsu"), "assessed"]) and np.isnan(st.loc[(2, "shnsu"), "count"])
    assert st.loc[(2, "shnsu"), "text_ru"] == "ШНСУ — не оценивалось: нет данных (шаблон или выгрузка «Контекст и факторы риска ОО»)"
    assert bool(st.loc[(8, "preschool"), "assessed"]) and st.loc[(8, "preschool"), "count"] == 1.0
    assert not bool(st.loc[(7, "system"), "assessed"])


@pytest.fixture(scope="module")
def vpr_only(tmp_path_factory):
    """ВПР of four schools, two years, nothing else: compute on it (≈ 10 s)."""
    from msoko.compute import compute

    p = tmp_path_factory.mktemp("vpr_only")
    _vpr().to_parquet(p / "vpr.parquet")
    SCHOOLS.to_parquet(p / "schools.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compute(processed_dir=p, config_path=None)
    return p


def test_compute_writes_the_status(vpr_only):
    st = pd.read_parquet(vpr_only / "system_status.parquet")
    s = st[(st["year"] == 2023) & (st["topic"] == "system")].set_index("system")
    assert bool(s.loc[1, "assessed"]) and not s.loc[[3, 4, 6, 7, 8], "assessed"].any()
    t = st[(st["year"] == 2023) & (st["topic"] != "system")].set_index("topic")
    assert bool(t.loc["shnor", "assessed"]) and t.loc["shnor", "of"] == 4
    assert not t.loc[["shnsu", "risk_profile", "preschool"], "assessed"].any()


def _page(processed) -> str:
    from msoko import report as R
    from msoko.report import municipality as M

    data = R.load(processed)
    year, muni = R.resolve_year(data, None), R.resolve_municipality(data, None)
    parts = [M.show_municipal_summary(data, muni, year), M.show_municipal_conclusions(data, muni, year)]
    parts += [M.show_municipal_system(data, muni, year, s) for s in range(1, 9)]
    page = "".join(p._repr_html_() for p in parts)
    page = re.sub(r"<(svg|style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_municipal_report_says_missing_as_missing(vpr_only):
    text = _page(vpr_only)
    # no system without data is «в пределах целей», no count of what was not assessed
    assert "все показатели системы в пределах целей" not in text
    assert re.search(r"Показателей .*?3\. Способности .*? не оценивалось: нет данных", text)
    assert "к ШНСУ — 0" not in text and "рисковый профиль «500+» — у 0" not in text
    assert not re.search(r"Дошкольных организаций 0\b", text)
    assert "Дошкольных организаций не оценивалось" in text
    for tables in ("«Всероссийская олимпиада школьников», «Дополнительное образование»",
                   "«Профориентация (профминимум)», «Выпускники и их дальнейший путь»", "«Воспитание и профилактика»"):
        assert "не оценивалась: нет данных (шаблоны и выгрузки" in text and tables in text, tables
    assert "Анализ не проводился: система не оценивалась — нет данных." in text
    assert "ШНСУ — не оценивалось: нет данных (шаблон или выгрузка «Контекст и факторы риска ОО»)" in text
    assert ("Организовать сбор данных по системе («Воспитание и профилактика»; шаблоны — папка data/templates или "
            "команда msoko templates)") in text
    # system 1 was assessed, in part: said so, with what is missing
    assert re.search(r"Оценка системы неполная: оценено по \d+ из \d+ показателей; нет данных: шаблон", text)
    # ШНСУ and the risk profile were not assessed: the task names no factors «500+»
    assert "выявленному фактору риска «500+»" not in text
