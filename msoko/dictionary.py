"""The data dictionary of msoko's own templates (``resources/data_dictionary.toml``).

One description of every template column, read by the code that

* writes the blank templates (:func:`write_templates`, ``msoko templates --out DIR``),
* validates uploaded templates (:func:`clean_template`, used by :mod:`msoko.ingest`),
* writes the documentation ``docs/data_dictionary.md`` (:func:`write_docs`),

so the three cannot drift apart. Run ``python -m msoko.dictionary`` to regenerate
``data/templates/`` and ``docs/data_dictionary.md``.
"""
from __future__ import annotations

import datetime as dt
import re
import sys
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from msoko.errors import MsokoError

TYPES = {"str", "int", "float", "bool", "date", "category"}
TYPE_RU = {"str": "текст", "int": "целое число", "float": "число", "bool": "да/нет",
           "date": "дата (ДД.ММ.ГГГГ)", "category": "значение из списка"}
BOOL_TRUE = {"да", "1", "true", "истина", "+", "yes", "д"}
BOOL_FALSE = {"нет", "0", "false", "ложь", "-", "no", "н"}


@dataclass
class Column:
    id: str
    header: str
    type: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    description: str = ""
    example: str = ""


@dataclass
class Table:
    id: str
    title: str
    description: str
    columns: list[Column]
    key: list[str] = field(default_factory=list)
    school_ref: str | None = None

    def column(self, cid: str) -> Column:
        for c in self.columns:
            if c.id == cid:
                return c
        raise KeyError(cid)


@dataclass
class Dictionary:
    tables: list[Table]

    def table(self, tid: str) -> Table:
        for t in self.tables:
            if t.id == tid:
                return t
        raise KeyError(tid)


def _default_path():
    return resources.files("msoko") / "resources" / "data_dictionary.toml"


