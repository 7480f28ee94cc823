"""Issue 20: the first screen rests on evidence and tells one story (msoko.priorities: ``evidence``,
``concern_evidence``, ``first_screen``). Small fixed frames, values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from msoko.config import load_config
from msoko.indicators import load_catalogue
from msoko.outputs import validate
from msoko.priorities import concern_evidence, evidence, evidence_min_n, first_screen, pupils, settings

CFG = load_config()
CAT = load_catalogue()
NA = np.nan


def test_min_n_is_the_recommendation_setting():
    assert evidence_min_n(CFG) == 20 == CFG["recommendation_settings"]["min_n"]
    assert evidence_min_n({"recommendation_settings": {"min_n": 30}}) == 30


def test_pupils_a_gap_is_worth():
    # a share: 5 p.p. of 40 pupils = 2 pupils; 2,5 p.p. of 100 = 2,5 pupils
    assert pupils(5.0, 40, "%") == pytest.approx(2.0)
    assert pupils(-2.5, 100, "%") == pytest.approx(2.5)
    # a mean score: interval 10–14 over 16 pupils → sd = 4 / 3,92 · 4 = 4,0816; a pupil = 4 sd;
    # a gap of 3 points → 3 · 16 / 16,33 = 2,94 pupils
    assert pupils(3.0, 16, "балл", 10.0, 14.0) == pytest.approx(3 * 16 / (4 * 4 / (2 * 1.959963984540054) * 4))
    assert math.isnan(pupils(3.0, 16, "балл"))  # no interval: unknown


@pytest.mark.parametrize("args, word", [
    # (value, ci_low, ci_high, reference, n, unit), min_n 20
    ((100.0, NA, NA, 30.0, 1, "%"), "факт"),                       # an institution's yes/no
    ((10.0, 1.8, 40.4, 0.6, 10, "%"), "малоинформативно"),        # one pupil of ten
    ((45.0, NA, NA, 50.0, 30, "%"), "нет интервала"),             # a share of tasks without interval
    ((30.0, 18.0, 45.0, 25.0, 40, "%"), "в пределах погрешности"),  # 25 inside 18–45
    ((14.0, 10.5, 18.5, 10.0, 50, "%"), "1–2 обучающихся"),       # 4 p.p. · 50 / 100 = 2,0 ≤ 2
    ((14.0, 10.5, 19.0, 10.0, 60, "%"), "достаточно"),            # 4 · 60 / 100 = 2,4 > 2
    ((6.0, 1.0, 9.0, 12.0, 20, "%"), "1–2 обучающихся"),          # clears 12 %, but 6 · 20 / 100 = 1,2
    ((2.0, 0.7, 5.6, 12.0, 150, "%"), "достаточно"),              # below: 10 · 150 / 100 = 15 pupils
])
def test_evidence_words(args, word):
    assert evidence(*args, min_n=20) == word


def test_evidence_uses_computes_own_verdict_when_given():
    # vs_municipality ≠ 0 stands for «beyond»; then only n and the pupils decide
    assert evidence(60.0, 50.0, 69.0, 44.0, 100, "%", min_n=20, beyond=True) == "достаточно"
    assert evidence(60.0, 50.0, 69.0, 44.0, 100, "%", min_n=20, beyond=False) == "в пределах погрешности"
    assert evidence(60.0, 50.0, 69.0, 44.0, 19, "%", min_n=20, beyond=True) == "малоинформативно"


def cell(**kw):
    base = {"certainty": "высокая", "n": 60, "value": 40.0, "ci_low": 28.6, "ci_high": 52.6, "unit": "%"}
    for r in ("below_municipality", "below_similar", "target_miss", "flag", "worse_trend"):
        base.update({f"has_{r}": False, f"sure_{r}": False, f"ref_{r}": NA})
    base.update(kw)
    return base


def test_concern_evidence_per_reason():
    conf = settings(CFG)
    # 40 % of 60 against the municipality 9 %: beyond, 31 · 60 / 100 = 18,6 pupils
    assert concern_evidence(cell(has_below_municipality=True, sure_below_municipality=True,
                                 ref_below_municipality=9.0), conf) == "достаточно"
    # the reason is only «вероятно» (the interval reaches the comparison value)
    assert concern_evidence(cell(has_below_similar=True, ref_below_similar=30.0), conf) == "в пределах погрешности"
    # 12 % against 9 % of 60 pupils: 1,8 pupils
    assert concern_evidence(cell(value=12.0, ci_low=10.0, ci_high=14.0, has_below_similar=True,
                                 sure_below_similar=True, ref_below_similar=9.0), conf) == "1–2 обучающихся"
    # ten pupils: details only, whatever the gap
    assert concern_evidence(cell(n=10, has_below_municipality=True, sure_below_municipality=True,
                                 ref_below_municipality=0.6), conf) == "малоинформативно"
    assert concern_evidence(cell(certainty="факт", n=1), conf) == "факт"


def test_the_shnor_flag_pinned_on_the_first_screen_never_says_it_is_not_shown():
    """The ШНОР flag is a list made by the region's rule over intervals and groups (``rule_flags``): its n
    is the school (1), yet it is no small group — «по правилу региона», a first-screen word, with no
    «Малоинформативно … на первый экран не выносится» beside the concern the first screen pins."""
    from msoko.priorities import FIRST_SCREEN_STRONG, RULE_EVIDENCE, evidence_note
    conf = settings(CFG)
    shnor = cell(indicator="shnor_flag", certainty="высокая", n=1, value=100.0, ci_low=NA, ci_high=NA,
                 has_flag=True, sure_flag=True, ref_flag=0.0)
    assert concern_evidence(shnor, conf) == RULE_EVIDENCE == "по правилу региона"
    assert RULE_EVIDENCE in FIRST_SCREEN_STRONG and evidence_note(RULE_EVIDENCE, 20) == ""
    # the same row of another indicator (not a rule's list) with one member is still «малоинформативно»
    other = {**shnor, "indicator": "vpr_fail_share"}
    assert concern_evidence(other, conf) == "малоинформативно"
    assert evidence_note("малоинформативно", 20).endswith("на первый экран не выносится.")


# --------------------------------------------------------------------------- first_screen on a fixed school

def ind_row(indicator, value, ci_low, ci_high, n, muni, vs_m, similar, vs_s, subject=None):
    return dict(year=2021, level="school", school_id="S", indicator=indicator, grade=pd.NA, subject=subject,
                item=None, value=value, ci_low=ci_low, ci_high=ci_high, n=n, suppressed=False,
                municipality_value=muni, vs_municipality=vs_m, similar_value=similar, vs_similar=vs_s)


def indicators():
    rows = [
        # better than the municipality: 16 p.p. of 100 pupils → a strength
        ind_row("vpr_quality", 60.0, 50.2, 69.1, 100, 44.0, 1, 55.0, 0),
        # the «2» share above both (direction lower): a concern, ▼ on both comparisons
        ind_row("vpr_fail_share", 20.0, 13.3, 28.9, 100, 12.0, 1, 8.0, 1),
        # better than the municipality (5 p.p. · 100 = 5 pupils) but below similar schools by 2 p.p. · 100
        # = 2 pupils: ▲ against the municipality only, and no strength (worse than similar schools)
        ind_row("vpr_mean_pct", 58.0, 54.0, 62.0, 100, 53.0, 1, 60.0, -1),
        # 12 pupils: no strength whatever the gap
        ind_row("oge_mark45_share", 90.0, 64.6, 98.2, 12, 50.0, 1, 55.0, 1, subject="Русский язык"),
    ]
    d = pd.DataFrame(rows)
    d["grade"] = d["grade"].astype("Int8")
    return d


def prio_row(rank, indicator, topic, top, certainty, n, subject=None, grade=None, reason="below_municipality"):
    return dict(year=2021, school_id="S", indicator=indicator, topic=topic, top=top, rank=rank, certainty=certainty,
                n=n, subject=subject, grade=grade, reason=reason, value=1.0, reference=0.0,
                name_ru=CAT.set_index("code").loc[indicator, "name_ru"] if indicator in set(CAT["code"]) else indicator,
                text_ru=f"зона {rank}")


def prio():
    return pd.DataFrame([
        prio_row(1, "vpr_fail_share", "results:*", True, "высокая", 100, reason="below_municipality,below_similar"),
        prio_row(2, "shnor_flag", "shnor", True, "факт", 1, reason="flag"),
        prio_row(3, "objectivity", "objectivity", True, "высокая", 40),
        prio_row(4, "vpr_quality", "results:Биология", False, "низкая", 12, subject="Биология", grade=5),
    ])


def rec_row(rank, rule, indicator, value, ci_low, ci_high, reference, n, certainty, subject=None, grade=None):
    return dict(year=2021, school_id="S", rule=rule, indicator=indicator, grade=grade, subject=subject, item=None,
                value=value, ci_low=ci_low, ci_high=ci_high, reference=reference, n=n, certainty=certainty,
                rank=rank, addressee="Руководитель ОО", action_ru=f"действие {rule}", reason_ru=f"основание {rule}")


def recs():
    return pd.DataFrame([
        rec_row(1, "shnor_support", "shnor_flag", 100.0, NA, NA, NA, 1, "факт"),
        # a share of tasks without an interval (45 pupils): no evidence of a gap
        rec_row(2, "vpr_tasks_insufficient", "vpr_tasks_sufficient", 45.0, NA, NA, 50.0, 45, "достаточная",
                subject="Математика", grade=6),
        rec_row(3, "vpr_fail_high", "vpr_fail_share", 20.0, 13.3, 28.9, 12.0, 100, "высокая"),
        # 20 pupils, 28 p.p. → 5,6 pupils: follows concern 1 (the «2» share)
        rec_row(4, "vpr_fail_high", "vpr_fail_share", 40.0, 21.9, 61.3, 12.0, 20, "достаточная",
                subject="Физика", grade=7),
        rec_row(5, "vpr_fail_high", "vpr_fail_share", 50.0, 21.5, 78.5, 12.0, 8, "достаточная",
                subject="Химия", grade=8),
        rec_row(6, "objectivity_observers", "objectivity", NA, NA, NA, NA, 12, "низкая", subject="Математика", grade=6),
        rec_row(7, "objectivity_marks", "objectivity_marks", NA, NA, NA, NA, 40, "достаточная",
                subject="Математика", grade=5),
        # an ОГЭ action without an ОГЭ concern on the screen (once one school's only action)
        rec_row(8, "gia_below_min", "gia_below_min", 30.0, 20.0, 42.0, 10.0, 60, "высокая", subject="Физика",
                grade=9),
    ])


def test_first_screen_on_a_fixed_school():
    fs = first_screen(prio(), recs(), indicators(), CAT, CFG)
    validate("first_screen", fs)
    part = {k: g for k, g in fs.groupby("part")}
    # concerns: the ШНОР status first (the municipality's own decision about the school), then the top
    # priorities without objectivity (it has its own box), in rank order
    assert list(part["concern"]["indicator"]) == ["shnor_flag", "vpr_fail_share"]
    # strengths: only the quality share (the mean percentage is worse than similar schools; ОГЭ from 12 pupils)
    assert list(part["strength"]["indicator"]) == ["vpr_quality"]
    s = part["strength"].iloc[0]
    assert "выше муниципального значения (44,0 %)" in s["text_ru"] and "n = 100" in s["text_ru"]
    # actions: the ШНОР fact (concern 1), the «2» share overall and in physics (concern 2), the marks finding
    a = part["action"]
    assert list(a["text_ru"]) == ["действие shnor_support", "действие vpr_fail_high",
                                                                "действие vpr_fail_high", "действие objectivity_marks"]
    assert list(a["follows"]) == ["concern:1", "concern:2", "concern:2", "objectivity"]
    assert a.iloc[0]["reason_ru"].startswith("к пункту 1 («Школа с низкими образовательными результатами")
    assert a.iloc[3]["reason_ru"].startswith("к разделу «Объективность»")
    assert list(a["rank"]) == [1, 2, 3, 4]
    # the table's arrows: «2» share ▼ on both; quality ▲ against the municipality; the mean percentage ▲
    # against the municipality and no arrow against similar schools (2 pupils)
    st = {(i, c): sd for i, c, sd in zip(part["standing"]["indicator"], part["standing"]["comparator"],
                                          part["standing"]["side"])}
    assert st == {("vpr_fail_share", "municipality"): -1, ("vpr_fail_share", "similar"): -1,
                  ("vpr_quality", "municipality"): 1, ("vpr_mean_pct", "municipality"): 1}


def test_no_strength_from_results_under_review_nor_of_a_concerns_family():
    def sign(name, grade, flagged=True):
        return dict(year=2021, school_id="S", grade=grade, subject="Математика", sign=name, flagged=flagged,
                    value=1.0, n=40, p_value=1e-5, informativeness="минимально")

    obj = pd.DataFrame([sign("combined", 6), sign("marks_far_below", 5)])
    fs = first_screen(prio(), recs(), indicators(), CAT, CFG, objectivity=obj)
    # the overall quality share contains the works under review: no strength from it, and the screen says why
    assert (fs["part"] == "strength").sum() == 0
    note = fs.loc[fs["part"] == "strength_note", "text_ru"]
    assert len(note) == 1 and "на проверке объективности" in note.iloc[0]
    # one official «Завышенный средний балл» that similar schools explain is no review
    weak = pd.DataFrame([sign("inflated_mean", 6), sign("inflated_mean_similar", 6, flagged=False)])
    fs = first_screen(prio(), recs(), indicators(), CAT, CFG, objectivity=weak)
    assert list(fs.loc[fs["part"] == "strength", "indicator"]) == ["vpr_quality"]
    # a journal-mark finding alone does not put the results under review
    fs = first_screen(prio(), recs(), indicators(), CAT, CFG, objectivity=obj[obj["sign"] == "marks_far_below"])
    assert list(fs.loc[fs["part"] == "strength", "indicator"]) == ["vpr_quality"]
    # a concern about the quality share (any subject) takes the family off the strengths; the table keeps
    # no ▲ for it only where the concern is the overall row
    p = pd.concat([prio(), pd.DataFrame([prio_row(5, "vpr_quality", "results:Математика", True, "высокая", 60,
                                                  subject="Математика", grade=6)])])
    p.loc[p["rank"] == 3, "top"] = False
    fs = first_screen(p, recs(), indicators(), CAT, CFG)
    assert "vpr_quality" not in set(fs.loc[fs["part"] == "strength", "indicator"])
    p2 = pd.concat([prio().iloc[:2], pd.DataFrame([prio_row(3, "vpr_quality", "results:*", True, "высокая", 100)])])
    fs = first_screen(p2, recs(), indicators(), CAT, CFG)
    st = fs[(fs["part"] == "standing") & (fs["indicator"] == "vpr_quality")]
    assert not (st["side"] > 0).any()


def test_an_action_names_at_most_three_works():
    from msoko.cycle import _more
    assert _more(19) == " и ещё 16" and _more(3) == ""
    from msoko.priorities import works_list
    assert works_list(["а", "б", "в", "г", "д"]) == "а, б, в и ещё 2"
