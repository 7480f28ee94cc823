"""Readers: Excel (python-calamine) and CSV (UTF-8 / Windows-1251, ``;`` or ``,``) → raw frames.

A reader returns a :class:`RawTable`: the header row as cleaned strings and the
data rows as a ``DataFrame`` of ``object`` columns named ``c0, c1, …``. Cells keep
what the file stored: text stays text (never parsed here), numbers typed by Excel
stay numbers (turning 1.3 million numeric cells into text and back would only cost
time). Every column is cleaned later, by the module that knows what the column
means (:mod:`msoko.layouts`, :mod:`msoko.ingest`). Row ``i`` of the frame is
spreadsheet row ``i + 2`` (row 1 is the header).

Errors a user can fix (a truncated workbook, an unreadable encoding, an empty
file) raise :class:`msoko.errors.MsokoError` with a Russian message naming the file.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msoko.errors import MsokoError

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
ENCODINGS = ("utf-8-sig", "cp1251")

_WS = re.compile(r"\s+")


@dataclass
class RawTable:
    """Header + data rows of one sheet or CSV file, as stored.

    ``rows`` is the list of data rows (each padded/cut to the header width); ``data`` is the
    same as a ``DataFrame`` of ``object`` columns ``c0…``, built on first use. Hot paths take
    single columns with :meth:`column` (no frame of every cell is built).
    """

    path: Path
    header: list[str]
    rows: list[list]
    sheet: str | None = None
    encoding: str | None = None  # CSV only
    sep: str | None = None       # CSV only
    first_data_row: int = 2      # 1-based spreadsheet row of data row 0
    # CSV only: data rows whose quoted cell swallowed whole lines of the file (an unclosed quote),
    # found by an independent count of the physical lines — see :func:`swallowed_rows`
    swallowed: list["Swallowed"] | None = None
    # Excel only: cells holding an error value (#N/A, #DIV/0! …), which the reader returns as '':
    # (index into ``rows``, column index) → the error as Excel shows it — see :func:`excel_errors`
    errors: dict[tuple[int, int], str] | None = None

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def data(self) -> pd.DataFrame:
        df = self.__dict__.get("_data")
        if df is None:
            df = _frame(self.rows, len(self.header))
            self.__dict__["_data"] = df
        return df

    def nonempty(self) -> np.ndarray:
        """Mask of data rows with at least one non-empty cell (short-circuits on the first)."""
        return np.fromiter((any(v is not None and v != "" for v in r) for r in self.rows),
                           dtype=bool, count=len(self.rows))

    def kept_rows(self, keep: np.ndarray | None) -> list[list]:
        if keep is None or keep.all():
            return self.rows
        return [r for r, k in zip(self.rows, keep) if k]

    @staticmethod
    def column_of(rows: list[list], i: int) -> np.ndarray:
        """Column ``i`` of ``rows`` as an object array."""
        return np.array([r[i] for r in rows] + [None], dtype=object)[:-1]

    def column(self, i: int, keep: np.ndarray | None = None) -> np.ndarray:
        """Column ``i`` as an object array (only the rows where ``keep`` is true)."""
        return self.column_of(self.kept_rows(keep), i)


@dataclass
class Swallowed:
    """Data row ``row`` (index into ``RawTable.rows``) begins on physical line ``line`` of the file;
    its cell in column ``column`` opened a quote that took in ``lines`` — later lines of the file
    that have the shape of a row of their own (as many separators as the header)."""

    row: int
    line: int
    column: int
    lines: list[int]


def swallowed_rows(physical: list[str], spans: list[tuple[int, int]], rows: list[list], sep: str,
                   width: int, first: int) -> list[Swallowed]:
    """Rows of a CSV whose quotes swallowed other rows, counted independently of the csv parser.

    ``physical``: the file's lines; ``spans``: the (first, last) physical line (1-based) of each
    record the csv module returned; ``rows[i]`` is record ``first + i``. A record spanning several
    lines is an ordinary multi-line cell unless its continuation lines look like rows themselves
    (each with at least as many separators as the header has): those are the swallowed rows.
    """
    need = max(1, width - 1)
    out = []
    for i, row in enumerate(rows):
        a, b = spans[first + i]
        if b <= a:
            continue
        lines = [n for n in range(a + 1, b + 1) if physical[n - 1].count(sep) >= need]
        if lines:
            column = next((j for j, v in enumerate(row) if isinstance(v, str) and "\n" in v), 0)
            out.append(Swallowed(row=i, line=a, column=column, lines=lines))
    return out


def clean_header(value) -> str:
    """Header cell → text: numbers without '.0', whitespace (incl. NBSP) collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _WS.sub(" ", str(value).replace("\xa0", " ")).strip()


