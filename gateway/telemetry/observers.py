"""The one watcher of every upstream call (``sources.resilience.source.observe_calls``)
and every loader batch (``resolvers.loaders.observe_batches``) in the process.

Each call and batch is counted in the Prometheus metrics; when the request it serves has
a tracer (tracing on), it gets a span, current while it runs (so the upstream call's span
is a child of its batch's, and the batch's of the operation's, and ``traceparent`` names
it); when the request asked for explain and may have it, it gets an entry in the
request's explain log. What a request has comes from its own context variable
(``gateway.telemetry.state``), never from anything shared.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from gateway.telemetry import metrics
from gateway.telemetry.state import ExplainLog, RequestState, current, ms
from resolvers.errors import code_for
from resolvers.loaders import BatchRecord, observe_batches
from sources.errors import SourceError, SourceTimeout, SourceUnavailable
from sources.resilience.source import CallRecord, observe_calls

_batch_entry: ContextVar[dict[str, Any] | None] = ContextVar("keylink_batch", default=None)
"""The explain entry of the loader batch this task runs (its upstream call fills it)."""


def error_code(error: BaseException) -> str:
    """The stable code of an upstream error (``SOURCE_UNAVAILABLE``...), or the class
    name of anything else."""
    if isinstance(error, SourceError):
        return code_for(error)
    return type(error).__name__


class _Watch:
    """What a call and a batch watch share: the request, the span, the start time."""

    __slots__ = ("request", "span", "started", "token")

    def __init__(self, request: RequestState | None) -> None:
        self.request = request
        self.span: Span | None = None
        self.token: object = None
        self.started = time.perf_counter()

    def _start_span(self, name: str, kind: SpanKind, attributes: dict[str, Any]) -> None:
        request = self.request
        tracer = None if request is None else request.app.tracer
        if tracer is None:
            return
        self.span = span = tracer.start_span(name, kind=kind, attributes=attributes)
        self.token = otel_context.attach(trace.set_span_in_context(span))

    def _end_span(self, error: BaseException | None, attributes: dict[str, Any]) -> None:
        span = self.span
        if span is None:
            return
        otel_context.detach(self.token)  # type: ignore[arg-type]
        span.set_attributes(attributes)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error_code(error)))
        span.end()

    @property
    def explain(self) -> ExplainLog | None:
        request = self.request
        return None if request is None else request.explain


class CallWatch(_Watch):
    """Watches one guarded upstream call (see :class:`Observers`)."""

    __slots__ = ("batch", "record")

    def __init__(self, record: CallRecord) -> None:
        super().__init__(current())
        self.record = record
        self.batch: dict[str, Any] | None = None

    def __enter__(self) -> CallRecord:
        record = self.record
        metrics.UPSTREAM_IN_FLIGHT.labels(record.system).inc()
        if self.request is not None:
            self.batch = _batch_entry.get()
            self._start_span(
                f"upstream {record.system}.{record.operation}",
                SpanKind.CLIENT,
                {
                    "keylink.system": record.system,
                    "keylink.operation": record.operation,
                    "keylink.batch_size": -1 if record.batch_size is None else record.batch_size,
                    "keylink.write": record.write,
                },
            )
        return record

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ended = time.perf_counter()
        record = self.record
        seconds = ended - self.started
        system = record.system
        metrics.UPSTREAM_IN_FLIGHT.labels(system).dec()
        metrics.CIRCUIT_OPEN.labels(system).set(int(record.breaker != "closed"))
        attempts = record.attempts
        failed = record.error
        if attempts == 0:
            metrics.UPSTREAM_REFUSED.labels(system).inc()
        else:
            metrics.UPSTREAM_LATENCY.labels(system, record.operation).observe(seconds)
            metrics.UPSTREAM_CALLS.labels(system).inc(attempts)
            failures = attempts - 1
            if _failure(failed):
                failures = attempts
            if failures:
                metrics.UPSTREAM_FAILURES.labels(system).inc(failures)
            if attempts > 1:
                metrics.UPSTREAM_RETRIES.labels(system).inc(attempts - 1)
        if failed is not None:
            metrics.UPSTREAM_ERRORS.labels(system, record.operation, error_code(failed)).inc()
        if self.request is None:
            return
        status = "ok" if failed is None else error_code(failed)
        self._end_span(
            failed,
            {
                "keylink.attempts": attempts,
                "keylink.retries": max(attempts - 1, 0),
                "keylink.status": status,
                "keylink.circuit": record.breaker,
            },
        )
        explain = self.explain
        if explain is None:
            return
        call = {
            "durationMs": ms(seconds),
            "attempts": attempts,
            "retries": max(attempts - 1, 0),
            "status": status,
        }
        if self.batch is not None:  # the loader's batch entry says the rest
            self.batch.update(call)
            return
        explain.spans.append((self.started, ended))
        explain.entries.append(
            {
                "system": system,
                "operation": record.operation,
                "batchSize": record.batch_size,
                "cache": None,
                "upstream": attempts > 0,
                "shared": False,
                "write": record.write,
                **call,
            }
        )


class BatchWatch(_Watch):
    """Watches one loader batch (see :class:`Observers`)."""

    __slots__ = ("entry", "entry_token", "record")

    def __init__(self, record: BatchRecord) -> None:
        super().__init__(current())
        self.record = record
        self.entry: dict[str, Any] | None = None
        self.entry_token: object = None

    def __enter__(self) -> BatchRecord:
        record = self.record
        if self.request is None:
            return record
        self._start_span(
            f"batch {record.system}.{record.operation}",
            SpanKind.INTERNAL,
            {
                "keylink.system": record.system,
                "keylink.operation": record.operation,
                "keylink.batch_size": record.keys,
            },
        )
        if self.explain is not None:
            self.entry = {
                "system": record.system,
                "operation": record.operation,
                "keys": record.keys,
            }
            self.explain.entries.append(self.entry)
            self.entry_token = _batch_entry.set(self.entry)
        return record

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ended = time.perf_counter()
        record = self.record
        labels = (record.system, record.operation)
        if record.cache_hits:
            metrics.CACHE_LOOKUPS.labels(*labels, "hit").inc(record.cache_hits)
        if record.sent:
            metrics.CACHE_LOOKUPS.labels(*labels, "miss").inc(record.sent - record.stale)
        if record.stale:
            metrics.CACHE_LOOKUPS.labels(*labels, "stale").inc(record.stale)
        if self.request is None:
            return
        cache = _cache_word(record)
        failed = record.error or error
        self._end_span(
            failed,
            {
                "keylink.cache": cache,
                "keylink.cache.hits": record.cache_hits,
                "keylink.upstream.keys": record.sent,
                "keylink.shared": record.shared,
            },
        )
        entry = self.entry
        if entry is None:
            return
        _batch_entry.reset(self.entry_token)  # type: ignore[arg-type]
        entry.update(
            cache=cache,
            cacheHits=record.cache_hits,
            batchSize=record.sent,
            upstream=record.sent > 0,
            shared=record.shared,
        )
        if record.sent:
            assert self.explain is not None
            self.explain.spans.append((self.started, ended))
            entry.setdefault("durationMs", ms(ended - self.started))
            entry.setdefault("attempts", None)  # a shared call: another request's retries
            entry.setdefault("retries", None)
            entry.setdefault("status", "ok" if failed is None else error_code(failed))
            if failed is not None:
                entry["status"] = error_code(failed)
        if record.stale:
            entry["staleKeys"] = record.stale


def _failure(error: BaseException | None) -> bool:
    """Whether ``error`` counts against the system (unavailable or timed out, and not a
    throttle the upstream asked for)."""
    return isinstance(error, (SourceUnavailable, SourceTimeout)) and error.retry_after is None


def _cache_word(record: BatchRecord) -> str:
    """``hit`` (every key fresh from the cache), ``miss`` (none), ``partial``, or
    ``stale`` (the read failed and stale cache answered)."""
    if record.stale:
        return "stale"
    if not record.sent:
        return "hit"
    return "partial" if record.cache_hits else "miss"


class Observers:
    """The process's watcher of upstream calls and loader batches."""

    def call(self, system: str, operation: str, batch_size: int | None, write: bool) -> CallWatch:
        """The watch of one guarded call."""
        return CallWatch(CallRecord(system, operation, batch_size, write))

    def batch(self, system: str, operation: str, keys: int) -> BatchWatch:
        """The watch of one loader batch."""
        return BatchWatch(BatchRecord(system, operation, keys))


_installed: Observers | None = None


def install_observers() -> Observers:
    """Watch every upstream call and loader batch of this process (once; later calls
    return the same watcher)."""
    global _installed
    if _installed is None:
        _installed = Observers()
        observe_calls(_installed)
        observe_batches(_installed)
    return _installed


def uninstall_observers() -> None:
    """Stop watching (the bench's "not installed" row, and tests)."""
    global _installed
    _installed = None
    observe_calls(None)
    observe_batches(None)
