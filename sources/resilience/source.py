"""``ResilientSource``: one source adapter behind a circuit breaker, a bulkhead and a retry
budget, behind the upstream's own ``Retry-After`` and its request quota (RELIABILITY.md R3,
R4, R5, R6, O1).

Which methods write is the adapter's declaration (``sources.base.DeclaresWrites``:
``write_operations``), never a guess from method names: a declared write is never retried,
whatever it is called, and every other public async method is a read. The batched reads the
adapter declares (``sources.operations.DeclaresReads``) are offered again, guarded, by
``read_operations()``: the loaders call them through it.

The gateway wraps every adapter in one; resolvers use the wrapper exactly as they would the
adapter, because it exposes the adapter's ``name``, ``kinds``, ``aclose()`` and every
public async method (so ``isinstance(wrapper, ErpSource)`` and the other runtime-checkable
protocols hold whenever they hold for the adapter).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from sources.base import ORDER_LINE_WRITES, Source, declared_writes
from sources.errors import SourceError, SourceTimeout, SourceUnavailable, Unsupported
from sources.operations import (
    DeclaresReads,
    ReadDeclarationError,
    ReadOperation,
    ReadOperations,
    read_operations_of,
)
from sources.resilience.guards import (
    BreakerState,
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    Clock,
    LatencyWindow,
    Quota,
    RetryBudget,
    Throttle,
    backoff_delay,
)

WRITES: frozenset[str] = ORDER_LINE_WRITES
"""The order-line writes of ``OrderEditor``. Kept for callers that named it; the wrapper
itself takes the writes from what the adapter declares (``write_operations``)."""

CIRCUIT_OPEN_MESSAGE = "The system is unavailable (circuit open)."
OVERLOADED_MESSAGE = "The system is overloaded."

AsyncMethod = Callable[..., Awaitable[Any]]

__all__ = [
    "CIRCUIT_OPEN_MESSAGE",
    "OVERLOADED_MESSAGE",
    "WRITES",
    "CallObserver",
    "CallRecord",
    "ResilientSource",
    "SourceHealth",
    "observe_calls",
    "quota_message",
    "throttled_message",
]


@dataclass(slots=True)
class CallRecord:
    """What one guarded call did, filled in while it runs, for a :class:`CallObserver`.

    ``batch_size``: how many keys the call carried (None when its first argument is no
    key list); ``attempts``: calls of the adapter made (0 when a guard refused it, 2 after
    a retry); ``error``: what the call raised (None on success); ``breaker``: the
    system's breaker state once the call ended."""

    system: str
    operation: str
    batch_size: int | None
    write: bool
    attempts: int = 0
    error: BaseException | None = None
    breaker: BreakerState = "closed"


class CallObserver(Protocol):
    """What watches every guarded call of every system (tracing, metrics, explain): the
    gateway installs one with :func:`observe_calls`; without one a call costs nothing more.

    ``call`` returns a context manager entered around the whole guarded call (guards,
    retries and all) in the caller's task, yielding the :class:`CallRecord` that the
    wrapper fills in before the block exits."""

    def call(
        self, system: str, operation: str, batch_size: int | None, write: bool
    ) -> AbstractContextManager[CallRecord]:
        """The context manager watching one call."""
        ...


_observer: CallObserver | None = None


def observe_calls(observer: CallObserver | None) -> CallObserver | None:
    """Watch every guarded call from now on with ``observer`` (None: stop watching); the
    observer that was installed before is returned."""
    global _observer
    previous, _observer = _observer, observer
    return previous


def _batch_size(args: tuple[Any, ...]) -> int | None:
    """How many keys a call carries: the length of its first argument when that is a
    list, tuple or set of keys."""
    if args and isinstance(args[0], (list, tuple, set, frozenset)):
        return len(args[0])
    return None


class SourceHealth(TypedDict):
    """One system's figures for metrics (O1); see ``ResilientSource.health``."""

    state: BreakerState
    opened_count: int
    in_flight: int
    p95_ms: float | None
    calls: int
    failures: int
    retries: int
    refused: int


