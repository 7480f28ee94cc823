"""Formatting for the reports: numbers, Russian plural agreement, informativeness, escaped HTML pieces.

Groups under :data:`MIN_N` participants are suppressed, under :data:`LIMITED_N` marked as of limited
informativeness; all text from the data is escaped before it becomes HTML (:func:`html_table`, :func:`esc`).
"""
from __future__ import annotations

import html
import math
from typing import Iterable

import numpy as np
import pandas as pd



MIN_N = 5       # smaller groups are not shown
LIMITED_N = 20  # smaller groups are of limited informativeness
RELIABLE_N = 50  # ≥ 50 participants: informative (ФИОКО)


# Subject in the dative after «по»: «по математике», «по русскому языку».
SUBJECT_DATIVE: dict[str, str] = {
    "Русский язык": "русскому языку", "Математика": "математике", "Окружающий мир": "окружающему миру",
    "Биология": "биологии", "История": "истории", "География": "географии",
    "Обществознание": "обществознанию", "Физика": "физике", "Химия": "химии",
    "Английский язык": "английскому языку", "Немецкий язык": "немецкому языку",
    "Французский язык": "французскому языку", "Информатика": "информатике", "Литература": "литературе",
}

# One vocabulary of signs: the objectivity module's catalogue (compute's objectivity.parquet holds
# only its keys — resources/output_schema.toml); the official ones are those of the ФИОКО method.
INDEX_SIGN = "objectivity_index"

GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI, GROUP_REGION = "Школа", "Похожие школы", "Муниципалитет", "Регион"
SRC_VPR = "ФИС ОКО, ВПР"


# ======================================================================================
# escaping and formatting
# ======================================================================================

def esc(value) -> str:
    """Escape any text from the data for HTML."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(x, digits: int = 1) -> str:
    """Russian number: decimal comma, no trailing «,0» for whole numbers of counts."""
    if x is None or (isinstance(x, (float, np.floating)) and math.isnan(x)) or x is pd.NA:
        return "—"
    try:
        if pd.isna(x):
            return "—"
    except (TypeError, ValueError):
        pass
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}".replace(",", "\u202f")
    # round first, then add 0.0: a tiny negative (an interval bound of -1e-17) prints «0», not «-0»
    s = f"{round(float(x), digits) + 0.0:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return s


def fmt_pct(x, digits: int = 0) -> str:
    return "—" if pd.isna(x) else f"{fmt(float(x), digits)} %"


def informativeness(n) -> str:
    """ФИОКО wording for the size of a sample."""
    if n is None or pd.isna(n):
        return "объём выборки неизвестен"
    n = int(n)
    if n < MIN_N:
        return f"менее {MIN_N} участников — не показывается"
    if n < LIMITED_N:
        return f"ограниченная информативность (n = {n})"
    if n < RELIABLE_N:
        return f"ориентировочно (n = {n})"
    return f"информативно (n = {n})"


def reliability_phrase(n) -> str:
    n = int(n)
    word = _plural(n, "участник", "участника", "участников")
    if n >= RELIABLE_N:
        return f"вывод надёжный: выборка {n} {word}"
    if n >= LIMITED_N:
        return f"вывод ориентировочный: выборка {n} {word}"
    return f"вывод предварительный, информативность ограничена: выборка {n} {word}"


def _plural(n: int, one: str, few: str, many: str) -> str:
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def subject_phrase(subject, grade) -> str:
    """«по математике в 5 классе» (empty parts are left out)."""
    parts = []
    if subject is not None and not pd.isna(subject):
        parts.append("по " + SUBJECT_DATIVE.get(str(subject), f"предмету «{subject}»"))
    if grade is not None and not pd.isna(grade):
        parts.append(f"в {int(grade)} классе")
    return " ".join(parts)


def html_table(df: pd.DataFrame, *, caption: str | None = None, note: str | None = None,
               classes: str = "msoko-table") -> str:
    """A frame as an escaped HTML table (every cell and header escaped)."""
    if df is None or df.empty:
        return f'<p class="msoko-empty">{esc(caption + ": " if caption else "")}нет данных</p>'
    body = df.to_html(index=False, escape=True, na_rep="—", border=0, classes=classes)
    out = ""
    if caption:
        out += f'<p class="msoko-caption">{esc(caption)}</p>'
    out += f'<div class="table-wrap">{body}</div>'
    if note:
        out += f'<p class="msoko-note">{esc(note)}</p>'
    return out


def html_sentences(sentences: Iterable[str], *, empty: str = "Нет замечаний.") -> str:
    items = [f"<li>{esc(s)}</li>" for s in sentences]
    if not items:
        return f"<p>{esc(empty)}</p>"
    return "<ul class=\"msoko-list\">" + "".join(items) + "</ul>"


def html_heading(text: str, level: int = 3) -> str:
    return f"<h{level}>{esc(text)}</h{level}>"


def html_para(text: str, cls: str | None = None) -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{esc(text)}</p>"


def _value_with_unit(v, unit: str, digits: int = 0) -> str:
    if unit == "%":
        return f"{fmt(v, digits)} %"
    return f"{fmt(v, 1)}" + (f" {unit}" if unit else "")

