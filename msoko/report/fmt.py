"""Formatting for the reports: numbers, Russian plural agreement, informativeness, escaped HTML pieces.

Groups under :data:`MIN_N` participants are suppressed, under :data:`LIMITED_N` marked as of limited
informativeness; all text from the data is escaped before it becomes HTML (:func:`html_table`, :func:`esc`).
"""
from __future__ import annotations

import html
import re
from typing import Iterable

import numpy as np
import pandas as pd

from msoko.ru import MINUS, THIN, chance, number, percent, plural, signed  # noqa: F401 - re-exported



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


# Russian numbers live in msoko.ru (compute and the charts use them too): the report's names for them
fmt, fmt_signed, fmt_pct = number, signed, percent


INFORMATIVE, ROUGH, LIMITED = "информативно", "ориентировочно", "информативность ограничена"
# objectivity.parquet labels its own way: one vocabulary in every report
_INFORMATIVENESS_WORDS = {"информативна": INFORMATIVE, "минимально": ROUGH, "ограниченно": LIMITED}


def informativeness_word(n=None, label=None, limited_below: int = LIMITED_N) -> str:
    """The one informativeness vocabulary: «информативно» (n ≥ 50), «ориентировочно» (20–49),
    «информативность ограничена» (< 20); from a count or from objectivity's own label."""
    if label is not None and isinstance(label, str) and label in _INFORMATIVENESS_WORDS:
        return _INFORMATIVENESS_WORDS[label]
    if n is None or pd.isna(n):
        return ""
    n = int(n)
    return INFORMATIVE if n >= RELIABLE_N else ROUGH if n >= limited_below else LIMITED


def informativeness(n, suppress_below: int = MIN_N) -> str:
    """ФИОКО wording for the size of a sample (:func:`informativeness_word` with the count); a group
    under ``suppress_below`` (the configuration's, :func:`msoko.report.data.suppress_below`) is not shown."""
    if n is None or pd.isna(n):
        return "объём выборки неизвестен"
    n = int(n)
    if n < suppress_below:
        return f"менее {suppress_below} участников — не показывается"
    return f"{informativeness_word(n)} (n = {fmt(n)})"


def reliability_phrase(n) -> str:
    n = int(n)
    word = _plural(n, "участник", "участника", "участников")
    if n >= RELIABLE_N:
        return f"вывод надёжный: выборка {n} {word}"
    if n >= LIMITED_N:
        return f"вывод ориентировочный: выборка {n} {word}"
    return f"вывод предварительный, информативность ограничена: выборка {n} {word}"


# the Russian plural rule lives in msoko.ru (compute uses it too and must not import the report layer)
_plural = plural

# nouns a report counts: (one, few, many); the genitive singular equals «few» for all of them («класс» is
# left out: «5 класс» is a grade, an ordinal, not a count)
NOUNS: dict[str, tuple[str, str, str]] = {
    "работа": ("работа", "работы", "работ"), "балл": ("балл", "балла", "баллов"),
    "фактор": ("фактор", "фактора", "факторов"), "школа": ("школа", "школы", "школ"),
    "участник": ("участник", "участника", "участников"), "признак": ("признак", "признака", "признаков"),
    "обучающийся": ("обучающийся", "обучающихся", "обучающихся"), "педагог": ("педагог", "педагога", "педагогов"),
    "ребёнок": ("ребёнок", "ребёнка", "детей"), "год": ("год", "года", "лет"),
    "процедура": ("процедура", "процедуры", "процедур"), "рекомендация": ("рекомендация", "рекомендации", "рекомендаций"),
    "показатель": ("показатель", "показателя", "показателей"), "пункт": ("пункт", "пункта", "пунктов"),
    "вакансия": ("вакансия", "вакансии", "вакансий"), "случай": ("случай", "случая", "случаев"),
    "группа": ("группа", "группы", "групп"), "задание": ("задание", "задания", "заданий"),
    "место": ("место", "места", "мест"), "ставка": ("ставка", "ставки", "ставок"),
    "результат": ("результат", "результата", "результатов"), "человек": ("человек", "человека", "человек"),
}


def count(n, noun: str, digits: int = 1) -> str:
    """«23 работы», «1 работа», «18,7 балла», «1\u202f250 обучающихся» (``noun`` a key of :data:`NOUNS`
    or a tuple of the three forms)."""
    one, few, many = NOUNS[noun] if isinstance(noun, str) else noun
    if isinstance(n, (float, np.floating)) and float(n).is_integer():
        n = int(n)
    return f"{fmt(n, digits)} {_plural(n, one, few, many)}"


# words that govern the genitive: «из 21 работы», «из 23 работ», «более 5 баллов»
_GENITIVE = {"у", "из", "от", "до", "более", "менее", "около", "свыше", "против", "больше", "меньше"}
_OTHER_PREP = {"в", "во", "на", "о", "об", "по", "к", "ко", "с", "со", "при", "за", "над", "под"}
_FORMS = {form: forms for forms in NOUNS.values() for form in forms}
_NUM_NOUN_RE = re.compile(
    r"(?<![\w,.])(?:(\w+)\s+)?(\d[\d\u202f\u00a0]*(?:,\d+)?)\s(" + "|".join(
        sorted({re.escape(f) for f in _FORMS}, key=len, reverse=True)) + r")(?!\w)")


