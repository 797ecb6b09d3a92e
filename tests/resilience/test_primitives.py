"""The resilience primitives on a fake clock: breaker (R5), bulkhead (R6), retry budget
and back-off (R3), latency window (O1)."""

from __future__ import annotations

import asyncio
import time

import pytest

from sources.resilience.guards import (
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    LatencyWindow,
    RetryBudget,
    backoff_delay,
)
from tests.resilience.fakes import FakeClock


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        assert breaker.allow()
        breaker.record_failure()


# -- CircuitBreaker -----------------------------------------------------------------------


def test_breaker_opens_only_after_five_consecutive_failures() -> None:
    breaker = CircuitBreaker("erp", clock=FakeClock())
    fail(breaker, 4)
    breaker.record_success()
    fail(breaker, 4)
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert breaker.opened_count == 1
    assert not breaker.allow()


def test_breaker_open_period_doubles_with_each_reopening_and_resets_on_close() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("erp", clock=clock)
    fail(breaker, 5)
    assert breaker.retry_after() == pytest.approx(5.0)
    clock.advance(4.9)
    assert breaker.state == "open" and not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == "half_open"
    assert breaker.retry_after() == 0.0
    assert breaker.allow()  # the one probe
    assert not breaker.allow()  # everyone else is refused while it runs
    assert not breaker.allow()
    breaker.record_failure()  # the probe failed: open for 5 s × 2
    assert breaker.state == "open"
    assert breaker.opened_count == 2
    assert breaker.retry_after() == pytest.approx(10.0)
    clock.advance(9.9)
    assert not breaker.allow()
    clock.advance(0.1)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.opened_count == 3
    assert breaker.retry_after() == pytest.approx(20.0)
    clock.advance(20)
    assert breaker.allow()
    breaker.record_success()  # the probe succeeded: closed, n reset
    assert breaker.state == "closed"
    assert breaker.opened_count == 0
    assert breaker.retry_after() == 0.0
    assert breaker.allow() and breaker.allow()
    fail(breaker, 5)
    assert breaker.retry_after() == pytest.approx(5.0)  # n starts again at 1


def test_a_released_probe_lets_the_next_caller_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("erp", clock=clock)
    fail(breaker, 5)
    clock.advance(5)
    assert breaker.allow()
    assert not breaker.allow()
    breaker.release_probe()
    assert breaker.allow()
    assert not breaker.allow()


def test_late_verdicts_of_calls_started_before_opening_are_ignored() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("erp", clock=clock)
    fail(breaker, 5)
    breaker.record_success()  # a straggler answered: still open
    assert breaker.state == "open"
    breaker.record_failure()  # another straggler failed: the period is not extended
    assert breaker.opened_count == 1
    assert breaker.retry_after() == pytest.approx(5.0)


