"""Reading and writing the processed tables (Parquet, pyarrow).

One place that knows where a processed table lives, so no module builds paths
by hand.
"""
from __future__ import annotations

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


def write_table(df: pd.DataFrame, processed_dir: str | Path, name: str) -> Path:
    """Write a table atomically (temporary file, then rename)."""
    path = table_path(processed_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path
