"""One vocabulary for compute, the reports and the notebooks: the eight systems of the МСОКО, the
official signs of the ФИОКО method and the similar-schools comparison group.

Neutral: imports nothing of msoko, so that compute (msoko.cycle, msoko.priorities,
msoko.indicators, msoko.objectivity) and the report layer take the same names from here and
neither reaches into the other. The signs themselves (title, official, meaning) are the catalogue
of msoko.objectivity (``sign_catalogue()``); ``tests/test_vocabulary.py`` fails when a system or
sign code used in the library, the notebooks or the configuration is missing from them.
"""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class System(NamedTuple):
    code: int
    title: str   # the full name, as in the regional regulation and the notebooks' headings
    short: str   # for table cells and the conclusions


SYSTEMS: dict[int, System] = {s.code: s for s in (
    System(1, "Система оценки качества подготовки обучающихся", "Качество подготовки обучающихся"),
    System(2, "Система работы со школами с низкими результатами обучения и/или школами, функционирующими "
              "в неблагоприятных социальных условиях",
           "Школы с низкими результатами и в неблагоприятных условиях"),
    System(3, "Система выявления, поддержки и развития способностей и талантов у детей и молодежи",
           "Способности и таланты детей и молодёжи"),
    System(4, "Система работы по самоопределению и профессиональной ориентации обучающихся",
           "Самоопределение и профориентация"),
    System(5, "Система мониторинга эффективности руководителей образовательных организаций",
           "Эффективность руководителей"),
    System(6, "Система обеспечения профессионального развития педагогических работников",
           "Профессиональное развитие педагогов"),
    System(7, "Система организации воспитания обучающихся", "Воспитание обучающихся"),
    System(8, "Система мониторинга качества дошкольного образования", "Дошкольное образование"),
)}
SYSTEM_NAMES: dict[int, str] = {c: s.title for c, s in SYSTEMS.items()}
SYSTEM_SHORT: dict[int, str] = {c: s.short for c, s in SYSTEMS.items()}

# the signs of the ФИОКО method (the others are msoko's own); titles in msoko.objectivity.SIGNS
OFFICIAL_SIGNS = ("inflated_mean", "journal_mismatch", "cohort_fall", "cohort_rise")
# msoko's findings about the current marks (the journal), not about the ВПР results
MARK_SIGNS = frozenset({"marks_far_below", "marks_higher", "marks_lower", "marks_far", "marks_unrelated"})


def similar_group(schools: pd.DataFrame) -> pd.Series:
    """The similar-schools group of each organisation: the same type and the same settlement type
    (``"СОШ|город"``); missing when either is unknown. One definition for compute and the reports."""
    known = schools["org_type"].notna() & schools["settlement_type"].notna()
    key = schools["org_type"].astype(str) + "|" + schools["settlement_type"].astype(str)
    return key.where(known).astype(object)
