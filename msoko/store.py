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
