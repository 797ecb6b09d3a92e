"""R4 rests on what a source declares: an operation the source declares a write
(``write_operations``, ``sources.base.DeclaresWrites``) is never retried, whatever it is
called; every undeclared method is a read (retried once on 502/503/504, R3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from sources.base import ORDER_LINE_WRITES, DeclaresWrites, declared_writes
from sources.errors import SourceUnavailable
from sources.http import get_json, make_client
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource
from sources.rest import RestSource
from sources.tryton import TrytonSource
from tests.resilience.fakes import FakeSleep


class Upstream:
    """An httpx MockTransport handler answering 503 every time, counting requests."""

    def __init__(self, status: int = 503) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={"error": "unavailable"})


class BookingSource:
    """A source whose write is named like a read, and sent as a GET (so the HTTP layer
    marks its 503 retryable, as it would for any read)."""

    kinds = frozenset({"erp"})
    write_operations = frozenset({"fetch_and_book"})

    def __init__(self, upstream: Upstream) -> None:
        self.name = "erp"
        self.client = make_client(
            "http://erp.test", timeout=3.0, transport=httpx.MockTransport(upstream)
        )

    async def fetch_and_book(self, slot: str) -> Any:
        """Reserve ``slot`` (a write, whatever the name says)."""
        return await get_json(self.client, self.name, "/book", {"slot": slot})

    async def fetch_slots(self, keys: Sequence[str]) -> Any:
        """A read."""
        return await get_json(self.client, self.name, "/slots", {"keys": ",".join(keys)})

    async def add_order_line(self, order_key: str) -> Any:
        """Undeclared, so a read for resilience, whatever its name says."""
        return await get_json(self.client, self.name, "/lines", {"order": order_key})

    async def aclose(self) -> None:
        await self.client.aclose()


def guarded(inner: Any) -> ResilientSource:
    return ResilientSource(
        inner,
        breaker=CircuitBreaker(inner.name, failure_threshold=1_000),
        bulkhead=Bulkhead(10),
        budget=RetryBudget(),
        sleep=FakeSleep(),
    )


async def test_a_declared_write_named_like_a_read_is_called_once_on_a_503() -> None:
    upstream = Upstream(503)
    inner = BookingSource(upstream)
    source = guarded(inner)
    with pytest.raises(SourceUnavailable) as caught:
        await source.fetch_and_book("slot-7")
    assert caught.value.retryable  # the HTTP layer would allow a retry of a read...
    assert len(upstream.requests) == 1  # ...but the source declared a write: one call
    assert source.health()["retries"] == 0
    await source.aclose()


async def test_a_read_of_the_same_source_is_retried_once() -> None:
    upstream = Upstream(503)
    source = guarded(BookingSource(upstream))
    with pytest.raises(SourceUnavailable):
        await source.fetch_slots(["a"])
    assert len(upstream.requests) == 2
    await source.aclose()


async def test_an_undeclared_method_is_a_read_whatever_its_name() -> None:
    upstream = Upstream(503)
    source = guarded(BookingSource(upstream))
    assert source.write_methods == frozenset({"fetch_and_book"})
    with pytest.raises(SourceUnavailable):
        await source.add_order_line("SO-1")
    assert len(upstream.requests) == 2
    await source.aclose()


def test_the_adapters_declare_their_order_line_writes() -> None:
    for adapter in (RestSource, TrytonSource):
        assert adapter.write_operations == ORDER_LINE_WRITES
        for name in adapter.write_operations:
            assert callable(getattr(adapter, name)), (adapter, name)
    assert isinstance(BookingSource(Upstream()), DeclaresWrites)


def test_declared_writes() -> None:
    class Silent:
        pass

    class Wrong:
        write_operations = "add_order_line"

    assert declared_writes(Silent()) == frozenset()
    assert declared_writes(BookingSource(Upstream())) == frozenset({"fetch_and_book"})
    with pytest.raises(TypeError):
        declared_writes(Wrong())
