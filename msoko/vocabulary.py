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

# Every sign of non-objectivity: (Russian title, official, what it means). The keys are the values
# objectivity.parquet's `sign` may take (output_schema.toml); compute and the reports read this one table.
SIGNS: dict[str, tuple[str, bool, str]] = {
    # sign: (Russian title, official, what it means)
    "inflated_mean": ("Завышенный средний балл", True,
                      "95 % интервал среднего первичного балла школы целиком выше интервала региона (ФИОКО)."),
    "journal_mismatch": ("Несоответствие отметкам за четверть", True,
                         "Корреляция Спирмена между отметкой за четверть и первичным баллом ВПР отрицательна (ФИОКО)."),
    "cohort_fall": ("Резкое снижение результатов параллели", True,
                    "K = S4(Y)/S5(Y+1) выше Q3 + 3·IQR по школам региона (ФИОКО)."),
    "cohort_rise": ("Резкий рост результатов параллели", True,
                    "K = S4(Y)/S5(Y+1) ниже Q1 − 3·IQR по школам региона (ФИОКО)."),
    "objectivity_index": ("Показатель объективности (методика ФИОКО)", True,
                          "100 − % школ, у которых есть хотя бы один официальный признак."),
    "inflated_mean_similar": ("Результат заметно выше, чем у похожих школ (msoko)", False,
                              "Собственная калиброванная альтернатива msoko: сравнение со школами того же типа и "
                              "типа поселения с учётом обычного разброса между школами."),
    "bunching": ("Скопление баллов у границ отметок (msoko)", False,
                 "Избыток работ на границе отметки и на балл выше по сравнению с гладким распределением."),
    "tasks_basic_vs_advanced": ("Базовые задания выполнены хуже сложных (msoko)", False,
                                "Относительно региона и уровня школы сложные задания выполнены лучше базовых."),
    "marks_lower": ("Много отметок ВПР ниже отметок за четверть (msoko)", False,
                    "Доля «понизили» заметно выше, чем в других школах той же работы при тех же отметках ВПР: "
                    "вопрос к объективности текущего оценивания, а не к результатам ВПР; в совокупность признаков ВПР не входит."),
    "marks_higher": ("Много отметок ВПР выше отметок за четверть (msoko)", False,
                     "Доля «повысили» заметно выше, чем в других школах той же работы."),
    "marks_far": ("Отметка ВПР выше отметки за четверть на 2 балла и более (msoko)", False,
                  "Доля таких расхождений заметно выше, чем в других школах той же работы."),
    "marks_far_below": ("Отметка за четверть выше отметки ВПР на 2 балла и более (msoko)", False,
                        "Доля таких расхождений заметно выше, чем в других школах той же работы при тех же "
                        "отметках ВПР: вопрос к объективности текущего оценивания (отметок за четверть), а не к результатам ВПР; "
                        "в совокупность признаков ВПР не входит."),
    "marks_unrelated": ("Отметки за четверть почти не связаны с результатами ВПР (msoko)", False,
                        "Корреляция между отметкой за четверть и баллом ВПР намного ниже, чем обычно бывает в школах "
                        "той же работы при таком числе участников: вопрос к объективности текущего оценивания, а не к "
                        "результатам ВПР; в совокупность признаков ВПР не входит."),
    "high_not_confirmed": ("Высокие результаты ВПР не подтверждаются ОГЭ/ЕГЭ (msoko)", False,
                           "Обычная школа (не лицей и не гимназия) далеко выше региона по ВПР, но не по ГИА."),
    "answer_similarity": ("Совпадающие работы внутри класса (msoko)", False,
                          "Работ с одинаковыми баллами по всем заданиям больше, чем бывает даже в классах, где "
                          "работы обычно похожи друг на друга (один учитель, одна манера проверки)."),
    "data_entry_template": ("Шаблонное заполнение протокола (msoko)", False,
                            "Много работ с шаблоном баллов (одинаковый балл за все задания, только 0 и 1 при "
                            "максимуме 2 и более, нули за все последние задания): вопрос к вводу данных, а не "
                            "признак списывания; в совокупность признаков не входит."),
    "score_swing": ("Всплеск результата между годами (msoko)", False,
                    "Результат заметно выше, чем у той же параллели и того же класса в соседние годы."),
    "combined": ("Совокупность признаков (msoko)", False,
                 "Признаки вместе заметны в этой работе (до поправки на число работ школы); включает ли это "
                 "школу в план работы, решается по всем работам школы."),
}