def test_breaker_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("erp", failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker("erp", base_open_seconds=0)
    with pytest.raises(ValueError):
        CircuitBreaker("erp", base_open_seconds=5, max_open_seconds=4)


# -- Bulkhead -----------------------------------------------------------------------------


async def test_bulkhead_queues_up_to_max_waiting_then_fails_fast() -> None:
    bulkhead = Bulkhead(limit=2, max_waiting=1, wait_seconds=5)
    release = asyncio.Event()
    order: list[str] = []

    async def hold(name: str) -> None:
        async with bulkhead.slot():
            order.append(name)
            await release.wait()

    holders = [asyncio.create_task(hold(n)) for n in ("a", "b")]
    while len(order) < 2:
        await asyncio.sleep(0)
    queued = asyncio.create_task(hold("queued"))
    while bulkhead.waiting < 1:
        await asyncio.sleep(0)
    started = time.perf_counter()
    with pytest.raises(BulkheadFull):  # 2 in flight, 1 waiting: the 4th fails at once
        async with bulkhead.slot():
            pytest.fail("a fourth call got through")
    assert time.perf_counter() - started < 1.0  # no wait (the open period / a slot is seconds)
    release.set()
    await asyncio.gather(*holders, queued)
    assert order == ["a", "b", "queued"]
    assert bulkhead.in_flight == 0 and bulkhead.waiting == 0


async def test_a_queued_call_gives_up_after_its_wait_and_cancelled_waits_leave() -> None:
    bulkhead = Bulkhead(limit=1, max_waiting=2, wait_seconds=0.05)
    release = asyncio.Event()

    async def hold() -> None:
        async with bulkhead.slot():
            await release.wait()

    holder = asyncio.create_task(hold())
    while bulkhead.in_flight < 1:
        await asyncio.sleep(0)
    with pytest.raises(BulkheadFull):
        async with bulkhead.slot():
            pytest.fail("the slot was never free")
    cancelled = asyncio.create_task(hold())
    while bulkhead.waiting < 1:
        await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert bulkhead.waiting == 0
    release.set()
    await holder
    assert bulkhead.in_flight == 0
    async with bulkhead.slot():  # nothing leaked: the slot is free again
        assert bulkhead.in_flight == 1


async def test_bulkhead_fails_fast_when_full_and_frees_slots_on_exit() -> None:
    bulkhead = Bulkhead(limit=2)
    release = asyncio.Event()
    entered = 0

    async def hold() -> None:
        nonlocal entered
        async with bulkhead.slot():
            entered += 1
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    while entered < 2:
        await asyncio.sleep(0)
    assert bulkhead.in_flight == 2
    with pytest.raises(BulkheadFull):
        async with bulkhead.slot():
            pytest.fail("a third slot was granted")
    release.set()
    await asyncio.gather(*holders)
    assert bulkhead.in_flight == 0
    with pytest.raises(RuntimeError):
        async with bulkhead.slot():
            raise RuntimeError("boom")
    assert bulkhead.in_flight == 0


async def test_a_cancelled_holder_gives_its_slot_back() -> None:
    bulkhead = Bulkhead(limit=1)

    async def hold() -> None:
        async with bulkhead.slot():
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    while bulkhead.in_flight < 1:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bulkhead.in_flight == 0


# -- RetryBudget --------------------------------------------------------------------------


def test_budget_allows_ratio_of_requests_plus_the_floor() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, min_per_second=10.0, window=10.0, clock=clock)
    for _ in range(1000):
        budget.record_request()
    granted = sum(budget.try_spend() for _ in range(1000))
    assert granted == 0.2 * 1000 + 10 * 10
    assert budget.retries_in_window == 300
    assert not budget.try_spend()


def test_budget_window_slides() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, min_per_second=1.0, window=10.0, clock=clock)
    assert sum(budget.try_spend() for _ in range(20)) == 10
    clock.advance(5)
    assert not budget.try_spend()
    clock.advance(5.2)  # the first retries are now older than the window
    assert budget.retries_in_window == 0
    assert sum(budget.try_spend() for _ in range(20)) == 10


def test_requests_leave_the_window_too() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, window=10.0, clock=clock)
    for _ in range(10):
        budget.record_request()
    assert budget.requests_in_window == 10
    clock.advance(10.2)
    assert budget.requests_in_window == 0
    assert not budget.try_spend()


# -- backoff_delay ------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling() -> None:
    assert backoff_delay(1, rng=lambda: 0.0) == 0.0
    assert backoff_delay(1, rng=lambda: 0.5) == pytest.approx(0.025)
    assert backoff_delay(1, rng=lambda: 0.999999) < 0.05
    assert backoff_delay(2, rng=lambda: 0.5) == pytest.approx(0.05)
    assert backoff_delay(10, rng=lambda: 0.999999) < 0.5
    assert backoff_delay(10_000, rng=lambda: 0.5) == pytest.approx(0.25)
    assert all(0.0 <= backoff_delay(1) < 0.05 for _ in range(1000))
    with pytest.raises(ValueError):
        backoff_delay(0)


# -- LatencyWindow ------------------------------------------------------------------------


def test_latency_window_p95_over_the_last_samples() -> None:
    window = LatencyWindow(size=100)
    assert window.p95() is None
    for ms in range(1, 101):
        window.add(ms / 1000)
    assert window.p95() == pytest.approx(0.095)
    for _ in range(100):
        window.add(1.0)  # the old samples fall out
    assert len(window) == 100
    assert window.p95() == 1.0
    one = LatencyWindow()
    one.add(0.2)
    assert one.p95() == 0.2
