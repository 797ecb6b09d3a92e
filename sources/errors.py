"""Typed errors raised by source adapters.

The tree::

    SourceError                 an upstream system could not give what was asked
    ├── SourceUnavailable       refused, reset, 5xx, malformed or oversized answer, breaker open
    ├── SourceTimeout           no answer within the system's timeout
    ├── NotFound                the upstream says the thing does not exist
    ├── Rejected                the upstream refused a write for a business reason
    └── Conflict                the write carried a stale version

Each error names the configured ``system`` it came from. ``detail`` is for server logs only:
it may hold upstream internals (URLs, bodies) and must never reach a client.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime


class SourceError(Exception):
    """An upstream system could not serve a read or a write.

    ``maybe_applied`` matters for writes only: True when the request may have reached the
    upstream (it timed out or the connection broke after sending, or the upstream failed),
    so the write's outcome is unknown until the data is read again.

    ``retryable`` says a read may be retried once: the connection was never made, or the
    upstream answered 502, 503 or 504.

    ``retry_after`` (seconds), when set, is how long the system asked not to be called
    (an HTTP ``Retry-After`` on a 429 or 503), or how long until Keylink calls it again.
    """

    default_message = "The system could not answer."

    def __init__(
        self,
        system: str,
        detail: str = "",
        *,
        message: str | None = None,
        maybe_applied: bool = False,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.system = system
        self.detail = detail
        self.message = message or self.default_message
        self.maybe_applied = maybe_applied
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(f"{system}: {self.message}" + (f" ({detail})" if detail else ""))


class SourceUnavailable(SourceError):
    """The system refused the connection, failed, or answered something unusable."""

    default_message = "The system is unavailable."


class SourceTimeout(SourceError):
    """The system did not answer within its configured timeout."""

    default_message = "The system did not answer in time."


class NotFound(SourceError):
    """The system does not know the requested thing."""

    default_message = "The system does not know this item."


class Rejected(SourceError):
    """The system refused a write for a business reason; nothing was written.

    ``code`` is Keylink's stable code (``ORDER_LOCKED``, ``BAD_INPUT``...), ``field`` the
    input field the upstream objected to, if it said.
    """

    default_message = "The system rejected the change."

    def __init__(
        self,
        system: str,
        detail: str = "",
        *,
        code: str = "REJECTED",
        message: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(system, detail, message=message)
        self.code = code
        self.field = field


class Conflict(SourceError):
    """A write carried a version that is no longer the current one; nothing was written.

    ``current`` is the item as the upstream has it now, when it said.
    """

    default_message = "The item was changed by someone else."

    def __init__(
        self, system: str, detail: str = "", *, current: object = None, message: str | None = None
    ) -> None:
        super().__init__(system, detail, message=message)
        self.current = current


__all__ = [
    "Conflict",
    "NotFound",
    "Rejected",
    "SourceError",
    "SourceTimeout",
    "SourceUnavailable",
]


class Unsupported(SourceError):
    """The system (or its configured adapter) does not offer this operation."""

    default_message = "The system does not offer this data."


__all__ += ["Unsupported"]


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """An HTTP ``Retry-After`` header value in seconds from now (delta-seconds or an
    HTTP-date), or None when absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


__all__ += ["retry_after_seconds"]
