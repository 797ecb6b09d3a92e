"""How the REST adapter maps a system's states onto Keylink's (demo/specs/erp.yaml): two
raw states for one Keylink state, a state the table does not know, and filters that must
never leave records out. The upstream is an httpx MockTransport answering items in the
demo ERP's shape and recording what was asked."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import yaml

from sources.records import OPEN_ORDER_STATUSES, InvoiceQuery, InvoiceStatus, OrderStatus
from sources.rest import RestConfig, RestSource

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml"


class Upstream:
    """Answers every list request with ``items`` and records the requests."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200, json={"items": self.items, "total": len(self.items), "next_page": None}
        )

    def params(self) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests]


def erp(upstream: Upstream, spec: Path = SPEC) -> RestSource:
    config = RestConfig(kind="erp", adapter="rest", url="http://127.0.0.1:1", spec=spec)
    return RestSource("erp", config, httpx.MockTransport(upstream))


def order(number: str, status: str) -> dict[str, Any]:
    return {
        "number": number,
        "customer": "10001",
        "status": status,
        "order_date": "2026-03-01",
        "currency": "EUR",
        "total_untaxed": "100.00",
        "tax": "25.00",
        "total": "125.00",
        "line_count": 1,
        "version": 1,
        "locked": status != "draft",
    }


def invoice(number: str, status: str, due: str | None = "2026-03-31") -> dict[str, Any]:
    return {
        "number": number,
        "customer": "10001",
        "order": None,
        "project": None,
        "issue_date": "2026-03-01",
        "due_date": due,
        "currency": "EUR",
        "total_untaxed": "100.00",
        "total": "125.00",
        "amount_due": "125.00",
        "status": status,
    }


async def test_confirmed_and_processing_are_both_confirmed_with_the_raw_state_beside() -> None:
    upstream = Upstream([order("SO-1", "confirmed"), order("SO-2", "processing")])
    source = erp(upstream)
    found = await source.orders(["10001"], frozenset({OrderStatus.CONFIRMED}))
    await source.aclose()
    assert [(o.key, o.number, o.status, o.status_raw) for o in found["10001"]] == [
        ("SO-1", "SO-1", OrderStatus.CONFIRMED, "confirmed"),
        ("SO-2", "SO-2", OrderStatus.CONFIRMED, "processing"),
    ]
    # asking for CONFIRMED asks the ERP for both of its states
    assert upstream.params()[0]["status"] == "confirmed,processing"


async def test_the_open_states_ask_for_every_raw_state_that_is_open() -> None:
    upstream = Upstream([order("SO-1", "quoted"), order("SO-2", "draft")])
    source = erp(upstream)
    found = await source.orders(["10001"], OPEN_ORDER_STATUSES)
    await source.aclose()
    assert [(o.key, o.status) for o in found["10001"]] == [
        ("SO-1", OrderStatus.QUOTED),
        ("SO-2", OrderStatus.DRAFT),
    ]
    sent = upstream.params()[0]["status"].split(",")
    assert sorted(sent) == ["confirmed", "draft", "processing", "quoted"]


def spec_without_state(tmp_path: Path, state: str) -> Path:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    del raw["operations"]["orders"]["fields"]["status"]["map"][state]
    path = tmp_path / "erp.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


async def test_a_state_the_table_does_not_know_is_unknown_with_its_raw_value(
    tmp_path: Path,
) -> None:
    # never dropped, never guessed: UNKNOWN, and the ERP's own word for it beside
    upstream = Upstream([order("SO-1", "processing"), order("SO-2", "draft")])
    source = erp(upstream, spec_without_state(tmp_path, "processing"))
    found = await source.orders(["10001"], None)
    await source.aclose()
    assert [(o.key, o.status, o.status_raw) for o in found["10001"]] == [
        ("SO-1", OrderStatus.UNKNOWN, "processing"),
        ("SO-2", OrderStatus.DRAFT, "draft"),
    ]
    assert not found["10001"][0].is_open and found["10001"][0].locked


async def test_a_filter_with_a_value_the_upstream_cannot_select_sends_nothing(
    tmp_path: Path,
) -> None:
    # UNKNOWN has no upstream value: sending only the others would leave its orders out,
    # so the filter is not sent and the records are re-checked instead
    upstream = Upstream([order("SO-1", "weird"), order("SO-2", "draft"), order("SO-3", "quoted")])
    source = erp(upstream, spec_without_state(tmp_path, "quoted"))
    found = await source.orders(["10001"], frozenset({OrderStatus.UNKNOWN, OrderStatus.DRAFT}))
    await source.aclose()
    assert [(o.key, o.status, o.status_raw) for o in found["10001"]] == [
        ("SO-1", OrderStatus.UNKNOWN, "weird"),
        ("SO-2", OrderStatus.DRAFT, "draft"),
        ("SO-3", OrderStatus.UNKNOWN, "quoted"),
    ]
    assert "status" not in upstream.params()[0]


async def test_invoice_states_and_a_draft_without_a_due_date_are_read() -> None:
    upstream = Upstream(
        [
            invoice("INV-1", "draft", due=None),
            invoice("INV-2", "open"),
            invoice("INV-3", "paid"),
            invoice("INV-4", "cancelled"),
        ]
    )
    source = erp(upstream)
    found = await source.invoices(["10001"], InvoiceQuery())
    await source.aclose()
    assert [(i.key, i.number, i.status) for i in found["10001"]] == [
        ("INV-1", "INV-1", InvoiceStatus.DRAFT),
        ("INV-2", "INV-2", InvoiceStatus.OPEN),
        ("INV-3", "INV-3", InvoiceStatus.PAID),
        ("INV-4", "INV-4", InvoiceStatus.CANCELLED),
    ]
    assert [i.due_date for i in found["10001"]] == [None, *[date(2026, 3, 31)] * 3]
    assert [i.is_issued for i in found["10001"]] == [False, True, True, False]


async def test_invoices_are_rechecked_against_the_query() -> None:
    # an upstream that ignores the filter never widens the answer
    upstream = Upstream([invoice("INV-1", "draft", due=None), invoice("INV-2", "open")])
    source = erp(upstream)
    found = await source.invoices(["10001"], InvoiceQuery(status=InvoiceStatus.OPEN))
    await source.aclose()
    assert [i.key for i in found["10001"]] == ["INV-2"]
    assert upstream.params()[0]["status"] == "open"
