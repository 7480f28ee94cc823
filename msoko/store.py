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

from msoko.errors import MsokoError, OutputError


def table_path(processed_dir: str | Path, name: str) -> Path:
    return Path(processed_dir) / f"{name}.parquet"


def read_table(processed_dir: str | Path, name: str, *, columns: list[str] | None = None,
               missing_ok: bool = False, categories: list[str] | None = None) -> pd.DataFrame | None:
    """Read ``<processed_dir>/<name>.parquet``.

    A missing table raises a Russian :class:`MsokoError`, or returns ``None``
    when ``missing_ok``. The string columns named in ``categories`` (those of them the file has) are read
    as categoricals (Arrow dictionaries): a code per row instead of a string per row.
    """
    path = table_path(processed_dir, name)
    if not path.exists():
        if missing_ok:
            return None
        raise MsokoError(
            f"Не найдена обработанная таблица «{name}» ({path}). "
            "Сначала выполните загрузку данных: msoko ingest --raw <папка> --processed <папка>."
        )
    if categories:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        categories = [c for c in categories if c in schema.names and (columns is None or c in columns)
                      and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]
        if categories:
            return pd.read_parquet(path, columns=columns, read_dictionary=categories)
    return pd.read_parquet(path, columns=columns)


def output_error(exc: OSError, folder: str | Path) -> OutputError | None:
    """``exc`` worded for a user when it is a failure to write into ``folder`` (disk full, read-only
    file system, no permission there); ``None`` when it is something else (e.g. reading an input)."""
    import errno

    folder = Path(folder)
    name = getattr(exc, "filename", None)
    try:
        inside = name is None or Path(os.path.abspath(name)).is_relative_to(Path(os.path.abspath(folder)))
    except (TypeError, ValueError):
        inside = False
    where = f"в папку «{folder}»" + (f" (файл «{Path(name).name}»)" if name else "")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return OutputError(f"Нет места на диске: не удалось записать {where}. Освободите место или укажите "
                           "другую папку и запустите команду снова; записанное раньше не повреждено — каждый файл "
                           "пишется целиком или не пишется.")
    if exc.errno == errno.EROFS:
        return OutputError(f"Не удалось записать {where}: файловая система доступна только для чтения. "
                           "Укажите папку, в которую можно писать.")
    if exc.errno in (errno.EACCES, errno.EPERM) and inside:
        return OutputError(f"Нет прав на запись {where}. Дайте права на запись в эту папку или укажите другую.")
    return None


@contextmanager
def writing_to(folder: str | Path):
    """Inside: an :class:`OSError` of writing into ``folder`` becomes a Russian :class:`OutputError`
    naming the folder (see :func:`output_error`); any other error passes unchanged."""
    try:
        yield
    except OSError as exc:
        err = output_error(exc, folder)
        if err is None:
            raise
        raise err from None


class FolderLock:
    """A lock file in a folder msoko writes: one command at a time (``with FolderLock(...):``).

    Created exclusively (``O_EXCL``) with the holder's pid; a lock whose process is gone is taken
    over. ``busy`` words the refusal: ``busy.format(pid=…, folder=…, lock=…)``."""

    BUSY = ("Папка «{folder}» занята: в неё уже пишет другой процесс msoko (процесс {pid}). Дождитесь его "
            "окончания или удалите {lock}, если он завис.")

    def __init__(self, folder: str | Path, name: str = ".msoko.lock", busy: str | None = None):
        self.path = Path(folder) / name
        self.busy = busy or self.BUSY
        self.held = False

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                self.held = True
                return self
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or 0)
                except (OSError, ValueError):
                    pid = 0
                if pid and pid_alive(pid, self.path):
                    raise MsokoError(self.busy.format(pid=pid, folder=self.path.parent, lock=self.path)) from None
                self.path.unlink(missing_ok=True)  # stale lock of a dead process
        raise MsokoError(f"Не удалось захватить блокировку {self.path}.")

    def __exit__(self, *exc):
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def pid_alive(pid: int, lock: Path | None = None) -> bool:
    """Whether process ``pid`` (the holder of ``lock``) still runs."""
    import time

    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there: trust a fresh lock
        try:
            return time.time() - lock.stat().st_mtime < 12 * 3600 if lock else True
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def file_mode() -> int:
    """The mode of a file msoko writes: what the umask gives any new file, and readable by the group."""
    try:   # Linux: read without changing it (os.umask would, for a moment, for every thread)
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("Umask:"))
        umask = int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0o022)
        os.umask(umask)
    return (0o666 & ~umask) | 0o440


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
        # mkstemp makes 0600; the file gets the mode any program would give it (umask), and is always
        # readable by the group — an analyst's colleague reads the processed tables
        os.chmod(tmp, file_mode())
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


def write_parquet(df: pd.DataFrame, path: str | Path, *, row_group_size: int | None = None) -> Path:
    """Write a frame to a Parquet file atomically."""
    with atomic_path(path) as tmp:
        if row_group_size is None:
            df.to_parquet(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False, row_group_size=row_group_size)
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