class ResilientSource:
    """A source adapter (``inner``) whose every public async method is guarded.

    Promises, per call of a wrapped method:

    1. If the breaker refuses, ``SourceUnavailable(name, "circuit open")`` is raised at once
       (no await of anything), and ``inner`` is not called.
    1a. If the system is throttled (it answered 429/503 with ``Retry-After`` and that time
       has not passed), ``SourceUnavailable`` with ``retry_after`` set is raised at once,
       and ``inner`` is not called.
    1b. If the system has a ``quota``, a token is taken first, waiting for one at most the
       quota's ``max_wait``; when none comes in time, ``SourceUnavailable`` with
       ``retry_after`` is raised and ``inner`` is not called. Every call of ``inner``
       (retries included) spends one token.
    2. If the bulkhead is full, ``SourceUnavailable(name, ..., message="The system is
       overloaded.")`` is raised at once, and ``inner`` is not called. Neither refusal is
       retryable, and for a write ``maybe_applied`` is False: nothing was sent.
    3. Otherwise ``inner`` is called holding one bulkhead slot. ``SourceUnavailable`` and
       ``SourceTimeout`` count as breaker failures; a result, ``NotFound``, ``Rejected``,
       ``Conflict`` (answers from the upstream) count as successes. An error carrying
       ``retry_after`` is no verdict: it throttles the system instead (5a).
       ``Unsupported``, other exceptions and cancellation are no verdict (a half-open probe
       is released).
       The error ``inner`` raised is re-raised unchanged.
    4. Reads (methods ``inner`` does not declare in ``write_operations``, nor named in
       ``write_methods``) count one request in ``budget``; a ``SourceError`` with
       ``retryable`` set and no ``retry_after`` is retried **at most once**, after
       ``backoff_delay(1)``, only if the budget allows it and the breaker is not open. If the
       retry is then refused by the breaker, bulkhead, throttle or quota, the first error is
       raised.
    5. Writes are called exactly once, never retried, and never counted in the budget.
    5a. An error of ``inner`` carrying ``retry_after`` (the upstream's ``Retry-After``)
       throttles the system for that long (at most the throttle's cap).
    6. Each call of ``inner`` (retries included) adds its duration to the latency window.

    Use one breaker and one bulkhead per system, shared by its reads and writes (one
    wrapper per system does this); share one ``RetryBudget`` across the process.
    """

    def __init__(
        self,
        inner: Source,
        *,
        breaker: CircuitBreaker,
        bulkhead: Bulkhead,
        budget: RetryBudget,
        write_methods: frozenset[str] = frozenset(),
        throttle: Throttle | None = None,
        quota: Quota | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Clock = time.perf_counter,
    ) -> None:
        self._inner = inner
        self.name: str = inner.name
        self.kinds: frozenset[str] = inner.kinds
        self.breaker = breaker
        self.bulkhead = bulkhead
        self.budget = budget
        self.write_methods = declared_writes(inner) | write_methods
        self.throttle = throttle or Throttle()
        self.quota = quota
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self.latency = LatencyWindow()
        self._calls = 0
        self._failures = 0
        self._retries = 0
        self._refused = 0
        self.last_call: tuple[str, str | None, float] | None = None
        """How the last call of ``inner`` ended: ``(state, error class name or None, at)``
        with ``state`` ``ok`` (it answered, even "not found"), ``failed`` (unavailable or
        timed out) or ``throttled`` (it asked to wait), ``at`` in epoch seconds; None
        before the first call."""
        # Bind the wrappers up front as instance attributes, so protocol checks that look
        # attributes up statically (Python ≥ 3.12's isinstance) see them too.
        for attr in _public_async_methods(inner):
            setattr(self, attr, self._wrap(attr, getattr(inner, attr)))
        self._reads: ReadOperations | None = None
        if isinstance(inner, DeclaresReads):
            reads = read_operations_of(inner)
            clash = sorted(set(reads) & self.write_methods)
            if clash:
                raise ReadDeclarationError(f"{self.name}: {clash} declared both read and write")
            self._reads = reads.guarded(self._guarded_read)

    @property
    def inner(self) -> Source:
        """The wrapped adapter (calls made on it directly bypass every guard)."""
        return self._inner

    def read_operations(self) -> ReadOperations:
        """``inner``'s declared batched reads, each guarded as a read (promises 1-6);
        ``ReadDeclarationError`` when ``inner`` declares none."""
        if self._reads is None:
            raise ReadDeclarationError(f"{self._inner!r} declares no batched reads")
        return self._reads

    def _guarded_read(self, operation: ReadOperation) -> AsyncMethod:
        return self._wrap(operation.name, operation.load)

    def __getattr__(self, attr: str) -> Any:
        """Delegate what the wrapper does not define to ``inner``; async methods wrapped."""
        inner = self.__dict__.get("_inner")
        if inner is None or attr.startswith("_"):
            raise AttributeError(attr)
        value = getattr(inner, attr)
        if inspect.iscoroutinefunction(value):
            wrapped = self._wrap(attr, value)
            setattr(self, attr, wrapped)
            return wrapped
        return value

    def __repr__(self) -> str:
        return f"ResilientSource({self._inner!r})"

    async def aclose(self) -> None:
        """Close ``inner`` (not guarded: closing never calls the upstream) and the quota."""
        try:
            await self._inner.aclose()
        finally:
            if self.quota is not None:
                await self.quota.aclose()

    def health(self) -> SourceHealth:
        """This system's breaker state and call figures.

        ``calls``: calls of ``inner`` made (retries included); ``failures``: those that
        raised ``SourceUnavailable``/``SourceTimeout``; ``retries``: retries made;
        ``refused``: calls refused by the breaker or the bulkhead without calling ``inner``;
        ``p95_ms``: p95 latency of the last 512 calls of ``inner``, None before the first.
        """
        p95 = self.latency.p95()
        return {
            "state": self.breaker.state,
            "opened_count": self.breaker.opened_count,
            "in_flight": self.bulkhead.in_flight,
            "p95_ms": None if p95 is None else round(p95 * 1000.0, 3),
            "calls": self._calls,
            "failures": self._failures,
            "retries": self._retries,
            "refused": self._refused,
        }

    # -- the guarded call ------------------------------------------------------------------

    def _wrap(self, attr: str, method: AsyncMethod) -> AsyncMethod:
        is_write = attr in self.write_methods

        @functools.wraps(method)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            observer = _observer
            if observer is None:
                if is_write:
                    return await self._attempt(method, args, kwargs, first_error=None)
                return await self._read(method, args, kwargs)
            with observer.call(self.name, attr, _batch_size(args), is_write) as record:
                try:
                    if is_write:
                        return await self._attempt(
                            method, args, kwargs, first_error=None, record=record
                        )
                    return await self._read(method, args, kwargs, record)
                except BaseException as error:
                    record.error = error
                    raise
                finally:
                    record.breaker = self.breaker.state

        return guarded

    async def _read(
        self,
        method: AsyncMethod,
        args: tuple[Any, ...],
        kwargs: Any,
        record: CallRecord | None = None,
    ) -> Any:
        self.budget.record_request()
        try:
            return await self._attempt(method, args, kwargs, first_error=None, record=record)
        except SourceError as error:
            if (
                not error.retryable
                or error.retry_after is not None  # the upstream said when: not before
                or self.breaker.state == "open"
                or not self.budget.try_spend()
            ):
                raise
            await self._sleep(backoff_delay(1, rng=self._rng))
            return await self._attempt(method, args, kwargs, first_error=error, record=record)

    async def _attempt(
        self,
        method: AsyncMethod,
        args: tuple[Any, ...],
        kwargs: Any,
        *,
        first_error: SourceError | None,
        record: CallRecord | None = None,
    ) -> Any:
        wait = self.throttle.remaining()
        if wait > 0:
            self._refused += 1
            if first_error is not None:
                raise first_error
            raise SourceUnavailable(
                self.name,
                f"throttled by the upstream for {wait:.3f} s more",
                message=throttled_message(wait),
                retry_after=wait,
            )
        if self.quota is not None and self.breaker.state != "open":
            wait_for_token = await self.quota.acquire()
            if wait_for_token is not None:
                self._refused += 1
                if first_error is not None:
                    raise first_error
                raise SourceUnavailable(
                    self.name,
                    f"request quota spent; next token in {wait_for_token:.3f} s",
                    message=quota_message(wait_for_token),
                    retry_after=wait_for_token,
                )
        probing = self.breaker.state == "half_open"
        if not self.breaker.allow():
            self._refused += 1
            if first_error is not None:
                raise first_error
            raise SourceUnavailable(
                self.name,
                "circuit open",
                message=CIRCUIT_OPEN_MESSAGE,
                retry_after=self.breaker.retry_after() or None,
            )
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self.bulkhead.slot())
            except BulkheadFull as full:
                if probing:
                    self.breaker.release_probe()
                self._refused += 1
                if first_error is not None:
                    raise first_error from None
                raise SourceUnavailable(
                    self.name, f"bulkhead full ({full.limit})", message=OVERLOADED_MESSAGE
                ) from None
            self._calls += 1
            if first_error is not None:
                self._retries += 1
            if record is not None:
                record.attempts += 1
            started = self._clock()
            try:
                result = await method(*args, **kwargs)
            except SourceError as error:
                if error.retry_after is not None:
                    self.throttle.hold(error.retry_after)
                self._verdict(error, probing)
                self.last_call = (_call_state(error), type(error).__name__, time.time())
                raise
            except BaseException:
                if probing:
                    self.breaker.release_probe()
                raise
            finally:
                self.latency.add(self._clock() - started)
            self.breaker.record_success()
            self.last_call = ("ok", None, time.time())
            return result

    def _verdict(self, error: SourceError, probing: bool) -> None:
        """What ``inner``'s ``error`` tells the breaker (promise 3)."""
        if error.retry_after is not None:
            # the upstream is there and said when to come back: the throttle keeps calls
            # away until then, so the breaker need not open (no verdict)
            if probing:
                self.breaker.release_probe()
        elif isinstance(error, (SourceUnavailable, SourceTimeout)):
            self._failures += 1
            self.breaker.record_failure()
        elif isinstance(error, Unsupported):
            if probing:
                self.breaker.release_probe()
        else:
            self.breaker.record_success()  # the upstream answered


def _call_state(error: SourceError) -> str:
    """``failed``, ``throttled`` or ``ok``: how a call that raised ``error`` ended, as the
    breaker judges it (an upstream refusal is an answer)."""
    if error.retry_after is not None:
        return "throttled"
    if isinstance(error, (SourceUnavailable, SourceTimeout)):
        return "failed"
    return "ok"


def throttled_message(seconds: float) -> str:
    """The client-facing message of a call refused because the upstream asked to wait."""
    return f"The system asked for fewer requests; retry in {math.ceil(seconds)} s."


def quota_message(seconds: float) -> str:
    """The client-facing message of a call refused because the system's quota is spent."""
    return f"The system's request quota is spent; retry in {math.ceil(seconds)} s."


def _public_async_methods(inner: object) -> list[str]:
    """Names of ``inner``'s public async methods, ``aclose`` excepted."""
    names = []
    for attr in dir(inner):
        if attr.startswith("_") or attr == "aclose":
            continue
        static = inspect.getattr_static(inner, attr, None)
        if isinstance(static, (staticmethod, classmethod)):
            static = static.__func__
        if inspect.iscoroutinefunction(static):
            names.append(attr)
    return names
