"""A small, fast and deterministic .xlsx writer for the demo.

It writes one sheet like the real ФИС ОКО exports (written by openpyxl): inline
strings, every cell of the used range present, empty ones as ``<c t="inlineStr" />``;
data cells omit the optional ``r`` reference (a third of the XML).
The XML is assembled column-wise with numpy fancy indexing and one ``str.join``
(no per-cell Python code), and the zip entries carry a constant timestamp, so the
same data always gives the same bytes.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

_ZIP_DATE = (2021, 1, 1, 0, 0, 0)
_CREATED = "2021-01-01T00:00:00Z"

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '</Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
    'core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'extended-properties" Target="docProps/app.xml"/>'
    '</Relationships>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/>'
    '</Relationships>'
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>'
)
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>msoko demo</dc:creator>'
    f'<dcterms:created xsi:type="dcterms:W3CDTF">{_CREATED}</dcterms:created>'
    f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_CREATED}</dcterms:modified></cp:coreProperties>'
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    '<Application>msoko</Application></Properties>'
)


def _workbook(sheet: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _vocab_xml(vocab, numeric: bool) -> np.ndarray:
    xml = np.empty(len(vocab), dtype=object)
    for k, u in enumerate(vocab):
        if u is None or (isinstance(u, float) and u != u) or u == "":
            xml[k] = b'<c t="inlineStr" />'
        elif numeric:
            if isinstance(u, float) and u.is_integer():
                u = int(u)
            xml[k] = f'<c><v>{u}</v></c>'.encode()
        else:
            xml[k] = f'<c t="inlineStr"><is><t>{escape(str(u))}</t></is></c>'.encode()
    return xml


def _cell_suffixes(values, numeric: bool) -> np.ndarray:
    """Object array (bytes) of the cell XML for every value of a column.

    ``values`` is a sequence (None/NaN = empty cell) or a pre-coded pair ``(codes, vocab)``
    (integer array indexing a list of values), which skips the factorisation."""
    if isinstance(values, tuple):
        codes, vocab = values
        return _vocab_xml(vocab, numeric)[np.asarray(codes)]
    vals = pd.Series(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values,
                     dtype=object)
    codes, uniq = pd.factorize(vals, use_na_sentinel=True)
    vocab = list(uniq) + [None]
    return _vocab_xml(vocab, numeric)[np.where(codes < 0, len(vocab) - 1, codes)]


def write_xlsx(path: str | Path, header: list[str | None], columns: list, *,
               numeric: set[int] | frozenset = frozenset(), sheet: str = "Sheet1",
               compresslevel: int = 1) -> None:
    """Write one sheet: ``header`` (None = empty header cell) and ``columns`` (one sequence
    per header cell, equal lengths; None = empty cell). Columns listed in ``numeric`` are
    written as numbers, all others as text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ncol = len(header)
    nrow = (len(columns[0][0]) if isinstance(columns[0], tuple) else len(columns[0])) if columns else 0
    letters = [col_letter(j) for j in range(ncol)]
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:{letters[-1]}{nrow + 1}" /><sheetData><row r="1">']
    for j, h in enumerate(header):
        if h is None:
            parts.append(f'<c r="{letters[j]}1" t="inlineStr" />')
        else:
            parts.append(f'<c r="{letters[j]}1" t="inlineStr"><is><t>{escape(str(h))}</t></is></c>')
    parts.append("</row>")
    head = "".join(parts).encode()
    body = b""
    if nrow:
        # data cells carry no ``r`` reference (optional in SpreadsheetML: a cell without it is the
        # next column); every cell is written, empty ones as ``<c t="inlineStr" />``
        grid = np.empty((nrow, ncol + 2), dtype=object)
        grid[:, 0] = np.array([f'<row r="{i}">'.encode() for i in range(2, nrow + 2)], dtype=object)
        for j in range(ncol):
            grid[:, 1 + j] = _cell_suffixes(columns[j], j in numeric)
        grid[:, -1] = b"</row>"
        body = b"".join(grid.ravel().tolist())
    tail = b'</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5" /></worksheet>'
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for name, data in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS),
                           ("docProps/app.xml", _APP), ("docProps/core.xml", _CORE),
                           ("xl/workbook.xml", _workbook(sheet)), ("xl/_rels/workbook.xml.rels", _WB_RELS),
                           ("xl/styles.xml", _STYLES)):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, data.encode("utf-8"), compresslevel=compresslevel)
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        zf.writestr(info, head + body + tail, compresslevel=compresslevel)
    tmp.replace(path)
