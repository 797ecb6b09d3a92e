"""Bulk loading and unloading of links: a streaming importer with a dry-run report
(:class:`BulkLoader`), the link file format (:func:`read_links_csv`), and a keyset stream
of entities for exports (:func:`stream_entities`), and the same format as an Excel
workbook (:func:`read_links_xlsx`, :class:`XlsxLinkWriter`). Formats only produce
:class:`ImportRow`/:class:`RowProblem` values, so another format (a spreadsheet, an HTTP
upload) reuses the loader unchanged."""

from linkmap.bulk.csv_format import (
    KIND_COLUMN,
    NAME_SUFFIX,
    SEPARATOR,
    LinkFileError,
    entity_cells,
    header_cells,
    read_links_csv,
)
from linkmap.bulk.export import ExportTally, link_file_rows, stream_entities
from linkmap.bulk.loader import CHUNK_ROWS, BulkLoader, NameMatcher
from linkmap.bulk.rows import (
    ImportReport,
    ImportRow,
    RowOutcome,
    RowProblem,
    Verdict,
    report_lines,
)
from linkmap.bulk.xlsx_format import XlsxLinkWriter, looks_like_xlsx, read_links_xlsx

__all__ = [
    "CHUNK_ROWS",
    "KIND_COLUMN",
    "NAME_SUFFIX",
    "SEPARATOR",
    "BulkLoader",
    "ExportTally",
    "ImportReport",
    "ImportRow",
    "LinkFileError",
    "NameMatcher",
    "RowOutcome",
    "RowProblem",
    "Verdict",
    "XlsxLinkWriter",
    "entity_cells",
    "header_cells",
    "link_file_rows",
    "looks_like_xlsx",
    "read_links_csv",
    "read_links_xlsx",
    "report_lines",
    "stream_entities",
]
