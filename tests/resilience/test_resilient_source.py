"""``ResilientSource`` around scripted fake adapters: R3 (one retry, budget), R4 (writes
never retried), R5 (breaker), R6 (bulkhead), O1 (health figures)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from sources.errors import (
    Conflict,
    NotFound,
    Rejected,
    SourceTimeout,
    SourceUnavailable,
    Unsupported,
)
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import CIRCUIT_OPEN_MESSAGE, OVERLOADED_MESSAGE
from tests.resilience.fakes import FakeClock, FakeSleep, ScriptedSource, wrap


def unavailable(*, retryable: bool = False) -> SourceUnavailable:
    return SourceUnavailable("erp", "500", retryable=retryable)


async def settle(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    pytest.fail("condition never became true")


# -- R5: the circuit breaker --------------------------------------------------------------


async def test_r5_open_breaker_fails_fast_without_calling_upstream() -> None:
    clock = FakeClock()
    inner = ScriptedSource(script=[unavailable()])
    erp = wrap(inner, clock=clock)
    for _ in range(5):
        with pytest.raises(SourceUnavailable):
            await erp.customers(["10023"])
    assert len(inner.calls) == 5
    assert erp.breaker.state == "open"

    started = time.perf_counter()
    with pytest.raises(SourceUnavailable) as caught:
        await erp.customers(["10023"])
    assert time.perf_counter() - started < 1.0  # no wait (the open period / a slot is seconds)
    assert len(inner.calls) == 5  # the 6th call made no upstream call
    assert caught.value.system == "erp"
    assert caught.value.detail == "circuit open"
    assert caught.value.message == CIRCUIT_OPEN_MESSAGE
    assert not caught.value.retryable

    # writes are refused the same way, and nothing was sent
    with pytest.raises(SourceUnavailable) as write:
        await erp.add_order_line("SO-1", object(), idempotency_key="k1")
    assert not write.value.maybe_applied
    assert len(inner.calls) == 5


async def test_r5_one_probe_after_5s_then_10s_then_closed() -> None:
    clock = FakeClock()
    probe_gate = asyncio.Event()
    # 5 failures, a hanging probe that then fails, a probe that succeeds, then answers
    script: list[Any] = [unavailable()] * 5
    inner = ScriptedSource(script=script)
    erp = wrap(inner, clock=clock)
    for _ in range(5):
        with pytest.raises(SourceUnavailable):
            await erp.customers(["10023"])

    clock.advance(4.9)
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["10023"])
    assert len(inner.calls) == 5

    clock.advance(0.1)

    async def hanging_then_failing() -> Any:
        await probe_gate.wait()
        raise unavailable()

    inner.script = [*script, hanging_then_failing, {"10023": "ok"}]
    probe = asyncio.create_task(erp.customers(["10023"]))
    await settle(lambda: len(inner.calls) == 6)
    # while the probe runs, every other call is refused without an upstream call
    for _ in range(3):
        with pytest.raises(SourceUnavailable, match="circuit open"):
            await erp.customers(["10023"])
    assert len(inner.calls) == 6
    probe_gate.set()
    with pytest.raises(SourceUnavailable):
        await probe
    assert erp.breaker.state == "open"
    assert erp.breaker.opened_count == 2
    assert erp.breaker.retry_after() == pytest.approx(10.0)

    clock.advance(9.9)
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["10023"])
    assert len(inner.calls) == 6
    clock.advance(0.1)
    assert await erp.customers(["10023"]) == {"10023": "ok"}  # the probe succeeds
    assert erp.breaker.state == "closed"
    assert erp.breaker.opened_count == 0
    assert await erp.customers(["10023"]) == {"10023": "ok"}
    assert len(inner.calls) == 8


async def test_r5_answers_are_not_failures() -> None:
    clock = FakeClock()
    answers = [
        NotFound("erp", "404"),
        Rejected("erp", "422", code="ORDER_LOCKED"),
        Conflict("erp", "409"),
        Unsupported("erp", "no such operation"),
    ]
    inner = ScriptedSource(script=[*([unavailable()] * 4), *answers, *([unavailable()] * 4)])
    erp = wrap(inner, clock=clock)
    for expected in [SourceUnavailable] * 4 + [type(a) for a in answers] + [SourceUnavailable] * 4:
        with pytest.raises(expected):
            await erp.customers(["10023"])
    assert erp.breaker.state == "closed"
    assert erp.health()["failures"] == 8


async def test_r5_timeouts_count_as_failures() -> None:
    inner = ScriptedSource(script=[SourceTimeout("erp", "ReadTimeout")])
    erp = wrap(inner)
    for _ in range(5):
        with pytest.raises(SourceTimeout):
            await erp.customers(["10023"])
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["10023"])
    assert len(inner.calls) == 5


async def test_r5_a_cancelled_probe_frees_the_probe_slot() -> None:
    clock = FakeClock()
    inner = ScriptedSource(script=[unavailable()])
    erp = wrap(inner, clock=clock)
    for _ in range(5):
        with pytest.raises(SourceUnavailable):
            await erp.customers(["10023"])
    clock.advance(30)
    inner.script = [*[unavailable()] * 5, asyncio.Event(), {"10023": "ok"}]
    probe = asyncio.create_task(erp.customers(["10023"]))
    await settle(lambda: len(inner.calls) == 6)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert erp.bulkhead.in_flight == 0
    assert await erp.customers(["10023"]) == {"10023": "ok"}  # the next caller probes
    assert erp.breaker.state == "closed"


# -- R3: reads retried at most once, within the budget ------------------------------------


async def test_r3_one_retryable_error_means_two_inner_calls() -> None:
    sleep = FakeSleep()
    inner = ScriptedSource(script=[unavailable(retryable=True), {"10023": "ok"}])
    erp = wrap(inner, sleep=sleep)
    assert await erp.customers(["10023"]) == {"10023": "ok"}
    assert len(inner.calls) == 2
    assert inner.calls[0] == inner.calls[1] == ("customers", (["10023"],), {})
    assert sleep.delays == [pytest.approx(0.025)]  # backoff_delay(1) with rng 0.5
    assert erp.health()["retries"] == 1


async def test_r3_never_more_than_one_retry() -> None:
    second = SourceTimeout("erp", "ConnectTimeout", retryable=True)
    inner = ScriptedSource(script=[unavailable(retryable=True), second])
    erp = wrap(inner)
    with pytest.raises(SourceTimeout) as caught:
        await erp.customers(["10023"])
    assert caught.value is second
    assert len(inner.calls) == 2


@pytest.mark.parametrize(
    "error",
    [unavailable(), SourceTimeout("erp", "ReadTimeout"), NotFound("erp", "404")],
    ids=["500", "read-timeout", "404"],
)
async def test_r3_non_retryable_errors_mean_one_inner_call(error: Exception) -> None:
    inner = ScriptedSource(script=[error, {}])
    erp = wrap(inner)
    with pytest.raises(type(error)) as caught:
        await erp.customers(["10023"])
    assert caught.value is error
    assert len(inner.calls) == 1


async def test_r3_no_retry_when_the_budget_is_spent() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, min_per_second=0.0, clock=clock)
    inner = ScriptedSource(script=[unavailable(retryable=True)])
    erp = wrap(inner, clock=clock, budget=budget)
    with pytest.raises(SourceUnavailable):
        await erp.customers(["10023"])
    assert len(inner.calls) == 1
    assert budget.requests_in_window == 1


async def test_r3_no_retry_once_the_failure_opened_the_breaker() -> None:
    clock = FakeClock()
    inner = ScriptedSource(script=[unavailable(retryable=True)])
    erp = wrap(inner, clock=clock, breaker=CircuitBreaker("erp", failure_threshold=1, clock=clock))
    with pytest.raises(SourceUnavailable) as caught:
        await erp.customers(["10023"])
    assert caught.value.detail == "500"  # the upstream's error, not "circuit open"
    assert len(inner.calls) == 1
    assert erp.budget.retries_in_window == 0


@pytest.mark.parametrize("requests", [10, 100, 1000, 5000])
async def test_r3_budget_bounds_upstream_calls_under_total_failure(requests: int) -> None:
    clock = FakeClock()
    window = 10.0
    inner = ScriptedSource(script=[unavailable(retryable=True)])
    erp = wrap(
        inner,
        clock=clock,
        # keep the breaker out of the way: this measures the budget alone
        breaker=CircuitBreaker("erp", failure_threshold=10**9, clock=clock),
        bulkhead=Bulkhead(limit=10**6),
        budget=RetryBudget(ratio=0.2, min_per_second=10.0, window=window, clock=clock),
    )

    async def one() -> None:
        with pytest.raises(SourceUnavailable):
            await erp.customers(["10023"])

    await asyncio.gather(*(one() for _ in range(requests)))  # one instant: the clock stands
    calls = len(inner.calls)
    assert calls <= 1.2 * requests + 10 * window
    assert calls == requests + min(requests, int(0.2 * requests + 10 * window))


async def test_r3_budget_is_shared_across_systems() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, min_per_second=0.1, window=10.0, clock=clock)
    erp_inner = ScriptedSource("erp", script=[unavailable(retryable=True)])
    crm_inner = ScriptedSource("crm", script=[SourceUnavailable("crm", "503", retryable=True)])
    erp = wrap(erp_inner, clock=clock, budget=budget)
    crm = wrap(crm_inner, clock=clock, budget=budget)
    with pytest.raises(SourceUnavailable):
        await erp.customers(["1"])
    with pytest.raises(SourceUnavailable):
        await crm.customers(["1"])
    assert (len(erp_inner.calls), len(crm_inner.calls)) == (2, 1)  # one retry in the budget


# -- R4: writes are never retried ---------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        SourceUnavailable("erp", "503", retryable=True, maybe_applied=True),
        SourceTimeout("erp", "ReadTimeout", retryable=True, maybe_applied=True),
        SourceUnavailable("erp", "ConnectError", retryable=True),
    ],
    ids=["503", "timeout", "refused"],
)
async def test_r4_a_write_is_called_exactly_once(error: Exception) -> None:
    sleep = FakeSleep()
    inner = ScriptedSource(script=[error])
    erp = wrap(inner, sleep=sleep)
    with pytest.raises(type(error)) as caught:
        await erp.add_order_line("SO-1", object(), idempotency_key="k1")
    assert caught.value is error  # maybe_applied reaches the caller unchanged
    with pytest.raises(type(error)):
        await erp.change_order_line("L-1", object(), version="3", idempotency_key="k2")
    assert [c[0] for c in inner.calls] == ["add_order_line", "change_order_line"]
    assert inner.calls[0][2] == {"idempotency_key": "k1"}
    assert sleep.delays == []
    assert erp.budget.requests_in_window == 0  # writes are not counted as requests


async def test_r4_writes_count_towards_the_same_breaker() -> None:
    inner = ScriptedSource(script=[SourceTimeout("erp", "ReadTimeout", maybe_applied=True)])
    erp = wrap(inner)
    for _ in range(3):
        with pytest.raises(SourceTimeout):
            await erp.add_order_line("SO-1", object(), idempotency_key="k")
    for _ in range(2):
        with pytest.raises(SourceTimeout):
            await erp.customers(["1"])
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["1"])
    assert len(inner.calls) == 5


# -- R6: the bulkhead ---------------------------------------------------------------------


async def test_r6_the_101st_call_fails_at_once_and_other_systems_are_unaffected() -> None:
    gate = asyncio.Event()
    erp_inner = ScriptedSource("erp", script=[gate])
    crm_inner = ScriptedSource("crm", script=[{"A-1": "ok"}])
    erp = wrap(erp_inner)
    crm = wrap(crm_inner)
    hanging = [asyncio.create_task(erp.customers([str(i)])) for i in range(100)]
    await settle(lambda: erp.bulkhead.in_flight == 100)

    started = time.perf_counter()
    with pytest.raises(SourceUnavailable) as caught:
        await erp.customers(["101"])
    assert time.perf_counter() - started < 1.0  # no wait (the open period / a slot is seconds)
    assert caught.value.message == OVERLOADED_MESSAGE
    assert not caught.value.retryable
    with pytest.raises(SourceUnavailable, match="overloaded"):
        await erp.add_order_line("SO-1", object(), idempotency_key="k")
    assert len(erp_inner.calls) == 100

    started = time.perf_counter()
    assert await crm.customers(["A-1"]) == {"A-1": "ok"}
    assert time.perf_counter() - started < 1.0  # no wait (the open period / a slot is seconds)
    assert crm.health()["in_flight"] == 0

    gate.set()
    await asyncio.gather(*hanging)
    assert erp.bulkhead.in_flight == 0
    assert erp.breaker.state == "closed"  # refusals are not upstream failures
    assert erp.health()["refused"] == 2


# -- delegation and health ----------------------------------------------------------------


async def test_the_wrapper_looks_like_its_adapter() -> None:
    inner = ScriptedSource("erp-de")
    erp = wrap(inner)
    assert erp.name == "erp-de"
    assert erp.kinds == frozenset({"erp"})
    assert erp.inner is inner
    assert erp.sync_helper() == "not guarded"  # non-async attributes pass through
    assert erp.customers.__name__ == "customers"
    assert erp.customers.__doc__ == inner.customers.__doc__
    with pytest.raises(AttributeError):
        _ = erp.no_such_method
    with pytest.raises(AttributeError):
        _ = erp._step  # private attributes are not delegated
    await erp.aclose()
    assert inner.closed
    assert inner.calls == []  # closing is not a call


async def test_health_reports_state_and_figures() -> None:
    clock = FakeClock()
    latencies = [n / 1000 for n in range(1, 21)]  # 1 ms … 20 ms
    inner = ScriptedSource(
        script=[
            unavailable(retryable=True),  # retried …
            {},  # … and answered
            *([{}] * 14),
            *([unavailable()] * 4),
        ],
        clock=clock,
        latency=latencies,
    )
    erp = wrap(inner, clock=clock)
    assert erp.health() == {
        "state": "closed",
        "opened_count": 0,
        "in_flight": 0,
        "p95_ms": None,
        "calls": 0,
        "failures": 0,
        "retries": 0,
        "refused": 0,
    }
    for _ in range(15):
        await erp.customers(["1"])
    for _ in range(4):
        with pytest.raises(SourceUnavailable):
            await erp.customers(["1"])
    health = erp.health()
    assert health["p95_ms"] == pytest.approx(19.0)  # nearest rank of 20 samples
    assert health == {
        "state": "closed",
        "opened_count": 0,
        "in_flight": 0,
        "p95_ms": health["p95_ms"],
        "calls": 20,
        "failures": 5,
        "retries": 1,
        "refused": 0,
    }
    with pytest.raises(SourceUnavailable):
        await erp.customers(["1"])  # the 5th consecutive failure opens it
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["1"])
    health = erp.health()
    assert (health["state"], health["opened_count"], health["refused"]) == ("open", 1, 1)
    assert health["calls"] == 21
