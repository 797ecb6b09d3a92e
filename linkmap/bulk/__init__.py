"""Bulk loading and unloading of links: a streaming importer with a dry-run report
(:class:`BulkLoader`), the link file format (:func:`read_links_csv`), and a keyset stream
of entities for exports (:func:`stream_entities`). Formats only produce
:class:`ImportRow`/:class:`RowProblem` values, so another format (a spreadsheet, an HTTP
upload) reuses the loader unchanged."""

from linkmap.bulk.csv_format import (
    KIND_COLUMN,
    SEPARATOR,
    LinkFileError,
    entity_cells,
    header_cells,
    read_links_csv,
)
from linkmap.bulk.export import stream_entities
from linkmap.bulk.loader import CHUNK_ROWS, BulkLoader
from linkmap.bulk.rows import ImportReport, ImportRow, RowOutcome, RowProblem, Verdict

__all__ = [
    "CHUNK_ROWS",
    "KIND_COLUMN",
    "SEPARATOR",
    "BulkLoader",
    "ImportReport",
    "ImportRow",
    "LinkFileError",
    "RowOutcome",
    "RowProblem",
    "Verdict",
    "entity_cells",
    "header_cells",
    "read_links_csv",
    "stream_entities",
]