def agree(text: str) -> str:
    """Put every counted noun of :data:`NOUNS` after a number in agreement: «23 работ» → «23 работы»,
    «18,7 балл» → «18,7 балла», «1,2 факторов» → «1,2 фактора»; after a word that governs the
    genitive (из, от, более, …) «из 23 работ», «из 21 работы». Other prepositions are left alone."""
    def repl(m: re.Match) -> str:
        word, num, noun = m.group(1), m.group(2), m.group(3)
        one, few, many = _FORMS[noun]
        if one == "человек":
            return m.group(0)
        digits = num.replace("\u202f", "").replace("\u00a0", "")
        frac = "," in digits
        value = int(digits.split(",")[0] or 0)
        lw = (word or "").lower()
        if lw in _OTHER_PREP:
            return m.group(0)
        if lw in _GENITIVE:
            right = few if frac or (value % 10 == 1 and value % 100 != 11) else many
        else:
            right = few if frac else _plural(value, one, few, many)
        prefix = f"{word} " if word else ""
        return f"{prefix}{num} {right}"
    return _NUM_NOUN_RE.sub(repl, text)


def sd_words(d, digits: int = 2) -> str:
    """A gap in standard deviations in words: «на 0,55 стандартного отклонения ниже» style pieces
    («0,55 стандартного отклонения», «2 стандартных отклонения»)."""
    if d is None or pd.isna(d):
        return "—"
    x = round(float(d), digits)
    word = _plural(abs(x) if not float(x).is_integer() else int(abs(x)),
                   "стандартное отклонение", "стандартных отклонения", "стандартных отклонений")
    if not float(x).is_integer():
        word = "стандартного отклонения"
    return f"{fmt(x, digits) if not float(x).is_integer() else fmt(int(x))} {word}"


_SD_RE = re.compile(r"(\d[\d\u202f]*(?:,\d+)?)\s?SD\b")
_P_RE = re.compile(r"\bp\s*[=<]\s*(\d+(?:[.,]\d+)?(?:[eE][−-]?\d+)?)")
_PREFIX_RE = re.compile(r"(^|(?<=[;.:]\s))msoko:\s*")


