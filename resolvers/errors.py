"""The one table that maps errors to stable GraphQL codes, and the extension applying it.

Every error in a response carries ``extensions.code``; errors from an upstream also carry
``extensions.system``. Anything unexpected becomes "Unexpected error." with code
``INTERNAL_ERROR``: upstream messages, URLs and stack traces are logged, never returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    Unsupported,
)

log = logging.getLogger("keylink.errors")

SOURCE_CODES: dict[type[SourceError], str] = {
    SourceTimeout: "SOURCE_TIMEOUT",
    SourceUnavailable: "SOURCE_UNAVAILABLE",
    NotFound: "NOT_FOUND",
    Conflict: "CONFLICT",
    Unsupported: "NOT_SUPPORTED",
}


class KeylinkError(Exception):
    """An expected, client-facing error raised by a resolver, with its stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadInput(KeylinkError):
    """The request's arguments are invalid; nothing was read or written."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_INPUT", message)


def code_for(error: SourceError) -> str:
    """The stable code of a source error."""
    if isinstance(error, Rejected):
        return error.code
    for error_type in type(error).__mro__:
        if error_type in SOURCE_CODES:
            return SOURCE_CODES[error_type]
    return "SOURCE_UNAVAILABLE"


def client_error(error: GraphQLError) -> GraphQLError:
    """The form of ``error`` a client may see: a stable code, no internals."""
    original = error.original_error
    coercion = error.message.startswith(("Variable '$", "Argument '", "Expected value"))
    if error.path is None and (
        coercion or original is None or isinstance(original, (ValueError, TypeError))
    ):
        # Parse, validation and input coercion: about the request, safe to echo.
        code = (error.extensions or {}).get("code")
        if code is None:
            code = "BAD_INPUT" if coercion or original is not None else "GRAPHQL_VALIDATION_FAILED"
        return _with(error, error.message, {"code": code})
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error
        return _with(error, error.message, {"code": "GRAPHQL_VALIDATION_FAILED"})
    if isinstance(original, SourceError):
        log.warning("source error at %s: %r", error.path, original)
        extensions: dict[str, Any] = {"code": code_for(original), "system": original.system}
        if original.retry_after is not None:
            # the system asked not to be called for this long (or its quota is used up)
            extensions["retryAfter"] = round(original.retry_after, 1)
        return _with(error, f"{original.system}: {original.message}", extensions)
    if isinstance(original, KeylinkError):
        return _with(error, original.message, {"code": original.code})
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return error
    log.error("unexpected error at %s", error.path, exc_info=original)
    return _with(error, "Unexpected error.", {"code": "INTERNAL_ERROR"})


LOGGED_TEXT_MAX = 300
"""At most this many characters of any client-supplied text go into one log line."""


def capped(text: str, limit: int = LOGGED_TEXT_MAX) -> str:
    """``text`` cut to ``limit`` characters (saying how much was left out), on one line."""
    flat = text.replace("\r", " ").replace("\n", " ")
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}... ({len(flat) - limit} more characters)"


def is_expected(error: GraphQLError) -> bool:
    """Whether ``error`` is an expected outcome (about the request, or an upstream's
    typed failure) rather than a fault of Keylink's own."""
    original = error.original_error
    if original is None or isinstance(original, KeylinkError | SourceError):
        return True
    if isinstance(original, GraphQLError):
        return True
    return error.path is None and isinstance(original, ValueError | TypeError)


def log_request_errors(errors: list[GraphQLError]) -> None:
    """Log a request's errors: an expected one (bad input, validation, an upstream's typed
    failure) as one capped line without a traceback; faults of Keylink's own are logged
    with their traceback where they are turned into "Unexpected error." (``client_error``).
    Never the whole document: only the error's own message, capped."""
    for error in errors:
        if not is_expected(error):
            continue
        where = ".".join(str(part) for part in error.path) if error.path else "request"
        log.info("client error at %s: %s", where, capped(error.message))


def _with(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class StableErrorCodes(SchemaExtension):
    """Rewrites every error of a result into its client form (see ``client_error``)."""

    def on_operation(self) -> Iterator[None]:
        """Rewrite the errors once the operation has produced its result."""
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [client_error(e) for e in result.errors]


def error_rewriter() -> Callable[[GraphQLError], GraphQLError]:
    """The rewriting function, for callers that format errors outside an operation."""
    return client_error
