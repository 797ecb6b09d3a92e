"""A minimal ``.xlsx`` writer for the shipped examples and the tests: sheets of rows whose
cells are text, numbers (``int``, ``Decimal``), dates or empty, nothing else.

Keylink only reads workbooks (``sources/files``); writing the examples needs no spreadsheet
library: an ``.xlsx`` is a zip of a few XML parts. Text is written inline, numbers as
numbers, dates as the day serials Excel keeps with a date format, so a reader sees what an
ERP's own export would give it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

Cell = str | int | Decimal | date | None
EXCEL_EPOCH = date(1899, 12, 30)
"""Day 0 of Excel's (1900) date system, as every reader counts it."""

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_CONTENT_TYPES = (
    _XML
    + f'<Types xmlns="{_PACKAGE}/content-types">'
    + '<Default Extension="rels" '
    + 'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    + '<Default Extension="xml" ContentType="application/xml"/>'
    + f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
    + f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
    + "{sheets}</Types>"
)
_SHEET_TYPE = (
    '<Override PartName="/xl/worksheets/sheet{n}.xml" ' + f'ContentType="{_TYPE}.worksheet+xml"/>'
)
_ROOT_RELS = (
    _XML
    + f'<Relationships xmlns="{_PACKAGE}/relationships">'
    + f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
    + "</Relationships>"
)
_WORKBOOK = (
    _XML
    + f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}">'
    + "<sheets>{sheets}</sheets></workbook>"
)
_WORKBOOK_RELS = (
    _XML
    + f'<Relationships xmlns="{_PACKAGE}/relationships">'
    + "{sheets}"
    + f'<Relationship Id="rIdStyles" Type="{_OFFICE}/styles" Target="styles.xml"/>'
    + "</Relationships>"
)
_SHEET_REL = (
    '<Relationship Id="rId{n}" '
    + f'Type="{_OFFICE}/worksheet" '
    + 'Target="worksheets/sheet{n}.xml"/>'
)
# style 0: general; style 1: a date (built-in number format 14)
_STYLES = (
    _XML
    + f'<styleSheet xmlns="{_MAIN}">'
    + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    + '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    + '<borders count="1"><border/></borders>'
    + '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    + "</cellStyleXfs>"
    + '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    + '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    + "</cellXfs></styleSheet>"
)
_SHEET = _XML + f'<worksheet xmlns="{_MAIN}">' + "<sheetData>{rows}</sheetData></worksheet>"


def column_letter(index: int) -> str:
    """The spreadsheet letter of the 0-based column ``index`` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell(ref: str, value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return f'<c r="{ref}" s="1"><v>{(value - EXCEL_EPOCH).days}</v></c>'
    if isinstance(value, bool):
        raise TypeError("write a boolean as text ('true'/'false') or a number")
    if isinstance(value, int | Decimal):
        return f'<c r="{ref}"><v>{value}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _sheet(rows: Sequence[Sequence[Cell]]) -> str:
    out = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{column_letter(i)}{number}", v) for i, v in enumerate(row))
        out.append(f'<row r="{number}">{cells}</row>')
    return _SHEET.format(rows="".join(out))


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[Cell]]]) -> Path:
    """Write ``sheets`` (sheet name -> rows, the first row the header) as the workbook
    ``path``; the same input always gives the same bytes."""
    names = list(sheets)
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES.format(
            sheets="".join(_SHEET_TYPE.format(n=n) for n in range(1, len(names) + 1))
        ),
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK.format(
            sheets="".join(
                f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
                for n, name in enumerate(names, start=1)
            )
        ),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS.format(
            sheets="".join(_SHEET_REL.format(n=n) for n in range(1, len(names) + 1))
        ),
        "xl/styles.xml": _STYLES,
    }
    for n, name in enumerate(names, start=1):
        parts[f"xl/worksheets/sheet{n}.xml"] = _sheet(sheets[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, body in parts.items():
            info = zipfile.ZipInfo(part, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return path
