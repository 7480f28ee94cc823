"""The skill each ВПР task checks, as the task specification names it (``task_specs``: «проверяемые умения»,
the planned outcome, КЭС and КТ codes), cleaned for the reports and the recommendations.

The specifications are PDF extractions: words broken at a line end keep their hyphen and a space
(«арифмети- ческие»), spaces are doubled. :func:`clean` joins and collapses them; :func:`short` cuts a
skill to a few words for a chart or an action (the full text stays in a folded table).
"""
from __future__ import annotations

import re

import pandas as pd

SHORT_LEN = 70
_BROKEN = re.compile(r"(\w)[-\u00ad]\s+([а-яё])")   # «арифмети- ческие» → «арифметические»
SKILL_COLUMNS = ["grade", "subject", "task", "label", "level", "skill", "skill_short", "outcome", "kes", "kt"]


def clean(text) -> str:
    """One line of text: a word broken at a line end joined, whitespace collapsed; "" for a missing value."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    t = _BROKEN.sub(r"\1\2", str(text))
    return " ".join(t.split()).strip()


def short(text, limit: int = SHORT_LEN) -> str:
    """The skill in at most ``limit`` characters: whole words, «…» when cut, no trailing full stop."""
    t = clean(text).rstrip(".")
    if len(t) <= limit:
        return t
    cut = t[:limit + 1].rsplit(" ", 1)[0].rstrip(",;:–— ")
    return cut + "…"


def task_skills(task_specs: pd.DataFrame | None) -> pd.DataFrame:
    """One row per task of each work's specification: ``label`` (the task as ФИС ОКО names it, «5.1»),
    ``level`` (Б/П/В), ``skill`` (cleaned), ``skill_short``, ``outcome``, ``kes``, ``kt``. A task whose
    skill is blank is named by its planned outcome."""
    if task_specs is None or not len(task_specs):
        return pd.DataFrame(columns=SKILL_COLUMNS)
    t = task_specs.drop_duplicates(["grade", "subject", "task"])
    skill = t["skill"].map(clean) if "skill" in t else pd.Series("", index=t.index)
    outcome = t["outcome"].map(clean) if "outcome" in t else pd.Series("", index=t.index)
    skill = skill.where(skill != "", outcome)
    label = t["task_label"].astype(str) if "task_label" in t else t["task"].astype(str)
    out = pd.DataFrame({"grade": t["grade"].astype(int), "subject": t["subject"].astype(str),
                        "task": t["task"].astype(str), "label": label, "level": t.get("level"),
                        "skill": skill, "skill_short": skill.map(short), "outcome": outcome,
                        "kes": t["kes"].map(clean) if "kes" in t else "", "kt": t["kt"].map(clean) if "kt" in t else ""})
    return out[SKILL_COLUMNS].reset_index(drop=True)
