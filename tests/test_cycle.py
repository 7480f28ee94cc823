"""Management cycle: analysis ordering, recommendation rules, effectiveness of measures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from msoko.config import deep_merge, load_config
from msoko.cycle import analyse, effectiveness, management_cycle, recommend
from msoko.indicators import compute_indicators, load_catalogue

# the small frames' 2020 works are spring ones, comparable with 2021 (by default 2020 is autumn and
# no change «к прошлому году» is made across seasons: tests/test_shnor.py)
CFG = deep_merge(load_config(), {"vpr_seasons": {"2020": "весна"}})
CAT = load_catalogue()


def schools():
    return pd.DataFrame({"school_id": ["A", "B", "C", "D"], "name": ["Школа А", "Школа Б", "Школа В", "Школа Г"],
                         "municipality": "М", "org_type": "СОШ", "settlement_type": "село", "settlement": "x",
                         "students_total": pd.array([None] * 4, dtype="Int32"), "is_preschool": False})


def vpr(school, year, n_fail, n, subject="Математика", grade=6):
    marks = [2] * n_fail + [4] * (n - n_fail)
    return pd.DataFrame({"year": year, "grade": grade, "subject": subject, "school_id": school,
                         "student_code": [f"{school}{year}{subject}{i}" for i in range(n)],
                         "journal_mark": pd.array([None] * n, dtype="Int8"), "sex": "м", "class": "а",
                         "variant": "1", "absent": False, "primary_score": [float(m) for m in marks],
                         "max_score": 20.0, "mark": pd.array(marks, dtype="Int8")})


@pytest.fixture(scope="module")
def result():
    frames = []
    for s, (f20, f21) in {"A": (4, 24), "B": (5, 5), "C": (4, 6), "D": (5, 4)}.items():
        frames += [vpr(s, 2020, f20, 60), vpr(s, 2021, f21, 60), vpr(s, 2021, 1, 60, subject="Русский язык")]
    measures = pd.DataFrame({"year": [2020, 2020], "school_id": ["A", "C"], "system": [1, 1],
                             "indicator": ["vpr_fail_share", "vpr_fail_share"],
                             "measure": ["Методический десант", "Курсы для учителей"], "decision": None,
                             "responsible": None, "target_value": [5.0, 10.0]})
    tables = {"vpr": pd.concat(frames, ignore_index=True), "schools": schools(), "measures": measures}
    return compute_indicators(tables, CFG), measures


def test_weak_school_found_and_ordered_by_certainty(result):
    res, _ = result
    an = analyse(res.indicators, CAT, CFG, meta=res.meta, year=2021)
    a = an[(an["school_id"] == "A") & (an["indicator"] == "vpr_fail_share") & an["subject"].isna()]
    # A: 24/60 = 40 % «2» in maths in 2021: above the municipality, worse than last year (4/60), above target 10 %
    assert {"below_municipality", "below_similar", "worse_trend", "target_miss"} <= set(a["reason"])
    assert (a["certainty"] == "достоверно").all()
    assert a["text_ru"].str.contains("Школа А").all()
    # other schools are not «worse than the municipality» in maths
    others = an[(an["school_id"].isin(["B", "C", "D"])) & (an["reason"] == "below_municipality")]
    assert others.empty
    # within a certainty class rows are ordered by z (shortfall in standard errors), largest first
    sys1 = an[(an["system"] == 1) & (an["certainty"] == "достоверно")]
    assert list(sys1["z"]) == sorted(sys1["z"], reverse=True)
    assert "rank" not in an.columns


def test_recommendation_rule_fires_with_text_and_addressee(result):
    res, _ = result
    cfg = deep_merge(CFG, {"recommendations": [
        {"id": "maths", "system": 1, "addressee": "ШМО математики",
         "text": "{school}: «2» по ВПР ({subject}, {grade} кл.) — {value}",
         "when": [{"indicator": "vpr_fail_share", "op": ">=", "value": 25.0, "breakdown": "any"}]},
        # A: 24/60 = 40 %, Wilson 95 % interval 28,6–52,6 %: it includes 30 → no recommendation
        {"id": "maths30", "system": 1, "addressee": "ШМО математики", "text": "{school}",
         "when": [{"indicator": "vpr_fail_share", "op": ">=", "value": 30.0, "breakdown": "any"}]},
        {"id": "both", "system": 1, "addressee": "УО", "text": "{school}: хуже муниципалитета и похожих школ",
         "when": [{"indicator": "vpr_fail_share", "op": "worse_than_municipality"},
                  {"indicator": "vpr_quality", "op": "<", "value": 90.0}]},
        {"id": "never", "system": 1, "addressee": "УО", "text": "{school}",
         "when": [{"indicator": "vpr_fail_share", "op": ">=", "value": 25.0},
                  {"indicator": "vpr_quality", "op": ">", "value": 99.0}]},
    ]})
    rec = recommend(res.indicators, CAT, cfg, meta=res.meta, year=2021)
    maths = rec[rec["rule"] == "maths"]
    assert list(maths["school_id"]) == ["A"]
    r = maths.iloc[0]
    assert r["action_ru"] == "Школа А: «2» по ВПР (Математика, 6 кл.) — 40,0 %"
    assert r["text_ru"].startswith("Школа А: «2» по ВПР (Математика, 6 кл.) — 40,0 %. Основание: ")
    assert "95 % интервал 28,6–52,6 %, n = 60" in r["text_ru"] and "выше порога 25,0 %" in r["text_ru"]
    assert r["addressee"] == "ШМО математики" and r["certainty"] in ("высокая", "достаточная")
    assert rec[rec["rule"] == "maths30"].empty
    both = rec[rec["rule"] == "both"]
    # A overall: (24+1)/120 = 20.8 % [14,5; 28,9] vs municipality (24+5+6+4+4)/480 = 9.0 %;
    # quality 95/120 = 79.2 % [71,1; 85,5] wholly below 90
    assert list(both["school_id"]) == ["A"]
    assert rec[rec["rule"] == "never"].empty


def test_effectiveness_of_measures(result):
    res, measures = result
    eff = effectiveness(measures, res.indicators, CAT, meta=res.meta).set_index("school_id")
    # A: 4/60 → 25/120 overall (the measure targets the school total)
    a = eff.loc["A"]
    assert a["value_before"] == pytest.approx(400 / 60)
    assert a["value_after"] == pytest.approx(2500 / 120)
    lo, hi = confint_proportions_2indep(25, 120, 4, 60, method="newcomb", compare="diff")
    assert (a["change_ci_low"], a["change_ci_high"]) == pytest.approx((lo * 100, hi * 100))
    assert a["verdict"] == "достоверное ухудшение" and not a["target_reached"]
    # C: 4/60 → 7/120 = 5,8 % [2,9; 11,6]: no proven change; the target 10 % is inside the interval —
    # neither reached nor missed
    c = eff.loc["C"]
    assert c["verdict"] == "изменение не доказано" and pd.isna(c["target_reached"])
    assert "от целевого значения 10,0 % не отличается достоверно" in c["text_ru"]
    assert c["municipality_change"] == pytest.approx((24 + 5 + 6 + 4 + 4) / 480 * 100 - 18 / 240 * 100)
    assert "Курсы для учителей" in c["text_ru"]


def test_effectiveness_without_next_year():
    ind = pd.DataFrame(columns=["year", "level", "school_id", "indicator", "grade", "subject", "item", "value",
                                "numerator", "denominator", "ci_low", "ci_high", "n", "municipality"])
    m = pd.DataFrame({"year": [2023], "school_id": ["A"], "system": [6], "indicator": ["teachers_kpk3"],
                      "measure": ["График КПК"], "decision": None, "responsible": None, "target_value": [np.nan]})
    eff = effectiveness(m, ind, CAT)
    assert eff.iloc[0]["verdict"] == "нет данных" and "нет значения показателя за 2024 год" in eff.iloc[0]["text_ru"]


def test_management_cycle_per_system(result):
    res, measures = result
    cy = management_cycle(res.indicators, CAT, CFG, measures=measures, meta=res.meta, notes=res.notes)
    assert set(cy) == set(range(1, 9))
    s1 = cy[1]
    assert s1.goal and s1.tasks
    assert set(s1.targets["indicator"]) >= {"vpr_fail_share", "vpr_quality"}
    mon = s1.monitoring.set_index(["indicator", "year"])
    assert mon.loc[("vpr_fail_share", 2021), "value"] == pytest.approx(43 / 480 * 100)
    # 43/480 = 9,0 % [6,7; 11,8]: the target 10 % is inside the interval
    assert pd.isna(mon.loc[("vpr_fail_share", 2021), "target_met"])
    assert mon.loc[("vpr_fail_share", 2021), "target_status"] == "не отличается от цели достоверно"
    # 2020: 18/240 = 7,5 % [4,8; 11,6] — also inside
    assert len(s1.effectiveness) == 2
    assert (s1.analysis["system"] == 1).all()
    assert "gia_below_min" in set(s1.not_computed["indicator"])


def test_bad_rule_is_a_russian_error(result):
    from msoko.errors import MsokoError
    res, _ = result
    bad = deep_merge(CFG, {"recommendations": [{"id": "x", "text": "{school}",
                                                "when": [{"indicator": "vpr_fail_share", "op": "≥", "value": 1}]}]})
    with pytest.raises(MsokoError, match="Неизвестное условие"):
        recommend(res.indicators, CAT, bad)
    bad = deep_merge(CFG, {"recommendations": [{"id": "y", "text": "{school}", "when": [{"op": ">"}]}]})
    with pytest.raises(MsokoError, match="«y»"):
        recommend(res.indicators, CAT, bad)


def test_target_status_three_way_by_hand():
    from msoko.cycle import TARGET_MET, TARGET_MISSED, TARGET_UNCLEAR, target_status
    # lower is better («2» share, target 10 %): interval 12–20 wholly worse → missed; 4–8 → met;
    # 6–14 contains 10 → not reliably different; a fact 11 without interval → missed; touching 10 → met
    got = target_status([16, 6, 9, 11, 8, 5], [12, 4, 6, np.nan, 6, np.nan], [20, 8, 14, np.nan, 10, np.nan],
                        [10, 10, 10, 10, 10, np.nan], "lower")
    assert list(got) == [TARGET_MISSED, TARGET_MET, TARGET_UNCLEAR, TARGET_MISSED, TARGET_MET, None]
    # higher is better (quality 60 %): 40–55 missed, 62–70 met, 55–65 unclear; fact 60 → met
    got = target_status([47, 66, 60, 60], [40, 62, 55, np.nan], [55, 70, 65, np.nan], 60, ["higher"] * 4)
    assert list(got) == [TARGET_MISSED, TARGET_MET, TARGET_UNCLEAR, TARGET_MET]


def test_target_miss_only_when_interval_beyond(result):
    """A: 25/120 = 20,8 % [14,5; 28,9] of «2» overall in 2021 — wholly above the 10 % target: a zone;
    B: 6/120 = 5 %, C: 7/120 = 5,8 % [2,9; 11,6] — the target inside the interval: no «не достигнуто»."""
    res, _ = result
    an = analyse(res.indicators, CAT, CFG, meta=res.meta, year=2021)
    tm = an[(an["reason"] == "target_miss") & (an["indicator"] == "vpr_fail_share")]
    assert "A" in set(tm["school_id"]) and not ({"B", "C", "D"} & set(tm["school_id"]))
    assert (tm["certainty"] != "вероятно").all()
    ind = res.indicators
    c = ind[(ind["indicator"] == "vpr_fail_share") & (ind["school_id"] == "C") & (ind["year"] == 2021)
            & ind["grade"].isna()].iloc[0]
    assert c["value"] < 10 < c["ci_high"]