@lru_cache(maxsize=4)
def load_dictionary(path: str | None = None) -> Dictionary:
    """Parse and check the dictionary (ids unique, types known, examples valid)."""
    src = Path(path) if path else _default_path()
    try:
        data = tomllib.loads(src.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MsokoError(f"Словарь данных {src}: ошибка синтаксиса TOML: {exc}") from None
    tables = []
    for t in data.get("table", []):
        cols = [Column(**c) for c in t.get("columns", [])]
        table = Table(id=t["id"], title=t.get("title", t["id"]), description=t.get("description", ""),
                      columns=cols, key=list(t.get("key", [])), school_ref=t.get("school_ref"))
        ids = [c.id for c in cols]
        if len(set(ids)) != len(ids):
            raise MsokoError(f"Словарь данных: в таблице «{table.id}» повторяются id столбцов.")
        heads = [c.header.strip().lower() for c in cols]
        if len(set(heads)) != len(heads):
            raise MsokoError(f"Словарь данных: в таблице «{table.id}» повторяются заголовки столбцов.")
        for c in cols:
            if c.type not in TYPES:
                raise MsokoError(f"Словарь данных: «{table.id}.{c.id}»: неизвестный тип «{c.type}».")
            if c.type == "category" and not c.values:
                raise MsokoError(f"Словарь данных: «{table.id}.{c.id}»: для category нужен список values.")
        for k in table.key + ([table.school_ref] if table.school_ref else []):
            if k not in ids:
                raise MsokoError(f"Словарь данных: «{table.id}»: ключевой столбец «{k}» не описан.")
        tables.append(table)
    tids = [t.id for t in tables]
    if len(set(tids)) != len(tids):
        raise MsokoError("Словарь данных: повторяются id таблиц.")
    return Dictionary(tables=tables)


# ------------------------------------------------------------------ cleaning one column
_NUM_JUNK = re.compile(r"[\s\xa0\u202f]")


def parse_number(text: str) -> float | None:
    """'1 234,5' / '1234.5' / '12%' → float; '' → None; raises ValueError otherwise."""
    t = _NUM_JUNK.sub("", text).replace(",", ".")
    if t.endswith("%"):
        t = t[:-1]
    if t == "":
        return None
    return float(t)


def parse_date(value) -> dt.date:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.date() if isinstance(value, dt.datetime) else value
    if isinstance(value, float):  # Excel serial
        return (dt.datetime(1899, 12, 30) + dt.timedelta(days=value)).date()
    t = str(value).strip()
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ValueError(t)


def clean_value(col: Column, raw, text: str):
    """One cell → (value, error). ``error`` is a Russian reason or ``None``."""
    if text == "":
        if col.required:
            return None, "пустое значение в обязательном столбце"
        return None, None
    if col.type == "str":
        return text, None
    if col.type in ("int", "float"):
        try:
            v = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else parse_number(text)
        except ValueError:
            return None, f"ожидается {TYPE_RU[col.type]}"
        if v is None or v != v:
            return None, f"ожидается {TYPE_RU[col.type]}"
        if col.type == "int" and not float(v).is_integer():
            return None, "ожидается целое число"
        if col.min is not None and v < col.min:
            return None, f"значение меньше допустимого минимума {col.min:g}"
        if col.max is not None and v > col.max:
            return None, f"значение больше допустимого максимума {col.max:g}"
        return (int(v) if col.type == "int" else float(v)), None
    if col.type == "bool":
        t = text.lower()
        if t in BOOL_TRUE:
            return True, None
        if t in BOOL_FALSE:
            return False, None
        return None, "ожидается «да» или «нет»"
    if col.type == "date":
        try:
            return parse_date(raw if not isinstance(raw, str) else text), None
        except (ValueError, OverflowError):
            return None, "ожидается дата в виде ДД.ММ.ГГГГ"
    if col.type == "category":
        lookup = {v.lower().replace("ё", "е"): v for v in col.values}
        v = lookup.get(text.lower().replace("ё", "е"))
        if v is None:
            return None, "значение не из списка: " + ", ".join(f"«{x}»" for x in col.values)
        return v, None
    return text, None


PANDAS_DTYPE = {"str": object, "int": "Int64", "float": "float64", "bool": "boolean",
                "date": "datetime64[ns]", "category": object}


def empty_frame(table: Table) -> pd.DataFrame:
    cols = {c.id: pd.Series([], dtype=PANDAS_DTYPE[c.type]) for c in table.columns}
    cols["source_file"] = pd.Series([], dtype=object)
    cols["source_row"] = pd.Series([], dtype="int32")
    return pd.DataFrame(cols)


def typed_frame(table: Table, records: dict[str, list], source_file: str, source_rows: list[int]) -> pd.DataFrame:
    out = {}
    for c in table.columns:
        vals = records.get(c.id, [None] * len(source_rows))
        if c.type == "int":
            out[c.id] = pd.array(vals, dtype="Int64")
        elif c.type == "float":
            out[c.id] = pd.array([np.nan if v is None else v for v in vals], dtype="float64")
        elif c.type == "bool":
            out[c.id] = pd.array(vals, dtype="boolean")
        elif c.type == "date":
            out[c.id] = pd.to_datetime(pd.Series(vals, dtype=object), errors="coerce")
        else:
            out[c.id] = pd.Series(vals, dtype=object)
    df = pd.DataFrame({k: (v.values if isinstance(v, pd.Series) else v) for k, v in out.items()})
    df["source_file"] = source_file
    df["source_row"] = np.asarray(source_rows, dtype="int32")
    return df


# ------------------------------------------------------------------ blank templates and docs
def example_row(table: Table) -> list:
    row = []
    for c in table.columns:
        ex = c.example
        if ex == "":
            row.append(None)
        elif c.type == "int":
            row.append(int(float(ex)))
        elif c.type == "float":
            row.append(float(ex))
        else:
            row.append(ex)
    return row


def write_templates(out_dir: str | Path, fmt: str = "xlsx") -> list[Path]:
    """Write one blank template per table: one sheet, Russian headers, one example row.

    Column comments hold the description, type and allowed values, so a person filling
    the template in Excel sees what each column means.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in load_dictionary().tables:
        if fmt == "csv":
            path = out / f"{table.id}.csv"
            df = pd.DataFrame([example_row(table)], columns=[c.header for c in table.columns])
            df.to_csv(path, sep=";", index=False, encoding="utf-8-sig", decimal=",")
            written.append(path)
            continue
        import xlsxwriter

        path = out / f"{table.id}.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        # fixed creation time: regenerating the templates gives byte-identical files
        wb.set_properties({"title": table.title, "created": dt.datetime(2021, 1, 1)})
        ws = wb.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", table.title)[:31].strip())
        head = wb.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7",
                              "border": 1})
        ex_fmt = wb.add_format({"italic": True, "font_color": "#555555"})
        for j, c in enumerate(table.columns):
            ws.write(0, j, c.header, head)
            note = c.description + f"\nТип: {TYPE_RU[c.type]}" + ("; обязательный" if c.required else "")
            if c.values:
                note += "\nДопустимые значения: " + ", ".join(c.values)
            if c.min is not None or c.max is not None:
                note += f"\nДиапазон: {'' if c.min is None else f'{c.min:g}'}–{'' if c.max is None else f'{c.max:g}'}"
            ws.write_comment(0, j, note, {"x_scale": 2, "y_scale": 2})
            ws.set_column(j, j, max(12, min(40, len(c.header) + 2)))
        for j, v in enumerate(example_row(table)):
            if v is not None:
                ws.write(1, j, v, ex_fmt)
        ws.freeze_panes(1, 0)
        wb.close()
        written.append(path)
    return written


def docs_markdown() -> str:
    d = load_dictionary()
    lines = [
        "# Словарь данных msoko",
        "",
        "<!-- Generated by `python -m msoko.dictionary` from msoko/resources/data_dictionary.toml; do not edit by hand. -->",
        "",
        "Шаблоны msoko — для данных, у которых нет федеральной выгрузки. Шаблон узнаётся по заголовкам "
        "столбцов (первая строка, один лист), а не по имени файла. Пустые шаблоны с примером строки — "
        "в `data/templates/` (создать заново: `msoko templates --out data/templates`). "
        "Принимаются .xlsx и .csv (UTF-8 или Windows-1251, разделитель «;» или «,», десятичная запятая).",
        "",
        "Строка с ошибкой (пустое обязательное значение, неверный тип, значение вне диапазона или не из списка, "
        "повтор ключа, неизвестный логин ОО) не загружается и попадает в `rejects.csv` с причиной; "
        "остальные строки загружаются.",
        "",
        "## Содержание",
        "",
    ]
    for t in d.tables:
        lines.append(f"- [{t.title}](#{t.id}) — `{t.id}`")
    lines.append("")
    for t in d.tables:
        lines += [f"## {t.title} <a id=\"{t.id}\"></a>", "", t.description, "",
                  f"Таблица: `data/processed/{t.id}.parquet`"
                  + (" (вместе с logins и контекстной анкетой даёт `schools.parquet`)" if t.id == "registry" else "")
                  + ". Ключ (уникальность): " + ", ".join(f"`{k}`" for k in t.key)
                  + (f". Столбец `{t.school_ref}` должен быть известным логином ОО." if t.school_ref else "."),
                  "",
                  "| Заголовок в шаблоне | id | Тип | Обяз. | Допустимо | Описание | Пример |",
                  "|---|---|---|---|---|---|---|"]
        for c in t.columns:
            allowed = ""
            if c.values:
                allowed = ", ".join(c.values)
            elif c.min is not None or c.max is not None:
                allowed = f"{'' if c.min is None else f'{c.min:g}'}–{'' if c.max is None else f'{c.max:g}'}"
            lines.append(f"| {c.header} | `{c.id}` | {TYPE_RU[c.type]} | {'да' if c.required else ''} | "
                         f"{allowed} | {c.description} | {c.example} |")
        lines.append("")
    lines += questionnaire_markdown()
    lines.append(CLEANING_DECISIONS)
    return "\n".join(lines)


FEEDS_RU = {"schools": "реестр школ (`schools.parquet`)",
            "context": "система 2: индекс контекста, ШНСУ, факторы риска «500+»",
            "teachers": "система 6 (для ОО без шаблона «Педагогические работники»)",
            "kept": "хранится для анализа"}


def questionnaire_markdown() -> list[str]:
    """The ФИС ОКО context questionnaire columns (``[[questionnaire]]`` in the dictionary)."""
    from msoko.questionnaire import fields

    lines = ["## Контекстная анкета ФИС ОКО <a id=\"context_questionnaire\"></a>", "",
             "Федеральная выгрузка «Сбор контекстных данных об ОО и участниках ВПР» (не шаблон msoko). "
             "Читается вся: каждый столбец находится по заголовку (точный текст, иначе — образец `match` для "
             "вопросов, текст которых меняется по годам, например «в 2021/2022 учебном году»); столбец, которого "
             "нет в словаре, называется в предупреждении загрузки и не загружается. Таблица: "
             "`data/processed/context_questionnaire.parquet`, одна строка на (год, логин ОО); год — из имени файла "
             "или из заголовка «20XX/20YY учебном году». Для ответов вида «2. Город» хранятся код (`id`) и текст "
             "ответа (`id_text`).", "",
             "| Заголовок (2021) | id | Тип | Единица | Куда идёт | Описание |", "|---|---|---|---|---|---|"]
    for f in fields():
        head = f.header.replace("|", "\\|")
        lines.append(f"| {head} | `{f.id}` | {f.type} | {f.unit} | {FEEDS_RU.get(f.feeds, f.feeds)} | "
                     f"{f.description.replace('|', '/')} |")
    lines.append("")
    return lines


CLEANING_DECISIONS = """## Выгрузки ВПР: решения по «грязным» значениям

Каждая строка выгрузки — одна работа обучающегося. Решение по каждому виду значения (реализация — `msoko/ingest.py`):

| Значение | Где | Решение |
|---|---|---|
| `4\\xa0`, ` 4 `, `4.0` | отметка за четверть | очищается: пробелы (в т.ч. неразрывный) и `.0` убираются → 4 |
| `нет отметки`, `н/а`, `*`, `-`, пусто | отметка за четверть | пропуск (null), строка загружается |
| `8`, `1`, буква пола (`м`/`ж`) и любой другой текст | отметка за четверть | пропуск (null), строка загружается; значение записывается в `cleaning_log.csv` (ошибка ввода в одном поле не лишает работу ученика результата ВПР) |
| `М`/`Ж` | пол | → `м`/`ж`; пусто → null; другой текст → null + `cleaning_log.csv` |
| `нет`/`НЕТ`, пусто | класс | null (литера класса неизвестна); литеры приводятся к нижнему регистру (`А` → `а`) |
| `X`, `x`, `х`, `не пройд.` | балл за задание | задание не выполнено/не проверялось: балл null, в сумме считается как 0 |
| пусто | балл за задание | null (задание не выполнено); в 2020 столбцы a-N-grade, пустые во всём файле, — не задания этой работы |
| текст (`abc`) или число с ошибкой | балл за задание | строка **отклоняется** (`rejects.csv`) |
| балл больше максимума из спецификации | балл за задание | строка **отклоняется**; проверка выполняется, только если задания файла совпадают со спецификацией (иначе предупреждение, `max_score` пуст) |
| балл больше максимума у многих участников (> 5 строк и > 1 % участников файла) | балл за задание | это ошибка спецификации, а не строк (в реальных спецификациях такие есть): строки загружаются, берётся наблюдаемый максимум, предупреждение в журнале |
| отрицательный балл | балл за задание, всего баллов | строка **отклоняется** |
| «всего баллов» ≠ сумме баллов за задания | всего баллов | строка **отклоняется** (≈0,1 % строк реальной выгрузки) |
| `вариант` = `отсутствовал` (2021), `var-1` = `отсутствовал` или пустой `sum` (2020) | — | обучающийся отсутствовал: `absent = True`, строка загружается (нужна для охвата), балл, вариант и отметка null, баллов за задания нет |
| пустое «всего баллов» при указанном варианте (2021) | всего баллов | строка **отклоняется** |
| пустой логин школы или код обучающегося | — | строка **отклоняется** |
| логин школы, которого нет в реестре (logins.xlsx / шаблон registry) | — | строка **отклоняется** (если реестра нет вовсе, проверка пропускается с предупреждением) |
| повтор ключа (год, класс, предмет, логин, код) | — | первая строка загружается, повторы **отклоняются** со ссылкой на первую |
| столбец «Учебник» среди столбцов заданий (2020) | — | читается как задание, номер которого он заменил (ячейки — баллы, входят в `sum`) |
| безымянные пустые столбцы в конце | — | не читаются |
| «Учебник», «Др.уч. автор», «Др.уч. название» (2021) | — | сохраняются для каждого писавшего работу в `vpr_textbooks.parquet`; расчёт считает обучающихся по учебникам каждой работы в школе и муниципалитете (`textbook_use.parquet`) и их результаты против муниципалитета (`textbook_results.parquet`: средний % от максимума, доли «2» и «4»–«5» с интервалами; сравниваются только учебники не меньше 2 школ) |
| полностью пустые строки | — | пропускаются и не считаются прочитанными строками |
| HTML или разметка в тексте (например, в названии школы) | любые текстовые поля | сохраняется как текст без изменений (отчёты экранируют текст при выводе); строка не отклоняется |

Отметка за работу: если в выгрузке есть столбец отметки за работу, берётся она; иначе — по шкале перевода
`msoko/resources/mark_scales.csv` (год, класс, предмет; источник указан в файле) или по файлу шкал в папке исходных
данных (столбцы `year;grade;subject;min3;min4;min5` или `Год | Класс | Предмет | Мин. балл на «3» | «4» | «5»`;
такой файл узнаётся по заголовку и имеет приоритет над встроенными шкалами). Если шкалы нет, отметка
остаётся пустой, а в журнал загрузки один раз на (год, класс, предмет) пишется предупреждение; строка не отклоняется.

Баланс: для каждого файла «прочитано строк = записано + отклонено»; печатается при загрузке и сохраняется в
`ingest_report.csv`. Отклонённые строки — в `rejects.csv` (файл, номер строки Excel, столбец, значение, причина).
"""


def write_docs(path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(docs_markdown() + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parents[1]
    for p in write_templates(repo / "data" / "templates"):
        print(p.relative_to(repo))
    print(write_docs(repo / "docs" / "data_dictionary.md").relative_to(repo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
