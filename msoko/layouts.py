"""Layouts: which kind of file this is, decided from its header row only.

:func:`detect` maps a header to a :class:`Layout` — the kind of file and, for
each canonical field, the column that holds it. A header that matches no known
layout raises :class:`LayoutError` with a Russian message that names the file
and the columns that could not be mapped; a header that looks like a known
layout but lacks some of its columns names the missing ones. Nothing is guessed.

Known layouts
-------------
``vpr2020``   ФИС ОКО export, autumn 2020: ``groups | user | id | code | otc | gender |
              klass | var-1 | var-2 | sum | a-1-grade … a-N-grade``; a column headed
              ``Учебник`` may stand in place of one ``a-k-grade`` column (see below).
``vpr2021``   ФИС ОКО export, 2021: ``логин школы | регион | номер обучающегося |
              код обучающегося | отметка за предыдущую четверть/триместр | пол | класс |
              вариант | всего баллов | балл за 1 … | Учебник | Др.уч. автор | …``.
``logins``    ``логин | имя | регион``.
``context``   ФИС ОКО school context questionnaire (``логин`` + «Где расположена …»).
``task_specs`` task specification ``№ КИМ | № | Умения … | Уровень сложности | Код КЭС |
              Код КТ | Максимальный балл …``.
``mark_scales`` ВПР mark scales (``year | grade | subject | min3 | min4 | min5`` or
              ``Год | Класс | Предмет | Мин. балл на «3» | …``); they win over the built-in ones.
``codifier``  КЭС/КТ codifier lists (``Код | Проверяемые элементы …``) — recognised and skipped.
``template``  one of msoko's own templates (``resources/data_dictionary.toml``), by the
              Russian headers of its columns.

The ``Учебник`` column of the 2020 layout
-----------------------------------------
In the 2020 exports the textbook column header replaced the header of one task
column: the header runs ``… a-15-grade | Учебник | a-17-grade …`` (or ``a-19-grade |
Учебник | a-21-grade``). The cells below it hold task scores (``0``, ``2``, ``X``)
that are counted in ``sum``, so it is read as the task whose number it replaced.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from msoko.errors import MsokoError

CANONICAL_SUBJECTS = [
    "Русский язык", "Математика", "Окружающий мир", "Биология", "История", "География",
    "Обществознание", "Физика", "Химия", "Английский язык", "Немецкий язык", "Французский язык",
]

# dative forms used in «Проведение работы по <предмету>, N класс»
SUBJECT_DATIVE = {
    "русскому языку": "Русский язык",
    "математике": "Математика",
    "окружающему миру": "Окружающий мир",
    "биологии": "Биология",
    "истории": "История",
    "географии": "География",
    "обществознанию": "Обществознание",
    "физике": "Физика",
    "химии": "Химия",
    "английскому языку": "Английский язык",
    "немецкому языку": "Немецкий язык",
    "французскому языку": "Французский язык",
}


class LayoutError(MsokoError):
    """The header matches no known layout, or a known layout misses columns."""


def norm(text: str) -> str:
    """Header comparison key: lower case, ё→е, whitespace collapsed, trailing spaces/colons off."""
    t = str(text).replace("\xa0", " ").replace("ё", "е").replace("Ё", "Е").lower()
    t = re.sub(r"\s+", " ", t).strip().rstrip(":").strip()
    return t


@dataclass
class Layout:
    kind: str
    columns: dict[str, int] = field(default_factory=dict)   # canonical field -> column index
    tasks: list[tuple[str, int]] = field(default_factory=list)  # (task number, column index)
    table: str | None = None                                  # template id
    ignored: list[str] = field(default_factory=list)          # named columns deliberately not read
    notes: list[str] = field(default_factory=list)            # Russian notes for the log
    textbook: dict[str, int] = field(default_factory=dict)    # textbook columns (2021): field -> column index

    def duplicate_tasks(self) -> dict[str, list[int]]:
        """Task numbers that head more than one column (two «балл за 2»): task → column indices."""
        where: dict[str, list[int]] = {}
        for label, i in self.tasks:
            where.setdefault(label, []).append(i)
        return {label: cols for label, cols in where.items() if len(cols) > 1}


# ---------------------------------------------------------------- ВПР 2020
V2020_FIELDS = {
    "groups": None, "user": "school_id", "id": None, "code": "student_code", "otc": "journal_mark",
    "gender": "sex", "klass": "class", "var-1": "variant", "var-2": None, "sum": "total",
}
V2020_REQUIRED = ["user", "code", "otc", "gender", "klass", "var-1", "sum"]
_A_TASK = re.compile(r"^a-(\d+)-grade$")

# ---------------------------------------------------------------- ВПР 2021
V2021_FIELDS = {
    "логин школы": "school_id", "регион": "region", "номер обучающегося": None,
    "код обучающегося": "student_code", "отметка за предыдущую четверть/триместр": "journal_mark",
    "пол": "sex", "класс": "class", "вариант": "variant", "всего баллов": "total",
    # an official mark for the work, if an export ever carries one (it wins over the scale)
    "отметка": "export_mark", "отметка за работу": "export_mark",
}
V2021_REQUIRED = ["логин школы", "код обучающегося", "отметка за предыдущую четверть/триместр",
                  "пол", "класс", "вариант", "всего баллов"]
V2021_TEXTBOOK = {"учебник": "textbook", "др.уч. автор": "other_author", "др.уч. название": "other_title"}
_B_TASK = re.compile(r"^балл за (?:задание )?(.+)$")

# ---------------------------------------------------------------- other inputs
LOGINS_FIELDS = {"логин": "school_id", "имя": "name", "регион": "municipality"}

CONTEXT_KEY = "где расположена ваша образовательная организация?"
CONTEXT_FIELDS = {
    "логин": "school_id",
    "название оо": "name_short",
    "полное наименование оо согласно уставу": "name_full",
    "организационно-правовая форма оо": "legal_form",
    CONTEXT_KEY: "settlement_kind",
    "каков размер населенного пункта, в котором расположена оо?": "settlement_size",
    "оо является специальной (коррекционной)?": "is_correctional",
    "оо является вечерней (сменной)?": "is_evening",
    "оо является школой-интернатом?": "is_boarding",
    "укажите количество обучающихся в оо в 2020/2021 учебном году (в сумме по всем классам)": "students_total",
    "сколько всего в школе учителей (работающих не менее чем на 0,5 ставки)?": "teachers_total",
    "регулярное транспортное сообщение": "transport_link",
}
CONTEXT_PREFIX = {  # long questions matched by their beginning
    "укажите наименование населенного пункта": "settlement",
    "существует ли регулярное транспортное сообщение": "transport_link",
}

SPEC_FIELDS = {
    "№ ким": "task_label", "№ по киму": "task_label", "№": "task",
    "уровень сложности": "level", "код кэс": "kes", "код кт": "kt",
    "максимальный балл за выполнение задания": "max_score", "максимальный балл": "max_score",
}
SPEC_PREFIX = {"умения": "skill", "блоки пооп": "outcome", "примерное время": None}



# a mark-scale table in the raw folder (same columns as resources/mark_scales.csv; it wins)
SCALE_FIELDS = {"year": "year", "год": "year", "grade": "grade", "класс": "grade", "subject": "subject",
                "предмет": "subject", "min3": "min3", "min4": "min4", "min5": "min5",
                "мин. балл на «3»": "min3", "мин. балл на «4»": "min4", "мин. балл на «5»": "min5",
                "source": "source", "источник": "source"}


def _first_index(keys: list[str], wanted: str) -> int | None:
    try:
        return keys.index(wanted)
    except ValueError:
        return None


def _missing_message(path: Path, what: str, missing: list[str]) -> str:
    cols = ", ".join(f"«{m}»" for m in missing)
    return (f"Файл «{path.name}» похож на {what}, но в нём нет столбцов: {cols}. "
            "Файл пропущен; добавьте столбцы (заголовки в первой строке) и запустите загрузку снова.")


def _vpr2020(header: list[str], keys: list[str], path: Path) -> Layout:
    missing = [c for c in V2020_REQUIRED if c not in keys]
    if missing:
        raise LayoutError(_missing_message(path, "выгрузку ВПР 2020 (ФИС ОКО)", missing))
    lay = Layout(kind="vpr2020")
    for name, fld in V2020_FIELDS.items():
        i = _first_index(keys, name)
        if i is not None and fld:
            lay.columns[fld] = i
    prev_task = None
    pending_textbook = None
    for i, k in enumerate(keys):
        m = _A_TASK.match(k)
        if m:
            n = int(m.group(1))
            if pending_textbook is not None and prev_task is not None and n == prev_task + 2:
                lay.tasks.append((str(prev_task + 1), pending_textbook))
                lay.notes.append(f"столбец «Учебник» стоит на месте задания {prev_task + 1} и читается как это задание")
            elif pending_textbook is not None:
                lay.ignored.append(header[pending_textbook])
            pending_textbook = None
            lay.tasks.append((str(n), i))
            prev_task = n
        elif k == "учебник":
            pending_textbook = i
        elif k in V2020_FIELDS or k == "":
            continue
        else:
            lay.ignored.append(header[i])
    if pending_textbook is not None:
        lay.ignored.append(header[pending_textbook])
    if not lay.tasks:
        raise LayoutError(_missing_message(path, "выгрузку ВПР 2020 (ФИС ОКО)", ["a-1-grade … a-N-grade"]))
    return lay


def _vpr2021(header: list[str], keys: list[str], path: Path) -> Layout:
    missing = [c for c in V2021_REQUIRED if c not in keys]
    if missing:
        raise LayoutError(_missing_message(path, "выгрузку ВПР 2021 (ФИС ОКО)", missing))
    lay = Layout(kind="vpr2021")
    for i, k in enumerate(keys):
        if k in V2021_FIELDS:
            fld = V2021_FIELDS[k]
            if fld and fld not in lay.columns:
                lay.columns[fld] = i
            continue
        m = _B_TASK.match(k)
        if m:
            label = m.group(1).strip()
            lay.tasks.append((label, i))
        elif k in V2021_TEXTBOOK:
            lay.textbook.setdefault(V2021_TEXTBOOK[k], i)   # kept beside the work (vpr_textbooks.parquet)
        elif k == "":
            continue
        else:
            lay.ignored.append(header[i])
    if not lay.tasks:
        raise LayoutError(_missing_message(path, "выгрузку ВПР 2021 (ФИС ОКО)", ["балл за 1 … балл за N"]))
    return lay


def _simple(kind: str, fields: dict, keys: list[str], header: list[str],
            prefix: dict | None = None) -> Layout:
    lay = Layout(kind=kind)
    for i, k in enumerate(keys):
        fld = fields.get(k, "?")
        if fld == "?" and prefix:
            for p, f in prefix.items():
                if k.startswith(p):
                    fld = f
                    break
        if fld == "?":
            if k:
                lay.ignored.append(header[i])
            continue
        if fld and fld not in lay.columns:  # first occurrence wins (duplicated header blocks)
            lay.columns[fld] = i
    return lay


def template_candidates(keys: list[str]):
    """Yield (n_mapped, table) for every dictionary table, best first."""
    from msoko.dictionary import load_dictionary

    keyset = set(keys)
    scored = []
    for table in load_dictionary().tables:
        headers = {norm(c.header) for c in table.columns}
        n = len(headers & keyset)
        if n:
            scored.append((n, n / len(headers), table))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    return scored


def detect(header: list[str], path: str | Path) -> Layout:
    """Classify a file by its header row. Raises :class:`LayoutError` (Russian) when it cannot."""
    path = Path(path)
    keys = [norm(h) for h in header]
    keyset = set(keys) - {""}
    if not keyset:
        raise LayoutError(f"Файл «{path.name}»: первая строка пуста — нет заголовков столбцов. Файл пропущен.")

    # ВПР exports
    n2020 = len(keyset & set(V2020_FIELDS)) + any(_A_TASK.match(k) for k in keyset)
    n2021 = len(keyset & set(V2021_FIELDS)) + any(_B_TASK.match(k) for k in keyset)
    if n2020 >= 5 and n2020 >= n2021:
        return _vpr2020(header, keys, path)
    if n2021 >= 5:
        return _vpr2021(header, keys, path)

    if {"логин", "имя", "регион"} <= keyset:
        return _simple("logins", LOGINS_FIELDS, keys, header)
    if "логин" in keyset and CONTEXT_KEY in keyset:
        return _simple("context", CONTEXT_FIELDS, keys, header, CONTEXT_PREFIX)
    spec_keys = {"№", "уровень сложности", "код кэс"}
    if ("№ ким" in keyset or "№ по киму" in keyset) and spec_keys & keyset:
        lay = _simple("task_specs", SPEC_FIELDS, keys, header, SPEC_PREFIX)
        missing = [h for f, h in [("task", "№"), ("max_score", "Максимальный балл за выполнение задания")]
                   if f not in lay.columns]
        if missing:
            raise LayoutError(_missing_message(path, "спецификацию заданий ВПР", missing))
        return lay
    if "код" in keyset and len(keyset) <= 3 and any(k.startswith("проверяем") for k in keyset):
        return Layout(kind="codifier")

    scale = {SCALE_FIELDS[k]: i for i, k in reversed(list(enumerate(keys))) if k in SCALE_FIELDS}
    if {"year", "grade", "subject", "min3", "min4", "min5"} <= set(scale):
        return Layout(kind="mark_scales", columns=scale,
                      ignored=[h for h, k in zip(header, keys) if k and k not in SCALE_FIELDS])

    # msoko templates
    cands = template_candidates(keys)
    if cands:
        n, frac, table = cands[0]
        header_of = {norm(c.header): c for c in table.columns}
        mapped = {k for k in keyset if k in header_of}
        required = [c for c in table.columns if c.required]
        missing = [c.header for c in required if norm(c.header) not in keyset]
        if not missing:
            lay = Layout(kind="template", table=table.id)
            for i, k in enumerate(keys):
                if k in header_of:
                    cid = header_of[k].id
                    if cid not in lay.columns:
                        lay.columns[cid] = i
                elif k:
                    lay.ignored.append(header[i])
            return lay
        if n >= 2 and frac >= 0.5 and len(mapped) >= len(keyset) * 0.5:
            raise LayoutError(_missing_message(path, f"шаблон msoko «{table.title}»", missing))

    unmapped = [h for h in header if h]
    shown = ", ".join(f"«{h}»" for h in unmapped[:15]) + (f" и ещё {len(unmapped) - 15}" if len(unmapped) > 15 else "")
    raise LayoutError(
        f"Файл «{path.name}»: неизвестный формат — не удалось сопоставить столбцы: {shown}. "
        "Это не выгрузка ВПР (2020 или 2021), не logins, не контекстная анкета, не спецификация заданий "
        "и не шаблон msoko (см. docs/data_dictionary.md). Файл пропущен, загрузка продолжается."
    )


# ---------------------------------------------------------------- year / grade / subject of a ВПР file
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_GRADE_IN_NAME = re.compile(r"(?<!\d)(\d{1,2})\s*(?:-?й\s*)?класс", re.IGNORECASE)


def subject_from_text(text: str) -> str | None:
    t = norm(text)
    for s in CANONICAL_SUBJECTS:
        if norm(s) == t:
            return s
    m = re.search(r"по\s+([а-яё ]+?)(?:,|\s+\d|\s*\(|$)", t)
    if m:
        phrase = m.group(1).strip()
        for dat, s in SUBJECT_DATIVE.items():
            if phrase.startswith(dat):
                return s
    for dat, s in SUBJECT_DATIVE.items():
        if dat in t:
            return s
    for s in CANONICAL_SUBJECTS:
        if norm(s) in t:
            return s
    return None


def _rel_parts(path: Path, raw_root: str | Path | None) -> tuple[Path, list[str]]:
    rel = path.relative_to(raw_root) if raw_root and path.is_relative_to(raw_root) else path
    return rel, list(rel.parts[:-1])


def _name_identity(stem: str) -> tuple[int | None, int | None, str | None]:
    """(year, grade, subject) as the file name states them (None where it does not)."""
    m = _YEAR.search(stem)
    year = int(m.group(1)) if m else None
    m = _GRADE_IN_NAME.search(stem)
    grade = int(m.group(1)) if m else None
    return year, grade, subject_from_text(stem)


def _folder_identity(parts: list[str]) -> tuple[int | None, int | None, str | None]:
    """(year, grade, subject) as the folders state them: ``…/<year>/<grade>/`` (a grade folder follows
    the year folder), else the innermost folder that is a grade or holds a year; a folder named exactly
    as a subject gives the subject."""
    year = grade = subject = None
    for i, p in enumerate(parts):
        if year is None and _YEAR.fullmatch(p.strip()):
            year = int(p)
        if grade is None and p.strip().isdigit() and 1 <= int(p) <= 11:
            if i > 0 and _YEAR.fullmatch(parts[i - 1].strip() or ""):
                grade = int(p)
    if grade is None:
        for p in reversed(parts):
            if p.strip().isdigit() and 1 <= int(p) <= 11:
                grade = int(p)
                break
    if year is None:
        for p in reversed(parts):
            m = _YEAR.search(p)
            if m:
                year = int(m.group(1))
                break
    for p in reversed(parts):
        exact = [c for c in CANONICAL_SUBJECTS if norm(c) == norm(p)]
        if exact:
            subject = exact[0]
            break
    return year, grade, subject


def vpr_identity(path: str | Path, raw_root: str | Path | None = None) -> tuple[int, int, str]:
    """(year, grade, subject) of a ВПР workbook from its path and file name.

    ``…/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx`` → (2021, 4, 'Математика');
    ``…/2020/4/Математика.xlsx`` → (2020, 4, 'Математика'). The file name wins over folders;
    :func:`vpr_identity_conflicts` says where the two disagree (ingest then refuses the file's rows).
    """
    path = Path(path)
    rel, parts = _rel_parts(path, raw_root)
    by_name, by_folder = _name_identity(path.stem), _folder_identity(parts)
    year, grade = (n if n is not None else f for n, f in zip(by_name[:2], by_folder[:2]))
    subject = by_name[2]
    missing = [w for w, v in (("год", year), ("класс", grade), ("предмет", subject)) if v is None]
    if missing:
        raise LayoutError(
            f"Файл «{rel}»: выгрузка ВПР, но по пути и имени файла не удалось определить: {', '.join(missing)}. "
            "Ожидается, например, «2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx» "
            "или «2020/4/Математика.xlsx». Файл пропущен."
        )
    return year, grade, subject


def vpr_identity_conflicts(path: str | Path, raw_root: str | Path | None = None) -> list[str]:
    """Where the file name and its folders disagree on year, grade or subject, in Russian
    («год: 2022 в имени файла, 2023 по папке»); empty when they agree or one of them is silent."""
    path = Path(path)
    _, parts = _rel_parts(path, raw_root)
    out = []
    for what, n, f in zip(("год", "класс", "предмет"), _name_identity(path.stem), _folder_identity(parts)):
        if n is not None and f is not None and n != f:
            out.append(f"{what}: {n} в имени файла, {f} по папке")
    return out
