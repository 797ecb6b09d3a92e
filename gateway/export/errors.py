"""What can go wrong in an export, as types a caller can switch on.

::

    ExportError                 every export failure; ``code`` is a stable string
    ├── BadExportDocument       the document cannot be exported as written (BAD_INPUT)
    ├── ExportQueryFailed       the gateway answered a page with GraphQL errors
    └── ExportTransportError    the gateway could not be reached or refused the request

Messages name the problem for an analyst; they never hold a credential or a URL's secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class ExportError(Exception):
    """An export failed; ``code`` is stable (``BAD_INPUT``, the first GraphQL error's code, …)."""

    code = "EXPORT_FAILED"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadExportDocument(ExportError):
    """The GraphQL document does not parse, has no single operation to run, holds more than
    one connection, or cannot be paged (no ``after: $variable`` / ``pageInfo``)."""

    code = "BAD_INPUT"


class ExportQueryFailed(ExportError):
    """A page came back with GraphQL errors; ``errors`` are the response's error objects."""

    def __init__(self, errors: Sequence[Mapping[str, Any]], page: int) -> None:
        first = errors[0] if errors else {}
        extensions = first.get("extensions")
        code = extensions.get("code") if isinstance(extensions, Mapping) else None
        message = str(first.get("message", "the query failed"))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(
            f"page {page}: {message}{more}", code=code if isinstance(code, str) else None
        )
        self.errors = list(errors)
        self.page = page


class ExportTransportError(ExportError):
    """The gateway did not answer, or answered with an HTTP error (``status``)."""

    code = "TRANSPORT_ERROR"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
