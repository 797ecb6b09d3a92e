"""R5's open period on a fake clock (issue 15): 5 s at first, doubled each time the breaker
re-opens without a success in between, never more than 60 s, back to 5 s after a success.
A sales rep sees a returning ERP again within seconds, not after 30 s × n."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.app import start_runtime
from gateway.errors import ConfigError
from gateway.settings import ResilienceSettings, Settings, load_settings
from sources.errors import SourceUnavailable
from sources.resilience.guards import CircuitBreaker
from sources.resilience.source import ResilientSource
from tests.resilience.fakes import FakeClock, ScriptedSource, wrap

SPEC = str(Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml")
EPSILON = 1 / 1024
"""Just under an open period's end; a power of two, so the fake clock's sums stay exact."""


def down() -> SourceUnavailable:
    return SourceUnavailable("erp", "connection refused")


def tripped(breaker: CircuitBreaker) -> CircuitBreaker:
    """``breaker`` opened by 5 consecutive failures (the default threshold)."""
    for _ in range(5):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "open"
    return breaker


def open_periods(clock: FakeClock, breaker: CircuitBreaker, reopenings: int) -> list[float]:
    """Let each open period pass and fail its probe, ``reopenings`` times; return how long
    each period was, checking that no probe is let through before its end."""
    periods = []
    for _ in range(reopenings):
        period = breaker.retry_after()
        clock.advance(period - EPSILON)
        assert not breaker.allow(), "a probe before the open period ended"
        clock.advance(EPSILON)
        assert breaker.allow(), "no probe once the open period ended"
        breaker.record_failure()
        periods.append(period)
    periods.append(breaker.retry_after())
    return periods


async def test_sixth_call_makes_no_request_and_five_seconds_later_exactly_one_probe() -> None:
    clock = FakeClock()
    gate = asyncio.Event()
    inner = ScriptedSource(script=[down()] * 5 + [gate, {"10023": "ok"}])
    erp = wrap(inner, clock=clock)  # the default breaker
    for _ in range(5):
        with pytest.raises(SourceUnavailable):
            await erp.customers(["10023"])
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["10023"])
    assert len(inner.calls) == 5  # the 6th call made no upstream request

    clock.advance(5.0 - EPSILON)
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["10023"])
    assert len(inner.calls) == 5

    clock.advance(EPSILON)
    probe = asyncio.create_task(erp.customers(["10023"]))
    try:
        for _ in range(100):
            if len(inner.calls) == 6:
                break
            await asyncio.sleep(0)
        else:
            pytest.fail("no probe went upstream once the 5 s had passed")
        for _ in range(3):  # while the probe runs, everyone else is refused
            with pytest.raises(SourceUnavailable, match="circuit open"):
                await erp.customers(["10023"])
        assert len(inner.calls) == 6  # exactly one probe went upstream
    finally:
        gate.set()
        outcome = await asyncio.gather(probe, return_exceptions=True)
    assert outcome[0] == {}  # the probe's answer
    assert erp.breaker.state == "closed"
    assert await erp.customers(["10023"]) == {"10023": "ok"}
    assert len(inner.calls) == 7


def test_failing_probes_double_the_open_time_up_to_sixty_seconds() -> None:
    clock = FakeClock()
    breaker = tripped(CircuitBreaker("erp", clock=clock))
    assert open_periods(clock, breaker, 7) == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0, 60.0]
    assert breaker.opened_count == 8


def test_a_breaker_reopening_for_days_is_never_open_past_sixty_seconds() -> None:
    clock = FakeClock()
    breaker = tripped(CircuitBreaker("erp", clock=clock))
    periods = open_periods(clock, breaker, 3000)  # more than two days at 60 s each
    assert max(periods) == 60.0
    assert periods[-1] == 60.0
    assert breaker.opened_count == 3001


def test_a_successful_probe_closes_it_and_the_next_opening_lasts_five_seconds() -> None:
    clock = FakeClock()
    breaker = tripped(CircuitBreaker("erp", clock=clock))
    assert open_periods(clock, breaker, 3) == [5.0, 10.0, 20.0, 40.0]
    clock.advance(40.0)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.opened_count == 0
    assert tripped(breaker).retry_after() == 5.0
    clock.advance(5.0)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.retry_after() == 10.0  # doubling starts again from 5 s


def test_first_period_and_cap_are_configurable() -> None:
    clock = FakeClock()
    breaker = tripped(
        CircuitBreaker("erp", base_open_seconds=2.0, max_open_seconds=15.0, clock=clock)
    )
    assert open_periods(clock, breaker, 4) == [2.0, 4.0, 8.0, 15.0, 15.0]
    with pytest.raises(ValueError, match="max_open_seconds"):
        CircuitBreaker("erp", base_open_seconds=10.0, max_open_seconds=5.0)


def test_settings_default_to_five_failures_five_seconds_capped_at_sixty() -> None:
    defaults = ResilienceSettings()
    assert (defaults.failure_threshold, defaults.open_seconds, defaults.max_open_seconds) == (
        5,
        5.0,
        60.0,
    )
    tuned = load_settings(overrides={"resilience": {"open_seconds": 1, "max_open_seconds": 8}})
    assert (tuned.resilience.open_seconds, tuned.resilience.max_open_seconds) == (1.0, 8.0)
    with pytest.raises(ConfigError, match="max_open_seconds must be at least open_seconds"):
        load_settings(overrides={"resilience": {"open_seconds": 90}})


async def test_configured_open_times_reach_every_system_breaker(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "linkmap": {"url": f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"},
            "resilience": {"open_seconds": 2, "max_open_seconds": 7},
            "systems": {
                "erp": {"kind": "erp", "adapter": "rest", "url": "http://127.0.0.1:9", "spec": SPEC}
            },
        }
    )
    runtime = await start_runtime(settings)
    try:
        erp = runtime.systems.sources["erp"]
        assert isinstance(erp, ResilientSource)
        assert (erp.breaker.base_open_seconds, erp.breaker.max_open_seconds) == (2, 7)
    finally:
        await runtime.aclose()