# ---------------------------------------------------------------- tables read by municipality
# The large tables a report reads (issue 25): each row carries its ``municipality`` (the school's, or the
# municipality's own for municipality-level rows; missing for a row of all the loaded data), and the file is
# written sorted by it in row groups of at most SLICE_ROW_GROUP rows. A report kernel then reads the rows
# of its municipality (and the region-wide ones) with a Parquet filter that skips the other row groups
# (:func:`read_slice`): its memory follows the municipality, not the number of municipalities loaded.
SLICE_COLUMN = "municipality"
SLICED_TABLES = ("indicators", "objectivity", "objectivity_evidence", "cycle_analysis", "vpr_score_counts",
                 "priorities", "first_screen", "recommendations")
SLICE_ROW_GROUP = 50_000
# a row group ends only where a municipality ends, once it holds at least this many rows: a slice then
# reads its own rows and at most about this many of its neighbours' (one municipality's ~2–5 thousand
# rows of a 50-thousand-row group cost a region's report kernel ~0.2 s per municipality to decode), and a
# country of two thousand small municipalities does not get a row group of a few rows each
SLICE_MIN_ROW_GROUP = 5_000


def row_municipality(df: pd.DataFrame, schools: pd.DataFrame | None) -> pd.Series:
    """The municipality of each row of a table keyed by ``school_id``: the registry's municipality of a
    school, the name itself where ``school_id`` names a municipality (municipality-level rows), missing
    otherwise (rows of all the loaded data, e.g. the region's objectivity index)."""
    ids = df["school_id"].astype("string") if "school_id" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    if schools is None or schools.empty or "municipality" not in schools:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    reg = schools.assign(school_id=schools["school_id"].astype(str)).drop_duplicates("school_id") \
        .set_index("school_id")["municipality"].astype("string")
    out = ids.map(reg)
    munis = set(reg.dropna())
    named = ids.isin(munis) & out.isna()
    if "level" in df:   # a municipality-level row names its municipality in school_id
        named |= (df["level"].astype("string") == "municipality") & ids.notna() & out.isna()
    out = out.mask(named, ids)
    return out.astype("string")


def sort_for_slices(df: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by municipality (rows of all the loaded data first), each municipality's rows in
    their order: a filter on one municipality then reads few row groups."""
    if SLICE_COLUMN not in df or len(df) < 2:
        return df
    return df.sort_values(SLICE_COLUMN, kind="stable", na_position="first").reset_index(drop=True)


def slice_filter(municipality: str):
    """The Parquet filter of one municipality's slice: its rows and the rows of all the loaded data."""
    import pyarrow.compute as pc

    col = pc.field(SLICE_COLUMN)
    return (col == str(municipality)) | col.is_null()


def is_sliced(path: str | Path) -> bool:
    """Whether a table file carries the municipality of each row (see :data:`SLICED_TABLES`)."""
    import pyarrow.parquet as pq

    try:
        return SLICE_COLUMN in pq.read_schema(path).names
    except (OSError, ValueError):
        return False


def read_slice(path: str | Path, municipality: str | None, *, filters=None) -> pd.DataFrame:
    """A table file, only the rows of ``municipality`` and of all the loaded data when the table is
    sliced (:data:`SLICED_TABLES`; the whole file when ``municipality`` is None), ``filters``
    (an Arrow expression) applied as well."""
    import pyarrow.parquet as pq

    path = Path(path)
    expr = filters
    if municipality is not None and path.stem in SLICED_TABLES and is_sliced(path):
        expr = slice_filter(municipality) if expr is None else (expr & slice_filter(municipality))
    if expr is None:
        return pd.read_parquet(path)
    return pd.read_parquet(path, filters=expr)


def write_table(df: pd.DataFrame, processed_dir: str | Path, name: str) -> Path:
    """Write a table atomically (temporary file, then rename); a table read by municipality
    (:data:`SLICED_TABLES`) sorted by it, in row groups of :data:`SLICE_ROW_GROUP` rows."""
    if name in SLICED_TABLES and SLICE_COLUMN in df:
        return _write_sliced(sort_for_slices(df), table_path(processed_dir, name))
    return write_parquet(df, table_path(processed_dir, name))


def slice_row_groups(keys: list, *, least: int | None = None, most: int | None = None) -> list[tuple[int, int]]:
    """``(start, stop)`` of the row groups of a table sorted by municipality (``keys``, ``None`` for a
    row of all the loaded data): a group ends where a municipality ends, once it holds ``least`` rows
    (:data:`SLICE_MIN_ROW_GROUP`), and never holds more than ``most`` (:data:`SLICE_ROW_GROUP`)."""
    least = SLICE_MIN_ROW_GROUP if least is None else least
    most = SLICE_ROW_GROUP if most is None else most
    groups, start, n = [], 0, len(keys)
    for i in range(1, n + 1):
        if i - start >= most or (i == n) or (keys[i] != keys[i - 1] and i - start >= least):
            groups.append((start, i))
            start = i
    return groups


def _write_sliced(df: pd.DataFrame, path: Path) -> Path:
    """``df`` (sorted by municipality) in the row groups of :func:`slice_row_groups`, with the schema and
    pandas metadata ``DataFrame.to_parquet(index=False)`` writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    col = df[SLICE_COLUMN]
    keys = col.astype(object).where(col.notna(), None).tolist()
    with atomic_path(path) as tmp:
        with pq.ParquetWriter(tmp, table.schema) as writer:
            for start, stop in slice_row_groups(keys) or [(0, 0)]:
                writer.write_table(table.slice(start, stop - start))
    return Path(path)
