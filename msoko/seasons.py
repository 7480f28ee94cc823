"""Seasons of ВПР works: spring (the usual April–May works of the programme grade) or autumn.

In 2020 the ВПР moved to September–October: the work of programme grade 4 was written by the same
children in grade 5 (domain brief §6, §8). A year-to-year change, a persistence count or the two-year
ШНОР rule that pairs an autumn year with a spring year compares different things, so every such
comparison asks :func:`same_season` first.

The seasons are configuration, ``[vpr_seasons]`` of the municipal configuration: ``default`` for every
year not named, and an entry per year (``"2020" = "осень"``). Unlike the by-year tables of
:func:`msoko.config.by_year`, a year entry applies to that year only.
"""
from __future__ import annotations

from msoko.errors import MsokoError

SPRING = "весна"
AUTUMN = "осень"


def vpr_season(year, config: dict | None) -> str:
    """«весна» or «осень»: the season in which the ВПР of ``year`` were written."""
    section = (config or {}).get("vpr_seasons") or {}
    season = str(section.get(str(int(year)), section.get("default", SPRING))).strip().lower()
    if season not in (SPRING, AUTUMN):
        raise MsokoError(f"Конфигурация, [vpr_seasons]: сезон ВПР {year} года «{season}» — допустимы «{SPRING}» "
                         f"и «{AUTUMN}».")
    return season


def same_season(y1, y2, config: dict | None) -> bool:
    """True when the ВПР of years ``y1`` and ``y2`` were written in the same season (comparable)."""
    return vpr_season(y1, config) == vpr_season(y2, config)


def writing_grade(grade, year, config: dict | None):
    """The grade that wrote the work of programme ``grade`` in ``year``: the next one in the autumn."""
    return grade + 1 if vpr_season(year, config) == AUTUMN else grade


def seasonal(source) -> bool:
    """Is an indicator with catalogue ``source`` (e.g. «vpr», «vpr_tasks, task_specs», «vpr, gia») built
    from ВПР results, so that its year-to-year comparisons depend on the season?"""
    return any(t.strip().startswith("vpr") for t in str(source or "").split(","))


def season_note(year, config: dict | None) -> str:
    """A reader's sentence for an autumn year («» for spring): who wrote the works and why they stand apart."""
    if vpr_season(year, config) != AUTUMN:
        return ""
    return (f"ВПР {int(year)} года проводились осенью: работу за программу класса писали обучающиеся следующего "
            "класса в начале учебного года (например, работу за 4 класс — пятиклассники). С весенними ВПР других "
            "лет эти работы не сравниваются: изменения к прошлому году и повторения по годам для них не считаются.")


def work_title(year, grade, subject, config: dict | None) -> str:
    """«ВПР 2021: Математика, 4 класс»; for an autumn year «ВПР 2020 (осень): Математика, 4 класс — писали
    обучающиеся 5 класса»."""
    if vpr_season(year, config) == AUTUMN:
        return (f"ВПР {int(year)} (осень): {subject}, {int(grade)} класс — писали обучающиеся "
                f"{writing_grade(int(grade), year, config)} класса")
    return f"ВПР {int(year)}: {subject}, {int(grade)} класс"
