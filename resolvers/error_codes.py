"""The one table of stable error codes, and the one builder of a GraphQL error body.

Every typed error Keylink expects (an upstream's, :mod:`sources.errors`; the link map's,
:mod:`linkmap.errors`; a resolver's own, :class:`KeylinkError`) has its code here, in
:data:`ERROR_CODES`; :func:`stable_code` reads it for a GraphQL error
(:func:`resolvers.errors.client_error`) and :func:`edit_code_for` for the outcome of an
order-line edit (:mod:`resolvers.mutations.outcome`). An edit outcome's code
(:class:`EditCode`, the schema's ``EditCode`` enum) is the same string as the GraphQL
error's code wherever the two mean the same thing.

:func:`error_body` builds ``{"message", "extensions": {"code", ...}}``, the body of one
GraphQL error, for every place that answers one: the GraphQL errors of a result and the
HTTP refusals sent before GraphQL runs (``gateway/http/responses.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

from linkmap.errors import EntityNotFound, KeyAlreadyLinked, KeyNotLinked
from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    Unsupported,
)


class ErrorCode(enum.StrEnum):
    """The stable codes of GraphQL errors raised while a document runs
    (``errors[].extensions.code``). HTTP refusals sent before it runs have their own
    (``PAYLOAD_TOO_LARGE``, ``RATE_LIMITED``...: ARCHITECTURE.md lists them)."""

    BAD_INPUT = "BAD_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"
    SOURCE_TIMEOUT = "SOURCE_TIMEOUT"
    FORBIDDEN = "FORBIDDEN"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class EditCode(enum.Enum):
    """Why an edit did not (or may not have) happen: the schema's ``EditCode`` enum
    (``resolvers.mutations.types`` registers it). A value that is also an
    :class:`ErrorCode` means the same thing there."""

    BAD_INPUT = "BAD_INPUT"
    NOT_FOUND = "NOT_FOUND"
    ORDER_LOCKED = "ORDER_LOCKED"
    CONFLICT = "CONFLICT"
    MANUAL_PRICE_NOT_ALLOWED = "MANUAL_PRICE_NOT_ALLOWED"
    IDEMPOTENCY_MISMATCH = "IDEMPOTENCY_MISMATCH"
    IN_PROGRESS = "IN_PROGRESS"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"
    SOURCE_TIMEOUT = "SOURCE_TIMEOUT"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"


class KeylinkError(Exception):
    """An expected, client-facing error raised by a resolver, with its stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadInput(KeylinkError):
    """The request's arguments are invalid; nothing was read or written."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BAD_INPUT, message)


ERROR_CODES: Final[Mapping[type[Exception], ErrorCode]] = {
    SourceTimeout: ErrorCode.SOURCE_TIMEOUT,
    SourceUnavailable: ErrorCode.SOURCE_UNAVAILABLE,
    NotFound: ErrorCode.NOT_FOUND,
    Conflict: ErrorCode.CONFLICT,
    Unsupported: ErrorCode.NOT_SUPPORTED,
    Rejected: ErrorCode.REJECTED,
    SourceError: ErrorCode.SOURCE_UNAVAILABLE,
    EntityNotFound: ErrorCode.NOT_FOUND,
    KeyNotLinked: ErrorCode.NOT_FOUND,
    KeyAlreadyLinked: ErrorCode.CONFLICT,
    BadInput: ErrorCode.BAD_INPUT,
}
"""Typed error -> stable code; the nearest class in an error's MRO decides. Two kinds of
error carry their own code instead: a :class:`sources.errors.Rejected` (the adapter's
``code``: ``ORDER_LOCKED``, ``MANUAL_PRICE_NOT_ALLOWED``..., ``REJECTED`` by default) and a
:class:`KeylinkError` (its ``code``). The link map's other errors (``InvalidInput``,
``ConcurrentChange``, idempotency states) are not here: input is checked before it reaches
the link map, so they are faults of Keylink's own (``INTERNAL_ERROR``)."""


def stable_code(error: BaseException) -> str | None:
    """The stable code of a typed error, or None when the table does not know it (the
    client then gets ``INTERNAL_ERROR`` and no detail)."""
    if isinstance(error, Rejected | KeylinkError):
        return str(error.code)
    for error_type in type(error).__mro__:
        code = ERROR_CODES.get(error_type)
        if code is not None:
            return code.value
    return None


def edit_code_for(error: BaseException) -> EditCode:
    """The :class:`EditCode` of a typed error that ended an edit: the same string as its
    :func:`stable_code`, ``REJECTED`` for a refusal whose code the schema does not know, and
    ``SOURCE_UNAVAILABLE`` for an error the table does not know."""
    code = stable_code(error)
    if code is None:
        return EditCode.SOURCE_UNAVAILABLE
    try:
        return EditCode(code)
    except ValueError:
        return EditCode.REJECTED


def error_extensions(
    code: str,
    *,
    system: str | None = None,
    retry_after: float | None = None,
    **more: Any,
) -> dict[str, Any]:
    """An error's ``extensions``: ``code`` first, then ``system`` and ``retryAfter`` when
    given, then ``more`` as given (e.g. ``limit``, ``cost``)."""
    extensions: dict[str, Any] = {"code": str(code)}
    if system is not None:
        extensions["system"] = system
    if retry_after is not None:
        extensions["retryAfter"] = retry_after
    extensions.update(more)
    return extensions


def error_body(
    code: str,
    message: str,
    *,
    system: str | None = None,
    retry_after: float | None = None,
    **more: Any,
) -> dict[str, Any]:
    """One GraphQL error: ``{"message": message, "extensions": {"code": code, ...}}``
    (see :func:`error_extensions` for the optional entries)."""
    return {
        "message": message,
        "extensions": error_extensions(code, system=system, retry_after=retry_after, **more),
    }


def error_document(
    code: str,
    message: str,
    *,
    system: str | None = None,
    retry_after: float | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A response that is one error and nothing ran: ``{"errors": [error_body(...)]}``
    (no ``data`` entry)."""
    return {"errors": [error_body(code, message, system=system, retry_after=retry_after, **more)]}
