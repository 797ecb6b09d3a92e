"""Batched reads are declared by the source (``sources.operations``), checked when the
declaration is made, and offered by the resilience wrapper guarded as reads; an operation
cannot be declared both a read and a write (a write is never retried, R4)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pytest

from sources.base import (
    CrmSource,
    ErpSource,
    InvoicesByKey,
    OpportunityReads,
    OrderEditor,
    PurchaseOrderLines,
    TaskReads,
    TimesheetSource,
)
from sources.errors import SourceUnavailable
from sources.http import get_json, make_client
from sources.operations import (
    DeclaresReads,
    ReadDeclarationError,
    ReadOperations,
    ReadTable,
    kind_reads,
    list_per_key,
    one_per_key,
)
from sources.rest import RestSource
from sources.tryton import TrytonSource
from tests.resilience.fakes import wrap

EDITOR_READS = frozenset({"sales_orders", "order_lines_by_key", "products"})
"""The ``OrderEditor`` reads batched by key (its previews and writes are not)."""

OPTIONAL = (InvoicesByKey, PurchaseOrderLines, OpportunityReads, TaskReads)
"""Reads an adapter may declare beyond what its kinds need."""

OPTIONAL_READS = frozenset(
    name for protocol in OPTIONAL for name in protocol.__dict__ if not name.startswith("_")
)

PROTOCOLS = (ErpSource, CrmSource, TimesheetSource, OrderEditor, *OPTIONAL)


class Upstream:
    """An httpx MockTransport handler answering ``status`` every time, counting requests."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json={"error": "unavailable"})


class SlotSource:
    """A source with one declared batched read and one declared write."""

    kinds = frozenset({"erp"})
    write_operations = frozenset({"book"})

    def __init__(self, upstream: Upstream) -> None:
        self.name = "erp"
        self.client = make_client(
            "http://erp.test", timeout=3.0, transport=httpx.MockTransport(upstream)
        )

    async def slots(self, keys: Sequence[str], day: str) -> Mapping[str, Any]:
        """Free slots by room key on ``day``."""
        found: Mapping[str, Any] = await get_json(
            self.client, self.name, "/slots", {"keys": ",".join(keys), "day": day}
        )
        return found

    async def book(self, slot: str) -> Any:
        """Reserve ``slot``."""
        return await get_json(self.client, self.name, "/book", {"slot": slot})

    batched_reads = ReadTable(list_per_key(slots))

    def read_operations(self) -> ReadOperations:
        """This source's batched reads."""
        return self.batched_reads.bind(self)

    async def aclose(self) -> None:
        await self.client.aclose()


async def test_the_wrappers_declared_reads_are_guarded_reads() -> None:
    upstream = Upstream(503)
    inner = SlotSource(upstream)
    source = wrap(inner)
    assert isinstance(source, DeclaresReads)
    slots = source.read_operations().find("slots")
    assert (slots.many, slots.params) == (True, ("day",))
    with pytest.raises(SourceUnavailable):
        await slots.load(["room-1"], "2026-12-07")
    assert len(upstream.requests) == 2  # retried once, as every read (R3)
    assert source.health()["retries"] == 1
    # the adapter's own table gives the unguarded call: one request, no retry
    with pytest.raises(SourceUnavailable):
        await inner.read_operations().find("slots").load(["room-1"], "2026-12-07")
    assert len(upstream.requests) == 3
    await source.aclose()


async def test_an_operation_declared_both_read_and_write_is_refused() -> None:
    class Confused(SlotSource):
        write_operations = frozenset({"book", "slots"})

    inner = Confused(Upstream(200))
    with pytest.raises(ReadDeclarationError, match="both a read and a write"):
        inner.read_operations()
    with pytest.raises(ReadDeclarationError):
        wrap(inner)
    await inner.aclose()


def test_a_declaration_that_is_no_batched_read_is_refused_when_made() -> None:
    def sync_read(self: Any, keys: Sequence[str]) -> Mapping[str, Any]:
        return {}

    async def no_keys(self: Any) -> Mapping[str, Any]:
        return {}

    async def keyword_only(self: Any, keys: Sequence[str], *, day: str) -> Mapping[str, Any]:
        return {}

    async def customers(self: Any, keys: Sequence[str]) -> Mapping[str, Any]:
        return {}

    with pytest.raises(ReadDeclarationError, match="async"):
        one_per_key(sync_read)  # type: ignore[arg-type]
    with pytest.raises(ReadDeclarationError, match="keys"):
        one_per_key(no_keys)
    with pytest.raises(ReadDeclarationError, match="'day'"):
        list_per_key(keyword_only)
    with pytest.raises(ReadDeclarationError, match="twice"):
        ReadTable(one_per_key(customers), list_per_key(customers))


@pytest.mark.parametrize(
    ("adapter", "kinds"),
    [(RestSource, ("erp", "crm", "timesheet")), (TrytonSource, ("erp", "timesheet"))],
)
def test_the_adapters_declare_every_read_their_kinds_need_in_the_protocols_shape(
    adapter: type, kinds: tuple[str, ...]
) -> None:
    table: ReadTable = adapter.batched_reads  # type: ignore[attr-defined]
    assert table.names - OPTIONAL_READS == kind_reads(kinds) | EDITOR_READS
    assert not table.names & adapter.write_operations  # type: ignore[attr-defined]
    for declaration in table.declarations:
        # the shape declared is the one the protocol promises: a list per key when the
        # protocol's answer maps a key to a Sequence, else one record per key
        protocol = next(p for p in PROTOCOLS if hasattr(p, declaration.name))
        promised = inspect.get_annotations(getattr(protocol, declaration.name))["return"]
        assert declaration.many == ("Sequence[" in str(promised)), declaration.name
    assert issubclass(adapter, OrderEditor)
