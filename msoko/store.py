"""Reading and writing the processed tables (Parquet, pyarrow).

One place that knows where a processed table lives, so no module builds paths
by hand.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from msoko.errors import MsokoError


def table_path(processed_dir: str | Path, name: str) -> Path:
    return Path(processed_dir) / f"{name}.parquet"


def read_table(processed_dir: str | Path, name: str, *, columns: list[str] | None = None,
               missing_ok: bool = False) -> pd.DataFrame | None:
    """Read ``<processed_dir>/<name>.parquet``.

    A missing table raises a Russian :class:`MsokoError`, or returns ``None``
    when ``missing_ok``.
    """
    path = table_path(processed_dir, name)
    if not path.exists():
        if missing_ok:
            return None
        raise MsokoError(
            f"Не найдена обработанная таблица «{name}» ({path}). "
            "Сначала выполните загрузку данных: msoko ingest --raw <папка> --processed <папка>."
        )
    return pd.read_parquet(path, columns=columns)


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path in the folder of ``path``; on success it replaces ``path`` (``os.replace``).

    A reader never sees a half-written file: either the old one or the new one. On an error the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write a UTF-8 text file (JSON state, meta, logs) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a frame to a Parquet file atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """One cell for a CSV a person opens in Excel: text starting with = + - @ TAB or CR gets a leading ``'``.

    Only text is changed (numbers stay numbers); the rule is OWASP's for CSV injection.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_unsafe(value):
    """Inverse of :func:`csv_safe`, for a CSV msoko reads back (``ingest_report.csv``)."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV for people (UTF-8 with BOM, opens in Excel) atomically, every text cell through :func:`csv_safe`."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(csv_safe)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, encoding="utf-8-sig")
    return Path(path)


def write_table(df: pd.DataFrame, processed_dir: str | Path, name: str) -> Path:
    """Write a table atomically (temporary file, then rename)."""
    return write_parquet(df, table_path(processed_dir, name))
