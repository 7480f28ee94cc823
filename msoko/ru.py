"""Russian text for numbers, shared by compute (msoko.cycle, msoko.priorities, msoko.objectivity), the
charts (msoko.plots) and the reports (msoko/report/fmt.py re-exports it): the one place for the
decimal comma, the thousands separator, the minus sign, percentages, intervals, p-values and the
plural of a noun after a number.

Neutral: imports nothing of msoko, so that compute never reaches into the report layer and the
report layer takes the same rules from here.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

MINUS = "\u2212"   # the minus sign, never a hyphen
THIN = "\u202f"    # narrow no-break space: thousands separator and before «%»
MISSING = "—"


def _missing(x) -> bool:
    if x is None or x is pd.NA:
        return True
    if isinstance(x, (float, np.floating)):
        return not math.isfinite(float(x))
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def number(x, digits: int = 1) -> str:
    """Russian number: decimal comma, thousands with a thin space from 10 000 on («1000», «12 345»),
    the minus sign (−); integers whole; «—» for a missing or infinite value; «да»/«нет» for a bool."""
    if type(x) is float or type(x) is np.float64:
        # the common case first, the same steps as below (compute words over a million numbers on a region)
        if not math.isfinite(x):
            return MISSING
        v = round(float(x), digits) + 0.0
        s = f"{v:,.{digits}f}".replace(",", THIN) if abs(v) >= 10_000 else f"{v:.{digits}f}"
        return s.replace(".", ",").replace("-", MINUS)
    if _missing(x):
        return MISSING
    if isinstance(x, (bool, np.bool_)):
        return "да" if x else "нет"
    # four-digit numbers stay whole («1000», «2023»), from 10 000 on thousands are split (Мильчин)
    if isinstance(x, (int, np.integer)):
        sep = "," if abs(int(x)) >= 10_000 else ""
        s = f"{int(x):{sep}}".replace(",", THIN)
    else:
        # round first, then add 0.0: a tiny negative (an interval bound of -1e-17) prints «0», not «-0»
        v = round(float(x), digits) + 0.0
        sep = "," if abs(v) >= 10_000 else ""
        s = f"{v:{sep}.{digits}f}".replace(",", THIN).replace(".", ",")
    return s.replace("-", MINUS)


def short(x) -> str:
    """The shortest exact form of a setting's number: «30», «0,2», «2,5» (``format(x, "g")``, Russian)."""
    return MISSING if _missing(x) else f"{float(x):g}".replace(".", ",").replace("-", MINUS)


def signed(x, digits: int = 1) -> str:
    """A change with its sign: «+1,2», «−0,4», «0»."""
    s = number(x, digits)
    return s if s.startswith(MINUS) or s == MISSING or float(round(float(x), digits)) == 0 else "+" + s


def percent(x, digits: int = 0) -> str:
    """«42 %» (a value already in percent)."""
    return MISSING if _missing(x) else f"{number(float(x), digits)} %"


def interval(low, high, digits: int = 1, unit: str = "") -> str:
    """«5,1–7,5» or, with a unit, «5,1–7,5 %»; «—» when either bound is missing."""
    if _missing(low) or _missing(high):
        return MISSING
    s = f"{number(float(low), digits)}–{number(float(high), digits)}"
    return f"{s} {unit}" if unit else s


def p_value(p) -> str:
    """A p-value: «0,012», under 0,001 in the exponent form «3,2e−05»."""
    if _missing(p):
        return MISSING
    p = float(p)
    return (f"{p:.1e}" if p < 0.001 else f"{p:.3f}").replace(".", ",").replace("-", MINUS)


def chance(p) -> str:
    """A one-sided p-value in words: «случайно такое бывает реже чем в 1 случае из 1000»."""
    if _missing(p):
        return ""
    p = float(p)
    for k in (1_000_000, 10_000, 1000, 100):
        if p < 1 / k:
            return f"случайно такое бывает реже чем в 1 случае из {number(k)}"
    k = max(1, round(1 / max(p, 1e-12)))
    return "такое нередко бывает и случайно" if k <= 5 else f"случайно такое бывает примерно в 1 случае из {number(k)}"


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


MAX_WORKS_NAMED = 3   # a sentence names at most this many works, then «и ещё N»


def works_list(items: list[str], k: int = MAX_WORKS_NAMED) -> str:
    """«a, b, c и ещё 4»: at most ``k`` works named."""
    items = list(dict.fromkeys(items))
    head = ", ".join(items[:k])
    return head + (f" и ещё {len(items) - k}" if len(items) > k else "")