def cell_text(value) -> str:
    """One stored cell → text, the way a person reads it in Excel.

    ``None``/empty → ``''``; a float that is a whole number → without ``.0``
    (Excel stores ``40001`` as ``40001.0``); everything else ``str``; NBSP → space;
    surrounding whitespace stripped.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        if not value:
            return ""
        return value.replace("\xa0", " ").strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in EXCEL_SUFFIXES | CSV_SUFFIXES


def read_table(path: str | Path, *, header_only: bool = False) -> RawTable:
    """Read the first sheet of a workbook, or a CSV file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return read_csv(path, header_only=header_only)
    if suffix in EXCEL_SUFFIXES:
        return read_excel(path, header_only=header_only)
    raise MsokoError(f"Файл «{path}»: неподдерживаемый формат «{suffix}» (ожидается .xlsx или .csv).")


def _frame(rows: list[list], width: int) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({f"c{i}": pd.Series([], dtype=object) for i in range(width)})
    df = pd.DataFrame(rows, dtype=object)
    if df.shape[1] < width:
        for i in range(df.shape[1], width):
            df[i] = ""
    df = df.iloc[:, :width]
    df.columns = [f"c{i}" for i in range(width)]
    return df


def _rect(rows: list[list], width: int) -> list[list]:
    """Rows cut/padded to the header width (calamine rows are already rectangular)."""
    if all(len(r) == width for r in rows):
        return rows
    return [list(r[:width]) + [""] * (width - len(r)) if len(r) != width else r for r in rows]


def sheet_names(path: str | Path) -> list[str | None]:
    """Names of the sheets of a workbook, in order (``[]`` for a CSV file); ``None`` in place of a
    sheet that cannot hold a table (a chart sheet, a dialog or macro sheet)."""
    from python_calamine import CalamineWorkbook

    if Path(path).suffix.lower() not in EXCEL_SUFFIXES:
        return []
    wb = CalamineWorkbook.from_path(str(path))
    meta = getattr(wb, "sheets_metadata", None)
    if not meta:
        return list(wb.sheet_names)
    return [m.name if str(m.typ).rsplit(".", 1)[-1] == "WorkSheet" else None for m in meta]


def read_excel(path: str | Path, *, header_only: bool = False, sheet: int = 0) -> RawTable:
    """Sheet number ``sheet`` (0-based) of a workbook."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    if path.stat().st_size == 0:
        raise MsokoError(f"Файл «{path.name}» пуст (0 байт) — нечего загружать.")
    index = sheet
    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheet_name = wb.sheet_names[index]
        sheet = wb.get_sheet_by_index(index)
        rows = sheet.to_python(skip_empty_area=False, nrows=20) if header_only \
            else sheet.to_python(skip_empty_area=False)
    except MsokoError:
        raise
    except Exception as exc:  # calamine raises several error types (zip, xml, …)
        if type(exc).__name__ == "PasswordError" or "password" in str(exc).lower() or is_encrypted_office(path):
            raise MsokoError(
                f"Файл «{path.name}» защищён паролем — msoko не может его прочитать. Снимите пароль в Excel "
                "(«Файл» → «Сведения» → «Защита книги» → «Зашифровать с использованием пароля», очистить поле) "
                "или выгрузите файл заново без пароля. Файл пропущен."
            ) from None
        raise MsokoError(
            f"Файл «{path.name}» не удалось прочитать как книгу Excel: файл повреждён или обрезан "
            f"(нужно заново выгрузить или пересохранить его в Excel). Подробности: {type(exc).__name__}: {exc}"
        ) from None
    # drop leading completely empty rows (some exports start with a blank line)
    start = 0
    while start < len(rows) and all(cell_text(v) == "" for v in rows[start]):
        start += 1
    if start >= len(rows):
        raise MsokoError(f"Файл «{path.name}»: лист «{sheet_name}» пуст — нет ни заголовка, ни данных.")
    header = [clean_header(v) for v in rows[start]]
    # trailing unnamed columns that are empty in the header are kept (they are mapped as ignorable)
    table = RawTable(path=path, header=header, rows=[] if header_only else _rect(rows[start + 1:], len(header)),
                     sheet=sheet_name, first_data_row=start + 2)
    if not header_only:
        try:
            found = excel_errors(path, index)
        except Exception:  # noqa: BLE001 — calamine read it; a part it does not need is unusual, not fatal
            found = {}
        table.errors = {(r - table.first_data_row, c): v for (r, c), v in found.items()
                        if 0 <= r - table.first_data_row < len(table.rows) and c < len(header)}
    return table


CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # an OLE compound file (.xls, or an encrypted .xlsx)
_ENCRYPTED_STREAMS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))


def is_encrypted_office(path: str | Path) -> bool:
    """True for a password-protected Office workbook: an OLE compound file whose directory names the
    ``EncryptionInfo`` / ``EncryptedPackage`` streams (an encrypted .xlsx is stored so, not as a zip)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != CFB_MAGIC:
                return False
            data = fh.read(256 << 20)
    except OSError:
        return False
    return any(name in data for name in _ENCRYPTED_STREAMS)


_ERROR_CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d+)"')
_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")
_ERROR_TYPE = b't="e"'


