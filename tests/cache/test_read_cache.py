"""The read cache behaves the same in memory and on Redis (the real server on loopback)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiocache import Cache
from aiocache.serializers import PickleSerializer

from resolvers.cache import ReadCache, order_edit_keys
from sources.money import Money
from sources.records import OPEN_ORDER_STATUSES, Customer

REDIS = "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def backend_for(kind: str) -> object:
    if kind == "memory":
        return Cache.from_url("memory://")
    if not redis_reachable():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis on 127.0.0.1:6379 unreachable and CI=true: must not skip")
        pytest.skip("Redis on 127.0.0.1:6379 unreachable")
    backend = Cache.from_url(REDIS)
    backend.serializer = PickleSerializer()
    backend.namespace = f"test-{uuid.uuid4().hex}"
    return backend


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    made = backend_for(request.param)
    yield made
    await made.close()  # type: ignore[attr-defined]


CUSTOMER = Customer("10001", "Bjørnstad Ærø AS", "NOK", Money(Decimal("1000.50"), "NOK"))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def test_round_trip_keeps_records_exact(backend: object) -> None:
    cache = ReadCache(backend, {"erp": 60})  # type: ignore[arg-type]
    await cache.set_many("erp", "customers", (), {"10001": CUSTOMER}, NOW, many=False)
    found = await cache.get_many("erp", "customers", (), ["10001", "10002"])
    assert list(found) == ["10001"]
    assert found["10001"].value == CUSTOMER and found["10001"].read_at == NOW
    assert isinstance(found["10001"].value.credit_limit.amount, Decimal)


async def test_arguments_are_part_of_the_key(backend: object) -> None:
    cache = ReadCache(backend, {"erp": 60})  # type: ignore[arg-type]
    await cache.set_many("erp", "orders", (OPEN_ORDER_STATUSES,), {"10001": ["open"]}, NOW)
    assert await cache.get_many("erp", "orders", (None,), ["10001"]) == {}
    hit = await cache.get_many("erp", "orders", (OPEN_ORDER_STATUSES,), ["10001"])
    assert hit["10001"].value == ["open"]


async def test_ttl_per_system_and_operation_and_negative_entries(backend: object) -> None:
    cache = ReadCache(
        backend,  # type: ignore[arg-type]
        {"erp": 1, "crm": 0},
        operation_ttl={"erp": {"customers": 60}},
        negative_ttl=1,
    )
    await cache.set_many("erp", "customers", (), {"10001": CUSTOMER, "404": None}, NOW, many=False)
    await cache.set_many("erp", "invoices", (), {"10001": []}, NOW)
    await cache.set_many("crm", "accounts", (), {"A-1": "x"}, NOW, many=False)
    assert set(await cache.get_many("erp", "customers", (), ["10001", "404"])) == {"10001", "404"}
    assert await cache.get_many("crm", "accounts", (), ["A-1"]) == {}  # ttl 0: not cached
    await asyncio.sleep(1.3)
    assert set(await cache.get_many("erp", "customers", (), ["10001", "404"])) == {"10001"}
    assert await cache.get_many("erp", "invoices", (), ["10001"]) == {}


async def test_invalidation_reaches_another_process_sharing_the_backend(backend: object) -> None:
    writer = ReadCache(backend, {"erp": 60})  # type: ignore[arg-type]
    reader = ReadCache(backend, {"erp": 60})  # type: ignore[arg-type]
    await writer.set_many("erp", "order_lines", (), {"SO-1": ["line"]}, NOW)
    await writer.set_many("erp", "orders", (OPEN_ORDER_STATUSES,), {"10001": ["o"]}, NOW)
    assert await reader.get_many("erp", "order_lines", (), ["SO-1"])
    await writer.invalidate(order_edit_keys("erp", order_key="SO-1", customer_key="10001"))
    assert await reader.get_many("erp", "order_lines", (), ["SO-1"]) == {}
    assert await reader.get_many("erp", "orders", (OPEN_ORDER_STATUSES,), ["10001"]) == {}


async def test_a_cache_outage_never_fails_a_read() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = Cache.from_url(f"redis://127.0.0.1:{port}/0")
    backend.serializer = PickleSerializer()
    cache = ReadCache(backend, {"erp": 60})
    await cache.set_many("erp", "customers", (), {"10001": CUSTOMER}, NOW, many=False)
    assert await cache.get_many("erp", "customers", (), ["10001"]) == {}
    await backend.close()
