"""The file source (``adapter: files``): a system read through the CSV and Excel (.xlsx)
files it exports, read live.

``config`` (the ``systems:`` entry), ``spec`` (the YAML spec: tables of exported files and
the operations reading them), ``values`` (a cell as its declared type), ``rows`` (raw rows
streamed from CSV or a workbook), ``problems`` (malformed rows, by file, line and column),
``table`` (the current file found, parsed once per version, indexed) and ``source`` (the
reads; registers the adapter).
"""

from sources.files.config import FilesConfig
from sources.files.problems import RowProblem
from sources.files.source import FileSource
from sources.files.spec import FileOperation, FileSpec, FileTable

__all__ = [
    "FileOperation",
    "FileSource",
    "FileSpec",
    "FileTable",
    "FilesConfig",
    "RowProblem",
]
