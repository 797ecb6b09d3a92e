"""Resilience primitives for upstream calls (RELIABILITY.md R3, R5, R6, O1).

Each class is pure asyncio/synchronous bookkeeping with an injectable clock, so tests drive
time by hand. None of them calls an upstream; ``sources.resilience.source`` puts them around
a source adapter.

- ``CircuitBreaker``: per system; opens after 5 consecutive failures, stays open 5 s,
  doubling each time it re-opens without a success in between, capped at 60 s; then lets
  exactly one probe through, whose success closes it and resets the open period.
- ``Bulkhead``: per system; at most ``limit`` calls in flight, the next one fails at once.
- ``RetryBudget``: process-wide (share one instance); retries may not exceed 20 % of the
  requests plus 10/s, over a sliding 10 s window.
- ``backoff_delay``: full-jitter exponential back-off.
- ``LatencyWindow``: the last N latencies and their p95, for metrics.
- ``Throttle``: per system; once the upstream answered 429/503 with ``Retry-After``, no
  call goes out until then.
- ``Quota``: per system; a token bucket of upstream requests (in Redis, shared by the
  replicas, when configured); a call waits for a token at most ``max_wait`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal, Protocol

Clock = Callable[[], float]
BreakerState = Literal["closed", "open", "half_open"]

__all__ = [
    "BreakerState",
    "Bulkhead",
    "BulkheadFull",
    "CircuitBreaker",
    "Clock",
    "LatencyWindow",
    "Quota",
    "RetryBudget",
    "Throttle",
    "backoff_delay",
]


class CircuitBreaker:
    """A consecutive-failure circuit breaker for one upstream system (R5).

    Promises:

    - **closed**: every call is allowed. ``failure_threshold`` consecutive
      ``record_failure()`` calls (no ``record_success()`` in between) open it.
    - **open**: ``allow()`` is False, with no side effect, for
      ``min(base_open_seconds × 2^(n-1), max_open_seconds)`` seconds, where n
      (``opened_count``) is the number of times it has opened since it was last closed by a
      successful probe: 5, 10, 20, 40, 60, 60 … s with the defaults, never more than
      ``max_open_seconds`` at a time.
    - **half_open** (the open period has passed): the first ``allow()`` returns True and
      takes the single probe slot; every other ``allow()`` returns False until the probe
      reports. The probe's ``record_success()`` closes the breaker and resets both the
      failure count and n, so the next opening lasts ``base_open_seconds`` again; its
      ``record_failure()`` opens it again for twice the last period, at most
      ``max_open_seconds``. A probe that ends without a verdict (cancelled, or an error
      that says nothing about the upstream) must call ``release_probe()`` so the next
      caller may probe.
    - While open or half-open, verdicts that are not the probe's (calls that started before
      the breaker opened and finish late) are ignored: they neither close nor re-open it.

    Not thread-safe; meant for one event loop.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        base_open_seconds: float = 5.0,
        max_open_seconds: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if base_open_seconds <= 0:
            raise ValueError("base_open_seconds must be positive")
        if max_open_seconds < base_open_seconds:
            raise ValueError("max_open_seconds must be at least base_open_seconds")
        self.name = name
        self.failure_threshold = failure_threshold
        self.base_open_seconds = base_open_seconds
        self.max_open_seconds = max_open_seconds
        self._clock = clock
        self._failures = 0
        self._opened_count = 0
        self._open = False
        self._open_until = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` (calls refused) or ``half_open`` (a probe may run or runs)."""
        if not self._open:
            return "closed"
        if self._probe_in_flight or self._clock() >= self._open_until:
            return "half_open"
        return "open"

    @property
    def opened_count(self) -> int:
        """How many times the breaker has opened since a probe last closed it (n)."""
        return self._opened_count

    @property
    def consecutive_failures(self) -> int:
        """Failures recorded while closed since the last success."""
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go upstream now. In half-open, True exactly once (the probe)."""
        if not self._open:
            return True
        if self._probe_in_flight or self._clock() < self._open_until:
            return False
        self._probe_in_flight = True
        return True

    def retry_after(self) -> float:
        """Seconds until a probe may run: 0.0 when closed or half-open."""
        if not self._open or self._probe_in_flight:
            return 0.0
        return max(0.0, self._open_until - self._clock())

    def record_success(self) -> None:
        """An allowed call got an answer from the upstream.

        Closed: resets the consecutive-failure count. The half-open probe: closes the
        breaker and resets n. Otherwise ignored.
        """
        if not self._open:
            self._failures = 0
        elif self._probe_in_flight:
            self._open = False
            self._probe_in_flight = False
            self._failures = 0
            self._opened_count = 0

    def record_failure(self) -> None:
        """An allowed call found the upstream unavailable or too slow.

        Closed: counts it, and opens the breaker at ``failure_threshold``. The half-open
        probe: opens it again for twice the last period, at most ``max_open_seconds``.
        Otherwise ignored.
        """
        if not self._open:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._trip()
        elif self._probe_in_flight:
            self._probe_in_flight = False
            self._trip()

    def release_probe(self) -> None:
        """The half-open probe ended without a verdict; the next ``allow()`` may probe."""
        self._probe_in_flight = False

    def _trip(self) -> None:
        self._opened_count += 1
        self._open = True
        self._failures = 0
        # the exponent is bounded so that a breaker that re-opens for days cannot overflow
        doubled = self.base_open_seconds * 2.0 ** min(self._opened_count - 1, 62)
        self._open_until = self._clock() + min(doubled, self.max_open_seconds)


class BulkheadFull(Exception):
    """Raised by ``Bulkhead.slot()`` when ``limit`` calls are in flight and the queue of
    waiting calls is full (or a queued call waited too long)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"bulkhead full ({limit} calls in flight)")
        self.limit = limit


class Bulkhead:
    """At most ``limit`` concurrent calls to one system (R6), like an HTTP connection pool:
    up to ``max_waiting`` more calls wait for a slot (at most ``wait_seconds``); beyond
    that, calls fail at once.

    ``slot()`` raises ``BulkheadFull`` when no slot is free and the queue is full, or when a
    queued call's wait runs out; otherwise it holds a slot until the block exits (normally,
    by an exception, or by cancellation).
    """

    def __init__(
        self, limit: int = 100, *, max_waiting: int = 0, wait_seconds: float = 3.0
    ) -> None:
        if limit < 1 or max_waiting < 0:
            raise ValueError("a bulkhead needs limit >= 1 and max_waiting >= 0")
        self.limit = limit
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_flight(self) -> int:
        """Slots taken right now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls queued for a slot right now."""
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the duration of the block; wait in the queue if there is room,
        else raise ``BulkheadFull`` at once."""
        if self._in_flight >= self.limit:
            await self._wait_for_slot()
        else:
            self._in_flight += 1
        try:
            yield
        finally:
            self._release()

    async def _wait_for_slot(self) -> None:
        if len(self._waiters) >= self.max_waiting:
            raise BulkheadFull(self.limit)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), self.wait_seconds)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed over just as the wait ended
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise BulkheadFull(self.limit) from None
            raise
        # the releasing call handed its slot over: _in_flight already counts this call

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # hand the slot over; _in_flight stays the same
                return
        self._in_flight -= 1


class RetryBudget:
    """A sliding-window retry budget (R3), shared process-wide.

    ``try_spend()`` allows a retry only while, counting it, the retries within the last
    ``window`` seconds stay ≤ ``ratio`` × the requests recorded in that window
    + ``min_per_second`` × ``window``. So under total failure, upstream calls over a window
    are at most (1 + ratio) × requests + ``min_per_second`` × ``window``.

    Counts are kept in ``window / 100`` wide buckets, so memory is bounded whatever the load;
    an event leaves the window at most one bucket width late.
    """

    _BUCKETS = 100

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_per_second: float = 10.0,
        window: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if ratio < 0 or min_per_second < 0:
            raise ValueError("ratio and min_per_second must not be negative")
        if window <= 0:
            raise ValueError("window must be positive")
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window = window
        self._clock = clock
        self._width = window / self._BUCKETS
        self._requests: deque[list[int]] = deque()  # [bucket index, count]
        self._retries: deque[list[int]] = deque()
        self._request_total = 0
        self._retry_total = 0

    def record_request(self) -> None:
        """Count one original (not retried) request."""
        self._add(self._requests)
        self._request_total += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget if it allows one; False leaves it unchanged."""
        self._expire()
        limit = self.ratio * self._request_total + self.min_per_second * self.window
        if self._retry_total + 1 > limit:
            return False
        self._add(self._retries)
        self._retry_total += 1
        return True

    @property
    def requests_in_window(self) -> int:
        """Original requests recorded within the window."""
        self._expire()
        return self._request_total

    @property
    def retries_in_window(self) -> int:
        """Retries spent within the window."""
        self._expire()
        return self._retry_total

    def _add(self, buckets: deque[list[int]]) -> None:
        self._expire()
        index = math.floor(self._clock() / self._width)
        if buckets and buckets[-1][0] == index:
            buckets[-1][1] += 1
        else:
            buckets.append([index, 1])

    def _expire(self) -> None:
        # a bucket leaves once it lies wholly before now - window
        oldest = math.floor((self._clock() - self.window) / self._width)
        while self._requests and self._requests[0][0] < oldest:
            self._request_total -= self._requests.popleft()[1]
        while self._retries and self._retries[0][0] < oldest:
            self._retry_total -= self._retries.popleft()[1]


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.05,
    cap: float = 0.5,
    rng: Callable[[], float] = random.random,
) -> float:
    """Full-jitter back-off before retry number ``attempt`` (1 = the first retry).

    Returns a delay uniformly drawn from [0, min(cap, base × 2^(attempt-1))), with ``rng``
    giving a float in [0, 1). The first retry waits less than ``base`` (50 ms), no retry
    waits ``cap`` (0.5 s) or more.
    """
    if attempt < 1:
        raise ValueError("attempt counts retries from 1")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return rng() * ceiling


class LatencyWindow:
    """The latencies of the last ``size`` calls (seconds) and their 95th percentile."""

    def __init__(self, size: int = 512) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._samples: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, seconds: float) -> None:
        """Record one latency; the oldest falls out once ``size`` are held."""
        self._samples.append(seconds)

    def p95(self) -> float | None:
        """The nearest-rank 95th percentile of the held samples, or None when there are none."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Throttle:
    """An upstream's own "come back later" (RELIABILITY.md R3, quotas): after a 429 or 503
    carrying ``Retry-After``, ``hold(seconds)`` keeps every call away until then.

    ``remaining()`` is the time left (0.0 when calls may go). A later, shorter hold never
    shortens a longer one; a hold is capped at ``max_seconds`` so that a wild header cannot
    silence a system for hours. Per process, like the breaker.
    """

    def __init__(self, *, max_seconds: float = 300.0, clock: Clock = time.monotonic) -> None:
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        self.max_seconds = max_seconds
        self._clock = clock
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        """No call for ``seconds`` (at most ``max_seconds``) from now."""
        until = self._clock() + min(max(seconds, 0.0), self.max_seconds)
        self._until = max(self._until, until)

    def remaining(self) -> float:
        """Seconds until calls may go again; 0.0 when they may now."""
        return max(0.0, self._until - self._clock())


class TokenDecision(Protocol):
    """A token bucket's answer: whether the tokens were taken, else when to ask again."""

    @property
    def allowed(self) -> bool:
        """Whether the tokens were taken."""
        ...

    @property
    def retry_after(self) -> float:
        """Seconds until the bucket is expected to hold the tokens asked for."""
        ...


class TokenBucket(Protocol):
    """A token bucket per key (in this process or shared through Redis); the gateway's
    rate limiters are such buckets."""

    async def take(self, key: str, cost: int, /) -> TokenDecision:
        """Take ``cost`` tokens of ``key``'s bucket if it holds them."""
        ...

    async def aclose(self) -> None:
        """Release the bucket's connections."""
        ...


class Quota:
    """A system's request quota: one token of ``limiter`` (a token bucket, shared by the
    replicas when it lives in Redis) per upstream call, under ``key``.

    ``acquire()`` takes a token, waiting for one at most ``max_wait`` seconds (the system's
    timeout): it returns None once a token is taken, or, when the wait would run past
    ``max_wait``, the seconds until one is expected, without waiting that long.
    """

    def __init__(
        self,
        limiter: TokenBucket,
        key: str,
        *,
        max_wait: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.limiter = limiter
        self.key = key
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.waited = 0
        self.refused = 0

    async def acquire(self) -> float | None:
        """Take one token (None), or give up at once with the expected wait (seconds)."""
        deadline = self._clock() + self.max_wait
        waited = False
        while True:
            decision = await self.limiter.take(self.key, 1)
            if decision.allowed:
                return None
            # a little jitter, so that the callers woken together do not all ask at once
            wait = decision.retry_after * (1.0 + 0.25 * self._rng())
            if self._clock() + wait > deadline:
                self.refused += 1
                return max(decision.retry_after, 0.001)
            if not waited:
                self.waited += 1
                waited = True
            await self._sleep(wait)

    async def aclose(self) -> None:
        """Release the limiter's connections (Redis)."""
        await self.limiter.aclose()
