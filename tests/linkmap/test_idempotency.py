"""IdempotencyStore on SQLite and PostgreSQL: claims, outcomes, replays, expiry, the
unknown-outcome take-over, leases and the take-over of abandoned attempts, and races
between tasks and between engines (replicas)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from linkmap.db import create_engine
from linkmap.errors import IdempotencyRecordMissing, IdempotencyStateError, InvalidInput
from linkmap.idempotency import (
    DEFAULT_LEASE,
    IdempotencyLeaseLost,
    IdempotencyRecord,
    IdempotencyStore,
)
from tests.linkmap.conftest import FakeClock

OUTCOME: dict[str, Any] = {"kind": "saved", "line": {"key": "L-1", "quantity": "3"}}


@pytest.fixture
async def engine(linkmap_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(linkmap_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def other_engine(linkmap_url: str) -> AsyncIterator[AsyncEngine]:
    """A second engine on the same database: another replica."""
    eng = create_engine(linkmap_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def idem(engine: AsyncEngine, clock: FakeClock) -> IdempotencyStore:
    return IdempotencyStore(engine, clock=clock)


async def test_claim_complete_replay(idem: IdempotencyStore, clock: FakeClock) -> None:
    claimed, record = await idem.claim("alice", "k1", "fp-1", context={"order": "SO-1"})
    assert claimed
    assert (record.scope, record.key, record.fingerprint) == ("alice", "k1", "fp-1")
    assert (record.state, record.outcome, record.context) == (
        "in_progress",
        None,
        {"order": "SO-1"},
    )
    assert record.created_at == record.updated_at == clock.now
    assert record.expires_at == clock.now + timedelta(hours=24)
    assert await idem.get("alice", "k1") == record

    again, seen = await idem.claim("alice", "k1", "fp-1")
    assert not again and seen == record  # a duplicate sees the attempt in progress

    clock.advance(timedelta(seconds=2))
    done = await idem.complete("alice", "k1", OUTCOME)
    assert (done.state, done.outcome, done.context) == ("done", OUTCOME, {"order": "SO-1"})
    assert done.updated_at == clock.now and done.created_at == record.created_at
    assert done.expires_at == clock.now + timedelta(hours=24)

    replay, stored = await idem.claim("alice", "k1", "fp-1")
    assert not replay and stored == done
    assert await idem.get("alice", "k1") == done


async def test_same_key_different_request_sees_the_first_fingerprint(
    idem: IdempotencyStore,
) -> None:
    await idem.claim("alice", "k1", "fp-1")
    claimed, existing = await idem.claim("alice", "k1", "fp-OTHER")
    assert not claimed and existing.fingerprint == "fp-1"


async def test_scopes_are_independent(idem: IdempotencyStore) -> None:
    assert (await idem.claim("alice", "k1", "fp"))[0]
    assert (await idem.claim("bob", "k1", "fp"))[0]


async def test_done_records_are_final(idem: IdempotencyStore) -> None:
    await idem.claim("a", "k", "fp")
    done = await idem.complete("a", "k", OUTCOME)
    with pytest.raises(IdempotencyStateError) as info:
        await idem.complete("a", "k", {"kind": "other"})
    assert info.value.state == "done"
    with pytest.raises(IdempotencyStateError):
        await idem.mark_unknown("a", "k")
    with pytest.raises(IdempotencyStateError):
        await idem.release("a", "k")
    assert not await idem.take_over("a", "k")
    assert await idem.get("a", "k") == done


async def test_transitions_of_a_missing_record_raise(idem: IdempotencyStore) -> None:
    with pytest.raises(IdempotencyRecordMissing):
        await idem.complete("a", "nope", OUTCOME)
    with pytest.raises(IdempotencyRecordMissing):
        await idem.mark_unknown("a", "nope")
    assert not await idem.take_over("a", "nope")
    await idem.release("a", "nope")  # no-op
    assert await idem.get("a", "nope") is None


async def _claim_all(stores: list[IdempotencyStore], key: str) -> list[IdempotencyRecord]:
    results = await asyncio.gather(*(s.claim("alice", key, "fp") for s in stores))
    winners = [record for claimed, record in results if claimed]
    assert len(winners) == 1, results
    assert all(record.fingerprint == "fp" for _, record in results)
    assert all(record.created_at == winners[0].created_at for _, record in results)
    return winners


async def test_twenty_concurrent_claims_one_wins(idem: IdempotencyStore) -> None:
    await _claim_all([idem] * 20, "race")


async def test_concurrent_claims_from_two_engines_one_wins(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FakeClock
) -> None:
    a = IdempotencyStore(engine, clock=clock)
    b = IdempotencyStore(other_engine, clock=clock)
    for round_ in range(3):
        await _claim_all([a, b] * 5, f"race-{round_}")


async def test_expired_records_are_absent_and_replaced(
    idem: IdempotencyStore, clock: FakeClock
) -> None:
    _, first = await idem.claim("a", "k", "fp-1")
    await idem.complete("a", "k", OUTCOME)
    clock.advance(timedelta(hours=24) - timedelta(microseconds=1))
    assert (await idem.get("a", "k")) is not None  # lives at least 24 h
    clock.advance(timedelta(microseconds=1))
    assert await idem.get("a", "k") is None
    with pytest.raises(IdempotencyRecordMissing):
        await idem.complete("a", "k", OUTCOME)

    claimed, fresh = await idem.claim("a", "k", "fp-2")
    assert claimed
    assert (fresh.fingerprint, fresh.state, fresh.outcome) == ("fp-2", "in_progress", None)
    assert fresh.created_at == clock.now > first.created_at


async def test_concurrent_claims_of_an_expired_record_one_wins(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FakeClock
) -> None:
    a = IdempotencyStore(engine, clock=clock)
    b = IdempotencyStore(other_engine, clock=clock)
    await a.claim("alice", "old", "fp-old")
    clock.advance(timedelta(days=2))
    await _claim_all([a, b] * 5, "old")


async def test_every_state_change_extends_the_life(
    idem: IdempotencyStore, clock: FakeClock
) -> None:
    await idem.claim("a", "k", "fp")
    clock.advance(timedelta(hours=20))
    unknown = await idem.mark_unknown("a", "k")
    assert unknown.expires_at == clock.now + timedelta(hours=24)
    clock.advance(timedelta(hours=20))
    assert await idem.take_over("a", "k")
    taken = await idem.get("a", "k")
    assert taken is not None and taken.expires_at == clock.now + timedelta(hours=24)


async def test_ttl_below_24_hours_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(InvalidInput):
        IdempotencyStore(engine, ttl=timedelta(hours=1))
    assert IdempotencyStore(engine, ttl=timedelta(hours=48)).ttl == timedelta(hours=48)


async def test_purge_expired(idem: IdempotencyStore, clock: FakeClock) -> None:
    await idem.claim("a", "old-1", "fp")
    await idem.claim("a", "old-2", "fp")
    await idem.complete("a", "old-2", OUTCOME)
    clock.advance(timedelta(hours=12))
    await idem.claim("a", "young", "fp")
    clock.advance(timedelta(hours=12))
    assert await idem.purge_expired() == 2
    assert await idem.purge_expired() == 0
    assert await idem.get("a", "young") is not None


async def test_mark_unknown_then_exactly_one_takes_over(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FakeClock
) -> None:
    a = IdempotencyStore(engine, clock=clock)
    b = IdempotencyStore(other_engine, clock=clock)
    await a.claim("alice", "k", "fp", context={"line": "L-1"})
    unknown = await a.mark_unknown("alice", "k")
    assert unknown.state == "unknown" and unknown.context == {"line": "L-1"}  # None keeps it
    unknown = await a.mark_unknown("alice", "k", {"line": "L-1", "before": ["L-0"]})
    assert unknown.context == {"line": "L-1", "before": ["L-0"]}

    claimed, seen = await b.claim("alice", "k", "fp")
    assert not claimed and seen.state == "unknown"

    wins = await asyncio.gather(*(s.take_over("alice", "k") for s in [a, b] * 10))
    assert sum(wins) == 1
    record = await a.get("alice", "k")
    assert record is not None and record.state == "in_progress"
    assert not await b.take_over("alice", "k")  # only an unknown record can be taken over
    done = await b.complete("alice", "k", OUTCOME)
    assert done.state == "done" and done.context == {"line": "L-1", "before": ["L-0"]}


async def test_complete_resolves_an_unknown_record(idem: IdempotencyStore) -> None:
    await idem.claim("a", "k", "fp")
    await idem.mark_unknown("a", "k")
    assert (await idem.complete("a", "k", OUTCOME)).state == "done"


async def test_release_frees_the_key(idem: IdempotencyStore) -> None:
    await idem.claim("a", "k", "fp-1")
    await idem.release("a", "k")
    assert await idem.get("a", "k") is None
    claimed, record = await idem.claim("a", "k", "fp-2")
    assert claimed and record.fingerprint == "fp-2"
    await idem.mark_unknown("a", "k")
    await idem.release("a", "k")  # an unknown attempt found not to have happened
    assert await idem.get("a", "k") is None


async def test_wait_for_outcome_returns_when_completed(idem: IdempotencyStore) -> None:
    await idem.claim("a", "k", "fp")

    async def finish() -> None:
        await asyncio.sleep(0.15)
        await idem.complete("a", "k", OUTCOME)

    finisher = asyncio.create_task(finish())
    started = time.monotonic()
    record = await idem.wait_for_outcome("a", "k", timeout=10, poll=0.02)
    await finisher
    assert record is not None and record.state == "done" and record.outcome == OUTCOME
    assert time.monotonic() - started < 5


async def test_wait_for_outcome_returns_unknown_at_once(idem: IdempotencyStore) -> None:
    await idem.claim("a", "k", "fp")
    await idem.mark_unknown("a", "k")
    record = await idem.wait_for_outcome("a", "k", timeout=10)
    assert record is not None and record.state == "unknown"


async def test_wait_for_outcome_times_out_with_the_record_in_progress(
    idem: IdempotencyStore,
) -> None:
    await idem.claim("a", "k", "fp")
    started = time.monotonic()
    record = await idem.wait_for_outcome("a", "k", timeout=0.2, poll=0.05)
    elapsed = time.monotonic() - started
    assert record is not None and record.state == "in_progress"
    assert 0.2 <= elapsed < 2


async def test_wait_for_outcome_none_when_released(idem: IdempotencyStore) -> None:
    await idem.claim("a", "k", "fp")

    async def give_up() -> None:
        await asyncio.sleep(0.1)
        await idem.release("a", "k")

    releaser = asyncio.create_task(give_up())
    assert await idem.wait_for_outcome("a", "k", timeout=10, poll=0.02) is None
    await releaser
    assert await idem.wait_for_outcome("a", "never", timeout=1) is None


async def test_json_round_trip(
    idem: IdempotencyStore, other_engine: AsyncEngine, clock: FakeClock
) -> None:
    outcome = {
        "kind": "saved",
        "message": 'Grüße, ÆØÅ, 北京, emoji 🚀, quote " backslash \\ newline \n nul \x00',
        "line": {
            "price": Decimal("1234567890.123456789"),
            "discount": Decimal("-0.50"),
            "quantity": "3",
            "nested": {"deep": [1, [2, [3, {"x": None}]], True, False, 1.5, 2**62]},
            "tuple": ("a", "b"),
        },
        "empty": {},
        "list": [],
    }
    expected = {
        **outcome,
        "line": {
            "price": "1234567890.123456789",
            "discount": "-0.50",
            "quantity": "3",
            "nested": {"deep": [1, [2, [3, {"x": None}]], True, False, 1.5, 2**62]},
            "tuple": ["a", "b"],
        },
    }
    context = {"before": {"ключ": "значение"}, "ids": ["L-1", "L-2"]}
    _, claimed = await idem.claim("a", "k", "fp", context=context)
    assert claimed.context == context
    done = await idem.complete("a", "k", outcome)
    assert done.outcome == expected
    # Read back by another store on its own engine: what the database really holds.
    stored = await IdempotencyStore(other_engine, clock=clock).get("a", "k")
    assert stored is not None
    assert stored.outcome == expected and stored.context == context
    assert list(stored.outcome) == list(expected)  # key order kept


@pytest.mark.parametrize(
    "bad",
    [
        {"x": float("nan")},
        {"x": float("inf")},
        {"x": {1, 2}},
        {"x": b"bytes"},
        {1: "int key"},
        {"x": {"y": object()}},
    ],
)
async def test_non_json_values_are_refused(idem: IdempotencyStore, bad: Any) -> None:
    await idem.claim("a", "k", "fp")
    with pytest.raises(InvalidInput):
        await idem.complete("a", "k", bad)
    with pytest.raises(InvalidInput):
        await idem.claim("a", "k2", "fp", context=bad)
    record = await idem.get("a", "k")
    assert record is not None and record.state == "in_progress"
    assert await idem.get("a", "k2") is None


async def test_arguments_are_validated(idem: IdempotencyStore) -> None:
    for scope, key, fp in [
        ("", "k", "fp"),
        ("a", "", "fp"),
        ("a", "k", ""),
        ("a" * 256, "k", "fp"),
        ("a", "k" * 256, "fp"),
        ("a", "k", "f" * 129),
    ]:
        with pytest.raises(InvalidInput):
            await idem.claim(scope, key, fp)
    claimed, _ = await idem.claim("a" * 255, "k" * 255, "f" * 128)
    assert claimed


# ------------------------------------------------------------------ leases (issue 16)


async def test_a_claim_carries_its_owner_and_a_lease(
    idem: IdempotencyStore, clock: FakeClock
) -> None:
    assert idem.lease == DEFAULT_LEASE == timedelta(seconds=60)
    _, record = await idem.claim("a", "k", "fp", owner="attempt-1")
    assert (record.owner, record.lease_until) == ("attempt-1", clock.now + DEFAULT_LEASE)
    _, other = await idem.claim("a", "k2", "fp")
    assert other.owner and other.owner != "attempt-1"  # a fresh id when none is given
    assert not record.abandoned(clock.now)
    assert record.abandoned(clock.now + DEFAULT_LEASE)


async def test_an_abandoned_attempt_is_taken_over_once_after_its_lease(
    engine: AsyncEngine, other_engine: AsyncEngine, clock: FakeClock
) -> None:
    a = IdempotencyStore(engine, clock=clock, lease=timedelta(seconds=5))
    b = IdempotencyStore(other_engine, clock=clock, lease=timedelta(seconds=5))
    await a.claim("alice", "k", "fp", owner="dead", context={"phase": "sending"})
    clock.advance(timedelta(seconds=5) - timedelta(microseconds=1))
    assert not await b.take_over_abandoned("alice", "k", owner="retry")  # lease running
    assert not await b.take_over("alice", "k", owner="retry")  # not unknown either
    clock.advance(timedelta(microseconds=1))
    wins = await asyncio.gather(
        *(s.take_over_abandoned("alice", "k", owner=f"retry-{i}") for i, s in enumerate([a, b] * 5))
    )
    assert sum(wins) == 1
    record = await a.get("alice", "k")
    assert record is not None and record.state == "in_progress"
    assert record.owner == f"retry-{wins.index(True)}"
    assert record.lease_until == clock.now + timedelta(seconds=5)
    assert record.context == {"phase": "sending"}  # what the dead attempt stored
    # the dead attempt, were it to wake up, can no longer change the record ...
    for fenced in (
        a.renew("alice", "k", "dead"),
        a.mark_unknown("alice", "k", owner="dead"),
        a.release("alice", "k", owner="dead"),
    ):
        with pytest.raises(IdempotencyLeaseLost) as info:
            await fenced
        assert isinstance(info.value, IdempotencyStateError)
    # ... but an outcome is a fact: the first one stored stands, whoever learnt it
    done = await b.complete("alice", "k", OUTCOME)
    assert done.state == "done"
    assert not await a.take_over_abandoned("alice", "k", owner="late")


async def test_renew_extends_the_lease_and_stores_the_context(
    idem: IdempotencyStore, clock: FakeClock
) -> None:
    await idem.claim("a", "k", "fp", owner="me", context={"phase": "claimed"})
    clock.advance(timedelta(seconds=50))
    renewed = await idem.renew("a", "k", "me", context={"phase": "sending", "before": [1]})
    assert renewed.lease_until == clock.now + idem.lease
    assert renewed.context == {"phase": "sending", "before": [1]}
    clock.advance(timedelta(seconds=59))
    assert not await idem.take_over_abandoned("a", "k", owner="other")
    with pytest.raises(IdempotencyLeaseLost):
        await idem.renew("a", "k", "someone-else")
    await idem.mark_unknown("a", "k", owner="me")
    with pytest.raises(IdempotencyLeaseLost):
        await idem.renew("a", "k", "me")  # no longer in progress: must not send
    with pytest.raises(IdempotencyRecordMissing):
        await idem.renew("a", "nope", "me")


async def test_an_unknown_record_taken_over_gets_a_lease(
    idem: IdempotencyStore, clock: FakeClock
) -> None:
    await idem.claim("a", "k", "fp", owner="first")
    await idem.mark_unknown("a", "k", owner="first")
    assert await idem.take_over("a", "k", owner="second")
    record = await idem.get("a", "k")
    assert record is not None and (record.owner, record.lease_until) == (
        "second",
        clock.now + idem.lease,
    )
    clock.advance(idem.lease)
    assert await idem.take_over_abandoned("a", "k", owner="third")  # second died too


async def test_a_record_without_a_lease_is_never_abandoned(
    idem: IdempotencyStore, engine: AsyncEngine, clock: FakeClock
) -> None:
    await idem.claim("a", "k", "fp")
    async with engine.begin() as conn:  # as claimed before leases existed (revision 0005)
        await conn.execute(text("UPDATE idempotency_records SET owner = NULL, lease_until = NULL"))
    clock.advance(timedelta(hours=23))
    assert not await idem.take_over_abandoned("a", "k", owner="other")
    record = await idem.wait_for_outcome("a", "k", timeout=0)
    assert record is not None and record.state == "in_progress"
    assert not record.abandoned(clock.now)


async def test_wait_for_outcome_returns_when_the_lease_runs_out(
    idem: IdempotencyStore, clock: FakeClock
) -> None:
    await idem.claim("a", "k", "fp", owner="dead")

    async def time_passes() -> None:
        await asyncio.sleep(0.15)
        clock.advance(idem.lease)

    ticker = asyncio.create_task(time_passes())
    started = time.monotonic()
    record = await idem.wait_for_outcome("a", "k", timeout=10, poll=0.02)
    await ticker
    assert record is not None and record.state == "in_progress" and record.abandoned(clock.now)
    assert time.monotonic() - started < 5


async def test_lease_must_be_positive_and_shorter_than_the_ttl(engine: AsyncEngine) -> None:
    for bad in (timedelta(0), timedelta(seconds=-1), timedelta(hours=24)):
        with pytest.raises(InvalidInput):
            IdempotencyStore(engine, lease=bad)
    assert IdempotencyStore(engine, lease=timedelta(seconds=2)).lease == timedelta(seconds=2)
