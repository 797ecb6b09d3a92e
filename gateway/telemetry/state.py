"""What one request's telemetry carries while it runs: its id, the app's tracer, and the
explain log when the caller asked for one and may have it.

It travels in a context variable set by ``gateway.telemetry.request_id.RequestTelemetry``
(the outermost ASGI layer) for the request's task; every task the request starts (the
loaders' batches, graphql-core's gathers) copies it. Nothing here is shared between
requests: each request gets its own :class:`RequestState` and its own :class:`ExplainLog`.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from gateway.telemetry.settings import TelemetrySettings


@dataclass
class ExplainLog:
    """How one answer was made: one entry per loader batch or upstream call, in the order
    they started, with the time each took.

    ``entries`` are plain dicts (the JSON of ``extensions.explain.calls``), filled in as
    each batch or call ends; ``spans`` are their (start, end) ``perf_counter`` times when
    they waited on an upstream system, from which :meth:`report` computes the time spent
    in the gateway itself."""

    started: float = field(default_factory=time.perf_counter)
    entries: list[dict[str, Any]] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)

    def report(self, ended: float | None = None) -> dict[str, Any]:
        """``extensions.explain``: ``calls``, ``totalMs`` (the operation), ``upstreamMs``
        (wall time with at least one upstream call in flight) and ``gatewayMs`` (the rest:
        parsing, validation, the link map, resolving, encoding the fields)."""
        ended = time.perf_counter() if ended is None else ended
        total = max(ended - self.started, 0.0)
        upstream = min(union_length(self.spans), total)
        return {
            "totalMs": ms(total),
            "upstreamMs": ms(upstream),
            "gatewayMs": ms(total - upstream),
            "calls": list(self.entries),
        }


@dataclass
class AppTelemetry:
    """One application's telemetry: its settings and tracer (None while tracing is off)."""

    settings: TelemetrySettings
    tracer: Tracer | None = None


@dataclass
class RequestState:
    """One request's telemetry: its id, its app's, and its explain log once granted."""

    request_id: str
    app: AppTelemetry
    explain: ExplainLog | None = None


_current: ContextVar[RequestState | None] = ContextVar("keylink_request", default=None)


def current() -> RequestState | None:
    """The telemetry of the request this task serves (None outside a request)."""
    return _current.get()


def current_request_id() -> str | None:
    """The id of the request this task serves (None outside a request)."""
    state = _current.get()
    return None if state is None else state.request_id


def enter(state: RequestState) -> object:
    """Make ``state`` the current request's; returns the token for :func:`leave`."""
    return _current.set(state)


def leave(token: object) -> None:
    """Undo :func:`enter`."""
    _current.reset(token)  # type: ignore[arg-type]


def union_length(spans: list[tuple[float, float]]) -> float:
    """The length of the union of the intervals ``spans`` (overlaps counted once)."""
    total = 0.0
    end = float("-inf")
    for start, stop in sorted(spans):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def ms(seconds: float) -> float:
    """Seconds as milliseconds, rounded to microseconds."""
    return round(seconds * 1000.0, 3)