def _first_sheet_member(z, index: int = 0) -> str | None:
    """The zip member of worksheet ``index`` of an .xlsx (the sheet calamine reads as that index)."""
    wb = z.read("xl/workbook.xml")
    ms = list(re.finditer(rb'<(?:\w+:)?sheet\b[^>]*?\br:id="([^"]+)"', wb)) or \
        list(re.finditer(rb'<(?:\w+:)?sheet\b[^>]*?\b\w+:id="([^"]+)"', wb))
    if len(ms) <= index:
        return None
    m = ms[index]
    rels = z.read("xl/_rels/workbook.xml.rels")
    for rel in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        tag = rel.group(0)
        if re.search(rb'\bId="' + re.escape(m.group(1)) + rb'"', tag):
            t = re.search(rb'\bTarget="([^"]+)"', tag)
            if t:
                target = t.group(1).decode()
                return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def excel_errors(path: str | Path, sheet: int = 0) -> dict[tuple[int, int], str]:
    """Cells of sheet ``sheet`` of an .xlsx/.xlsm that hold an Excel error value (``t="e"``) or a
    formula without a computed value: (1-based sheet row, 0-based column) → the error as Excel shows
    it (``#N/A``, ``#DIV/0!`` …) or the formula, beginning with ``=``.

    calamine returns both as an empty string, as if the cell were blank; this scans the sheet's XML
    (a file saved by a program that does not compute formulas stores ``<f>0+0</f><v/>``), which costs
    a search of the raw bytes when there is none. Other formats: an empty dict."""
    import zipfile

    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}
    with zipfile.ZipFile(path) as z:
        member = _first_sheet_member(z, sheet)
        if member is None:
            return {}
        data = z.read(member)
    out: dict[tuple[int, int], str] = {}
    i = data.find(_ERROR_TYPE)
    while i != -1:
        start = data.rfind(b"<c", 0, i)
        m = _ERROR_CELL.match(data, start) if start != -1 else None
        if m and _ERROR_TYPE in m.group(1):
            ref = _CELL_REF.search(m.group(1))
            if ref:
                col = 0
                for ch in ref.group(1):
                    col = col * 26 + ch - 64
                v = _CELL_VALUE.search(m.group(2) or b"")
                out[(int(ref.group(2)), col - 1)] = v.group(1).decode("utf-8", "replace") if v else "#ОШИБКА"
        i = data.find(_ERROR_TYPE, i + len(_ERROR_TYPE))
    for m in _FORMULA.finditer(data):
        start = data.rfind(b"<c", 0, m.start())
        cell = _ERROR_CELL.match(data, start) if start != -1 else None
        if not cell or _ERROR_TYPE in cell.group(1):
            continue
        v = _CELL_VALUE.search(cell.group(2) or b"")
        ref = _CELL_REF.search(cell.group(1))
        if ref and not (v and v.group(1).strip()) and b"<is>" not in (cell.group(2) or b""):
            col = 0
            for ch in ref.group(1):
                col = col * 26 + ch - 64
            f = re.sub(rb"<[^>]*>", b"", m.group(0)).decode("utf-8", "replace")
            out[(int(ref.group(2)), col - 1)] = "=" + _xml_text(f)
    return out


_FORMULA = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)")


def _xml_text(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'") \
        .replace("&amp;", "&")


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise MsokoError(  # cp1251 decodes almost anything, so this is rare (e.g. UTF-16)
        f"Файл «{path.name}»: не удалось определить кодировку (поддерживаются UTF-8 и Windows-1251). "
        "Сохраните файл в Excel как «CSV UTF-8» или как книгу .xlsx."
    )


def sniff_sep(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    sep = max(counts, key=counts.get)
    return sep if counts[sep] > 0 else ";"


def read_csv(path: str | Path, *, header_only: bool = False) -> RawTable:
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise MsokoError(f"Файл «{path.name}» пуст — нечего загружать.")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:200]:
        raise MsokoError(
            f"Файл «{path.name}»: кодировка UTF-16 не поддерживается (поддерживаются UTF-8 и Windows-1251). "
            "Сохраните файл в Excel как «CSV UTF-8» или как книгу .xlsx."
        )
    text, enc = _decode(raw, path)
    first = text.split("\n", 1)[0]
    sep = sniff_sep(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows, spans, last = [], [], 0
    for r in reader:            # the physical lines of each record, to check the quotes against
        rows.append(r)
        spans.append((last + 1, reader.line_num))
        last = reader.line_num
    start = 0
    # leading blank lines and '#' comment lines (as in resources/mark_scales.csv) are not the header
    while start < len(rows) and (all(not c.strip() for c in rows[start]) or rows[start][0].startswith("#")):
        start += 1
    if start >= len(rows):
        raise MsokoError(f"Файл «{path.name}» пуст — нет ни заголовка, ни данных.")
    header = [clean_header(v) for v in rows[start]]
    data = [] if header_only else _rect(rows[start + 1:], len(header))
    swallowed = [] if header_only else swallowed_rows(
        io.StringIO(text, newline="").readlines(), spans, data, sep, len(header), start + 1)
    return RawTable(path=path, header=header, rows=data, encoding=enc, sep=sep, first_data_row=start + 2,
                    swallowed=swallowed)
