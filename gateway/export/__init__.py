"""Streamed export of GraphQL results to CSV, JSONL and Parquet (no FastAPI in here).

Map of the package:

- ``plan``: reads the document once: the operation, its single connection (if any) and
  how to page it, the selected fields, the declared variables (``--var`` coercion);
- ``paging``: :class:`ExportRun` runs the document page by page through an
  :class:`Executor` and yields flat rows, one page in memory at a time;
- ``flatten``: nested results to fixed columns (dotted names; lists of objects as JSON);
- ``writers``: CSV, JSONL and Parquet writers, one page at a time into a byte sink;
- ``executors``: a page over HTTP (:class:`HttpExecutor`, the CLI) or through the
  schema in-process (:class:`SchemaExecutor`, the gateway's ``POST /export``);
- ``stream``: the whole export into a file, or as chunks for a streamed response;
- ``errors``: what can fail, typed.
"""

from gateway.export.errors import (
    BadExportDocument,
    ExportError,
    ExportQueryFailed,
    ExportTransportError,
)
from gateway.export.executors import HttpExecutor, SchemaExecutor
from gateway.export.paging import Executor, ExportRun, Page
from gateway.export.plan import ExportPlan, plan_export
from gateway.export.stream import stream_export, write_export
from gateway.export.writers import FORMATS, MEDIA_TYPES, ChunkSink, Format, open_writer

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "BadExportDocument",
    "ChunkSink",
    "Executor",
    "ExportError",
    "ExportPlan",
    "ExportQueryFailed",
    "ExportRun",
    "ExportTransportError",
    "Format",
    "HttpExecutor",
    "Page",
    "SchemaExecutor",
    "open_writer",
    "plan_export",
    "stream_export",
    "write_export",
]
