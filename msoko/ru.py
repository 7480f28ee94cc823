"""Russian words after numbers, shared by compute (msoko.priorities, msoko.cycle) and the reports.

Neutral: imports nothing of msoko, so that compute never reaches into the report layer and the
report layer takes the same rule from here (msoko/report/fmt.py re-exports it).
"""
from __future__ import annotations

import numpy as np


def plural(n, one: str, few: str, many: str) -> str:
    """The Russian form of a noun after the number ``n``: 1 работа, 2 работы, 5 работ, 21 работа,
    11 работ; a fraction takes the genitive singular, which is the «few» form: 1,2 работы, 18,7 балла."""
    if isinstance(n, (float, np.floating)) and not float(n).is_integer():
        return few
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def chance(p) -> str:
    """A one-sided p-value in words: «случайно такое бывает реже чем в 1 случае из 1000» (compute's
    sentences; the reports' own, with their number formatting, is msoko.report.fmt.chance)."""
    if p is None or not np.isfinite(float(p)):
        return ""
    p = float(p)
    for k in (1_000_000, 10_000, 1000, 100):
        if p < 1 / k:
            return f"случайно такое бывает реже чем в 1 случае из {k:,}".replace(",", "\u202f")
    return f"случайно такое бывает примерно в 1 случае из {max(1, round(1 / max(p, 1e-12)))}"