def plain(text) -> str:
    """Evidence text for a reader: no «msoko:» prefix, «SD» and p-values in words, the minus sign
    between spaces or before a digit, «п.п.» as «п. п.», counts in agreement."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    s = _PREFIX_RE.sub("", str(text))
    s = _SD_RE.sub(lambda m: sd_words(float(m.group(1).replace("\u202f", "").replace(",", "."))), s)
    s = _P_RE.sub(lambda m: chance(float(m.group(1).replace(",", ".").replace("−", "-"))), s)
    s = re.sub(r"(?<![\w\-])-(?=\d)", MINUS, s)
    s = re.sub(r"\sп\.п\.", "\u00a0п.\u00a0п.", s)
    s = s.replace(" (msoko)", "").replace("msoko", "МСОКО")
    s = s.replace("Q3 + 3·IQR", "верхний квартиль + 3 межквартильных размаха").replace(
        "Q1 − 3·IQR", "нижний квартиль − 3 межквартильных размаха").replace("IQR", "межквартильный размах")
    return agree(s)


def subject_phrase(subject, grade) -> str:
    """«по математике в 5 классе» (empty parts are left out)."""
    parts = []
    if subject is not None and not pd.isna(subject):
        parts.append("по " + SUBJECT_DATIVE.get(str(subject), f"предмету «{subject}»"))
    if grade is not None and not pd.isna(grade):
        parts.append(f"в {int(grade)} классе")
    return " ".join(parts)


# the data sources of the catalogue (msoko's template names) as a reader knows them
SOURCE_NAMES = {
    "vpr": "ВПР (ФИС ОКО)", "vpr_tasks": "ВПР (ФИС ОКО)", "gia": "ГИА (РИС ГИА)", "context": "контекстные данные ОО",
    "context_questionnaire": "контекстная анкета ФИС ОКО", "task_specs": "спецификации заданий ВПР",
    "contingent": "контингент", "teachers": "кадры", "principals": "руководители", "olympiad": "ВсОШ",
    "addedu": "дополнительное образование", "career": "профминимум", "leavers": "выпускники",
    "upbringing": "воспитание", "mkdo": "МКДО", "preschool": "дошкольное образование", "surveys": "анкетирование",
    "schools": "реестр организаций", "registry": "реестр организаций", "objectivity": "диагностика объективности",
    "measures": "меры управления", "nokuod": "НОКУОД", "shnor": "критерии ШНОР", "risk_profile": "факторы риска «500+»",
}


def source_words(source) -> str:
    """«teachers, contingent» → «кадры, контингент» (unknown names are left out, never shown as code)."""
    if source is None or (not isinstance(source, str) and pd.isna(source)):
        return ""
    parts = [p.strip() for p in re.split(r"[;,+/]", str(source)) if p.strip()]
    words = [SOURCE_NAMES.get(p, p if not re.fullmatch(r"[A-Za-z_0-9]+", p) else "") for p in parts]
    return ", ".join(dict.fromkeys(w for w in words if w))


def html_table(df: pd.DataFrame, *, caption: str | None = None, note: str | None = None,
               classes: str = "msoko-table") -> str:
    """A frame as an escaped HTML table (every cell and header escaped)."""
    if df is None or df.empty:
        return f'<p class="msoko-empty">{esc(caption + ": " if caption else "")}нет данных</p>'
    return _framed(_html_body(df, classes), caption, note)


def _framed(body: str, caption: str | None, note: str | None) -> str:
    out = ""
    if caption:
        out += f'<p class="msoko-caption">{esc(caption)}</p>'
    out += f'<div class="table-wrap">{body}</div>'
    if note:
        out += f'<p class="msoko-note">{esc(note)}</p>'
    return out


_TABLE_NA = "—"


def plain_text_rows(columns: list, rows: list[list]) -> bool:
    """Whether a table of ``rows`` (lists of cells under ``columns``) is one :func:`html_text_table` writes as
    :func:`html_table` writes its frame: text headers, every cell text or None, no tab or line break."""
    if not rows or not columns or any(type(c) is not str or "\t" in c or "\n" in c or "\r" in c for c in columns):
        return False
    return all(len(r) == len(columns) and all(v is None or (type(v) is str and "\t" not in v and "\n" not in v
                                                             and "\r" not in v) for v in r) for r in rows)


def html_text_table(columns: list, rows: list[list], *, caption: str | None = None, note: str | None = None,
                    classes: str = "msoko-table") -> str:
    """:func:`html_table` of the frame of ``rows`` (see :func:`plain_text_rows`) written from the rows: the
    same text without building the frame (a frame of text cells and its ``to_numpy`` cost ~1 ms a table)."""
    body = _table_text(columns, [[_TABLE_NA if v is None else _html_cell(v) for v in r] for r in rows], classes)
    return _framed(body, caption, note)


def _html_body(df: pd.DataFrame, classes: str) -> str:
    """``df.to_html(index=False, escape=True, na_rep="—", border=0, classes=classes)``, the same text,
    written directly when every column holds text (or missing cells) or integers — a report table's cells
    are already formatted — else by pandas. A school report has ~100 tables; pandas' formatter machinery
    costs more than the cells."""
    rows = _plain_rows(df)
    if rows is None:
        return df.to_html(index=False, escape=True, na_rep=_TABLE_NA, border=0, classes=classes)
    return _table_text(df.columns, rows, classes)


def _table_text(columns, rows: list[list[str]], classes: str) -> str:
    """The table of :func:`_html_body` from its header names and its cells' HTML."""
    head = "".join(f"\n      <th>{_html_cell(str(c))}</th>" for c in columns)
    rows = "".join("\n    <tr>" + "".join(f"\n      <td>{v}</td>" for v in row) + "\n    </tr>"
                   for row in rows)
    return (f'<table class="dataframe {classes}">\n  <thead>\n    <tr style="text-align: right;">'
            f"{head}\n    </tr>\n  </thead>\n  <tbody>{rows}\n  </tbody>\n</table>")


def _html_cell(text: str) -> str:
    """A cell's text as pandas writes it: stripped, ``&<>`` escaped, double spaces as ``&nbsp;&nbsp;``."""
    return text.strip().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "  ", "&nbsp;&nbsp;")


def _plain_rows(df: pd.DataFrame) -> list[list[str]] | None:
    """Each row's cells as pandas' HTML shows them, or ``None`` when a column is not plain text (or missing)
    or integers (floats, booleans, dates … and text with tabs or line breaks are left to pandas)."""
    if df.columns.nlevels != 1 or df.columns.name is not None or not len(df.columns) or not len(df):
        return None
    if any(not isinstance(c, str) or "\t" in c or "\n" in c or "\r" in c for c in df.columns):
        return None
    ints = []
    for dt in df.dtypes:
        if isinstance(dt, np.dtype) and dt.kind in "iu":
            ints.append(True)
        elif (isinstance(dt, np.dtype) and dt.kind == "O") or isinstance(dt, pd.StringDtype):
            ints.append(False)
        else:
            return None
    rows = []
    for row in df.to_numpy(dtype=object):
        cells = []
        for is_int, v in zip(ints, row):
            if is_int:
                cells.append(str(v))
            elif v is None or (type(v) is float and v != v):
                cells.append(_TABLE_NA)
            elif type(v) is str and "\t" not in v and "\n" not in v and "\r" not in v:
                cells.append(_html_cell(v))
            else:
                return None
        rows.append(cells)
    return rows


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

