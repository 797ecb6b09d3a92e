"""Applying the one table of stable codes (:mod:`resolvers.error_codes`) to the errors of
a GraphQL result.

Every error in a response carries ``extensions.code``; errors from an upstream also carry
``extensions.system`` (and ``extensions.retryAfter`` when the system said when to come
back). Anything unexpected becomes "Unexpected error." with code ``INTERNAL_ERROR``:
upstream messages, URLs and stack traces are logged, never returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.error_codes import (
    BadInput,
    ErrorCode,
    KeylinkError,
    error_body,
    stable_code,
)
from sources.errors import SourceError

log = logging.getLogger("keylink.errors")

UNEXPECTED: str = "Unexpected error."
"""The whole message of an error Keylink did not expect (``INTERNAL_ERROR``)."""


def code_for(error: SourceError) -> str:
    """The stable code of a source error (from :data:`resolvers.error_codes.ERROR_CODES`)."""
    return stable_code(error) or ErrorCode.SOURCE_UNAVAILABLE.value


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
            code = (
                ErrorCode.BAD_INPUT
                if coercion or original is not None
                else ErrorCode.GRAPHQL_VALIDATION_FAILED
            )
        return _with(error, error_body(code, error.message))
    if original is None:
        if error.extensions and "code" in error.extensions:
            return error
        return _with(error, error_body(ErrorCode.GRAPHQL_VALIDATION_FAILED, error.message))
    if isinstance(original, SourceError):
        log.warning("source error at %s: %r", error.path, original)
        retry_after = original.retry_after
        # the system asked not to be called for this long (or its quota is used up)
        body = error_body(
            code_for(original),
            f"{original.system}: {original.message}",
            system=original.system,
            retry_after=None if retry_after is None else round(retry_after, 1),
        )
        return _with(error, body)
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return error
    code = stable_code(original) if original is not None else None
    if code is not None:
        return _with(error, error_body(code, _client_message(original)))
    log.error("unexpected error at %s", error.path, exc_info=original)
    return _with(error, error_body(ErrorCode.INTERNAL_ERROR, UNEXPECTED))


def _client_message(error: BaseException) -> str:
    """What a client reads of a typed error the table knows: its own message."""
    return error.message if isinstance(error, KeylinkError) else str(error)


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
    if stable_code(original) is not None:
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


def _with(error: GraphQLError, body: dict[str, Any]) -> GraphQLError:
    """``error`` (its place in the document and the result) with the message and
    extensions of ``body`` (:func:`resolvers.error_codes.error_body`), nothing else."""
    return GraphQLError(
        body["message"],
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=body["extensions"],
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


__all__ = [
    "BadInput",
    "KeylinkError",
    "StableErrorCodes",
    "capped",
    "client_error",
    "code_for",
    "error_rewriter",
    "is_expected",
    "log_request_errors",
]
