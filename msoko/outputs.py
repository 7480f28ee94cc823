"""Output schemas: the contract between ``msoko compute`` and the reports.

Every table compute writes is declared in ``resources/output_schema.toml`` — its columns,
their dtype kind (``int``, ``float``, ``bool``, ``str``), which must have no missing value,
the allowed values (listed, or the keys of a mapping in msoko named by ``values_from``) and
the table's key. :func:`validate` checks a frame before it is written; a violation is a bug
in msoko, never bad input, so it raises :class:`OutputSchemaError` naming table and column —
the frame is never patched. :func:`docs_markdown` renders ``docs/outputs.md``.
"""
from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
from pandas.api import types as ptypes

KINDS = ("int", "float", "bool", "str")
KIND_RU = {"int": "целое", "float": "число", "bool": "да/нет", "str": "текст"}


class OutputSchemaError(RuntimeError):
    """A table compute produced breaks its declared schema: a bug in msoko (message in Russian)."""


@dataclass(frozen=True)
class OutputColumn:
    name: str
    dtype: str
    required: bool = False
    values: tuple[str, ...] | None = None
    values_from: str | None = None

    def allowed(self) -> set[str] | None:
        if self.values is not None:
            return set(self.values)
        if self.values_from:
            module, attr = self.values_from.split(":")
            return set(getattr(importlib.import_module(module), attr))
        return None


@dataclass(frozen=True)
class OutputTable:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[OutputColumn, ...]

    def column(self, name: str) -> OutputColumn:
        return next(c for c in self.columns if c.name == name)


@cache
def load_schemas(path: str | None = None) -> dict[str, OutputTable]:
    """Every declared output table, by name (``path``: another TOML, for tests)."""
    text = Path(path).read_text(encoding="utf-8") if path else \
        resources.files("msoko").joinpath("resources/output_schema.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    out = {}
    for name, spec in raw.items():
        cols = []
        for cname, c in spec["columns"].items():
            if c["dtype"] not in KINDS:
                raise OutputSchemaError(f"Схема выходных таблиц: у столбца «{name}.{cname}» неизвестный тип "
                                        f"«{c['dtype']}» (допустимы: {', '.join(KINDS)}).")
            cols.append(OutputColumn(cname, c["dtype"], bool(c.get("required", False)),
                                     tuple(c["values"]) if "values" in c else None, c.get("values_from")))
        table = OutputTable(name, spec.get("description", ""), tuple(spec.get("key", ())), tuple(cols))
        unknown = set(table.key) - {c.name for c in cols}
        if unknown:
            raise OutputSchemaError(f"Схема выходных таблиц: ключ таблицы «{name}» называет необъявленные "
                                    f"столбцы: {', '.join(sorted(unknown))}.")
        out[name] = table
    return out


def _kind_ok(series: pd.Series, kind: str) -> bool:
    if series.isna().all():  # an all-missing column carries no dtype worth checking
        return True
    if kind == "bool":
        return ptypes.is_bool_dtype(series)
    if kind == "int":
        return ptypes.is_integer_dtype(series) and not ptypes.is_bool_dtype(series)
    if kind == "float":
        return ptypes.is_numeric_dtype(series) and not ptypes.is_bool_dtype(series)
    return ptypes.is_string_dtype(series) or ptypes.is_object_dtype(series)


def _sample(values) -> str:
    vals = sorted(map(str, values))
    return ", ".join(f"«{v}»" for v in vals[:5]) + (f" и ещё {len(vals) - 5}" if len(vals) > 5 else "")


def violations(name: str, df: pd.DataFrame, schemas: dict[str, OutputTable] | None = None) -> list[str]:
    """Every way ``df`` breaks the schema of output table ``name`` (Russian sentences; empty if none)."""
    schemas = load_schemas() if schemas is None else schemas
    if name not in schemas:
        return [f"таблица «{name}» не объявлена в схеме выходных таблиц (resources/output_schema.toml)"]
    table = schemas[name]
    declared = [c.name for c in table.columns]
    problems = []
    # the municipality of a table the reports read by municipality is added when compute writes it
    # (msoko.compute._write): a frame as a function returns it may lack that column
    from msoko.store import SLICE_COLUMN, SLICED_TABLES
    missing = [c for c in declared if c not in df.columns and not (name in SLICED_TABLES and c == SLICE_COLUMN)]
    if missing:
        problems.append(f"таблица «{name}»: нет объявленных столбцов {_sample(missing)}")
    extra = [c for c in df.columns if c not in declared]
    if extra:
        problems.append(f"таблица «{name}»: столбцы {_sample(extra)} не объявлены в схеме")
    if df.columns.duplicated().any():
        problems.append(f"таблица «{name}»: повторяются столбцы {_sample(set(df.columns[df.columns.duplicated()]))}")
        return problems
    for col in table.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if not _kind_ok(s, col.dtype):
            problems.append(f"таблица «{name}», столбец «{col.name}»: тип {s.dtype}, а объявлен "
                            f"«{col.dtype}» ({KIND_RU[col.dtype]})")
        if col.required and s.isna().any():
            problems.append(f"таблица «{name}», столбец «{col.name}»: {int(s.isna().sum())} пропущенных значений "
                            "в обязательном столбце")
        allowed = col.allowed()
        if allowed is not None:
            bad = set(s.dropna().astype(str).unique()) - allowed
            if bad:
                problems.append(f"таблица «{name}», столбец «{col.name}»: недопустимые значения {_sample(bad)}")
    if table.key and not missing and len(df):
        dup = df.duplicated(list(table.key), keep=False)
        if dup.any():
            problems.append(f"таблица «{name}»: ключ ({', '.join(table.key)}) повторяется в {int(dup.sum())} строках")
    return problems


def validate(name: str, df: pd.DataFrame, schemas: dict[str, OutputTable] | None = None) -> pd.DataFrame:
    """``df`` unchanged when it keeps the schema of ``name``; otherwise :class:`OutputSchemaError`."""
    problems = violations(name, df, schemas)
    if problems:
        raise OutputSchemaError("внутренняя ошибка msoko: результат расчёта не соответствует схеме выходных "
                                "таблиц — " + "; ".join(problems) + ". Сообщите разработчикам.")
    return df


def docs_markdown() -> str:
    """``docs/outputs.md``: every output table with its key and columns."""
    from msoko.store import SLICED_TABLES

    lines = ["# Выходные таблицы `msoko compute`", "",
             "Создано из `msoko/resources/output_schema.toml` (`python -m msoko.outputs docs/outputs.md`); "
             "не редактируйте вручную. Расчёт проверяет каждую таблицу по этой схеме перед записью; "
             "отчёты читают только эти таблицы.", "",
             "Таблицы " + ", ".join(f"`{t}`" for t in SLICED_TABLES) + " записаны по муниципалитетам: у каждой строки "
             "столбец `municipality` (муниципалитет школы; у строки муниципалитета — он сам; пусто у строки всех "
             "загруженных данных), строки упорядочены по нему группами Parquet, так что отчёт школы или "
             "муниципалитета читает фильтром только строки своего муниципалитета (`msoko.report.load`).", ""]
    for table in load_schemas().values():
        lines += [f"## `{table.name}.parquet`", "", table.description, "",
                  f"Ключ: {', '.join(f'`{k}`' for k in table.key) or '—'}.", "",
                  "| столбец | тип | обязателен | допустимые значения |", "|---|---|---|---|"]
        for c in table.columns:
            allowed = ", ".join(f"«{v}»" for v in c.values) if c.values is not None else \
                (f"ключи `{c.values_from}`" if c.values_from else "")
            lines.append(f"| `{c.name}` | {KIND_RU[c.dtype]} | {'да' if c.required else ''} | {allowed} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    import sys
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "docs/outputs.md")
    path.write_text(docs_markdown(), encoding="utf-8")
    print(f"Записано: {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
