"""A system's translation tables in config (``translations:``) with the REST adapter.

An ERP names its states in its own codes; Keylink translates them through the spec's
table, which the system's config overrides and extends per code. A code no table knows is
answered as UNKNOWN with the raw code beside it (never dropped, never guessed) and logged
once; a table naming a state Keylink does not have is refused at start-up. The upstream is
a small ERP in the demo ERP's shape served over loopback HTTP; it filters by ``status`` as
the demo ERP does, so a filter that sent too narrow a request would lose records.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from gateway.errors import ConfigError
from gateway.settings import load_settings
from sources.errors import Unsupported
from sources.records import InvoiceQuery, InvoiceStatus, OrderStatus
from sources.rest import RestConfig, RestSource
from tests.support.servers import ServerThread

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml"
CUSTOMER = "10001"


def order(number: str, status: Any) -> dict[str, Any]:
    """An order as the demo ERP lists it."""
    return {
        "number": number,
        "customer": CUSTOMER,
        "status": status,
        "order_date": "2026-03-01",
        "currency": "EUR",
        "total_untaxed": "100.00",
        "total": "125.00",
        "line_count": 1,
        "version": 1,
    }


def invoice(number: str, status: str) -> dict[str, Any]:
    """An invoice as the demo ERP lists it."""
    return {
        "number": number,
        "customer": CUSTOMER,
        "order": None,
        "project": None,
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "currency": "EUR",
        "total_untaxed": "100.00",
        "total": "125.00",
        "amount_due": "125.00" if status != "paid" else "0.00",
        "status": status,
    }


ORDERS = [
    order("SO-1", "draft"),
    order("SO-2", "processing"),
    order("SO-3", "on_hold"),  # a state the demo spec does not know
    order("SO-4", 70),  # a numeric code, as a legacy ERP sends it
    order("SO-5", "confirmed"),
]
INVOICES = [
    invoice("INV-1", "open"),
    invoice("INV-2", "disputed"),  # a state the demo spec does not know
    invoice("INV-3", "paid"),
]


class SmallErp:
    """``/orders`` and ``/invoices`` for one customer, filtered by ``status`` (comma
    separated) as the demo ERP filters; every request's parameters are recorded."""

    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []
        self.app = Starlette(
            routes=[
                Route("/healthz", lambda _: PlainTextResponse("ok")),
                Route("/orders", self._list(ORDERS)),
                Route("/invoices", self._list(INVOICES)),
            ]
        )

    def _list(self, items: list[dict[str, Any]]) -> Any:
        async def answer(request: Request) -> JSONResponse:
            params = dict(request.query_params)
            self.asked.append(params)
            wanted = params.get("status")
            found = [
                item for item in items if wanted is None or str(item["status"]) in wanted.split(",")
            ]
            return JSONResponse({"items": found, "total": len(found), "next_page": None})

        return answer


@pytest.fixture(scope="module")
def small_erp() -> Iterator[tuple[SmallErp, str]]:
    upstream = SmallErp()
    server = ServerThread(upstream.app)
    server.start()
    yield upstream, server.url
    server.stop()


def source(url: str, translations: dict[str, Any] | None = None) -> RestSource:
    """A REST ERP over the demo spec; its name is new each time (the log-once memory is
    per system)."""
    config = RestConfig(
        kind="erp",
        adapter="rest",
        url=url,
        spec=SPEC,
        translations=translations or {},
    )
    return RestSource(f"erp-{uuid.uuid4().hex[:8]}", config)


async def test_an_invoice_in_a_state_no_table_knows_is_listed_as_unknown_with_its_raw_state(
    small_erp: tuple[SmallErp, str],
) -> None:
    erp = source(small_erp[1])
    try:
        found = await erp.invoices([CUSTOMER], InvoiceQuery())
    finally:
        await erp.aclose()
    got = {i.key: (i.status, i.status_raw) for i in found[CUSTOMER]}
    assert got == {
        "INV-1": (InvoiceStatus.OPEN, "open"),
        "INV-2": (InvoiceStatus.UNKNOWN, "disputed"),
        "INV-3": (InvoiceStatus.PAID, "paid"),
    }
    disputed = next(i for i in found[CUSTOMER] if i.key == "INV-2")
    # counted in no figure: neither open nor issued nor overdue
    assert not disputed.is_open and not disputed.is_issued
    assert not disputed.is_overdue(disputed.due_date.replace(year=2030))  # type: ignore[union-attr]


async def test_an_order_in_a_state_no_table_knows_is_unknown_with_its_raw_state(
    small_erp: tuple[SmallErp, str],
) -> None:
    erp = source(small_erp[1])
    try:
        found = await erp.orders([CUSTOMER], None)
    finally:
        await erp.aclose()
    got = {o.key: (o.status, o.status_raw) for o in found[CUSTOMER]}
    assert got["SO-3"] == (OrderStatus.UNKNOWN, "on_hold")
    assert got["SO-4"] == (OrderStatus.UNKNOWN, "70")
    assert got["SO-2"] == (OrderStatus.CONFIRMED, "processing")


async def test_the_config_table_overrides_and_extends_the_spec(
    small_erp: tuple[SmallErp, str],
) -> None:
    upstream, url = small_erp
    erp = source(
        url,
        {
            "order_status": {70: "confirmed", "on_hold": "CONFIRMED", "processing": "QUOTED"},
            "invoice_status": {"disputed": "OPEN"},
        },
    )
    try:
        orders = await erp.orders([CUSTOMER], None)
        invoices = await erp.invoices([CUSTOMER], InvoiceQuery())
        upstream.asked.clear()
        confirmed = await erp.orders([CUSTOMER], frozenset({OrderStatus.CONFIRMED}))
        quoted = await erp.orders([CUSTOMER], frozenset({OrderStatus.QUOTED}))
        open_ones = await erp.invoices([CUSTOMER], InvoiceQuery(status=InvoiceStatus.OPEN))
        drafts = await erp.orders([CUSTOMER], frozenset({OrderStatus.DRAFT}))
    finally:
        await erp.aclose()
    got = {o.key: (o.status, o.status_raw) for o in orders[CUSTOMER]}
    assert got == {
        "SO-1": (OrderStatus.DRAFT, "draft"),  # the spec's, untouched
        "SO-2": (OrderStatus.QUOTED, "processing"),  # overridden
        "SO-3": (OrderStatus.CONFIRMED, "on_hold"),  # extended
        "SO-4": (OrderStatus.CONFIRMED, "70"),  # a YAML number names the code 70
        "SO-5": (OrderStatus.CONFIRMED, "confirmed"),
    }
    assert {i.key: i.status for i in invoices[CUSTOMER]}["INV-2"] is InvoiceStatus.OPEN
    # filters still select exactly: the codes that now mean a state are all found
    assert sorted(o.key for o in confirmed[CUSTOMER]) == ["SO-3", "SO-4", "SO-5"]
    assert [o.key for o in quoted[CUSTOMER]] == ["SO-2"]
    assert sorted(i.key for i in open_ones[CUSTOMER]) == ["INV-1", "INV-2"]
    assert [o.key for o in drafts[CUSTOMER]] == ["SO-1"]
    # a state whose codes are unchanged is still filtered by the upstream
    assert upstream.asked[-1].get("status") == "draft"


async def test_an_unknown_code_is_logged_once_per_system_domain_and_code(
    small_erp: tuple[SmallErp, str], caplog: pytest.LogCaptureFixture
) -> None:
    erp = source(small_erp[1])
    other = source(small_erp[1])
    caplog.set_level(logging.WARNING, logger="keylink.sources.translate")
    try:
        for _ in range(3):
            await erp.invoices([CUSTOMER], InvoiceQuery())
            await erp.orders([CUSTOMER], None)
        await other.invoices([CUSTOMER], InvoiceQuery())
    finally:
        await erp.aclose()
        await other.aclose()
    lines = [r.getMessage() for r in caplog.records if r.name == "keylink.sources.translate"]
    mine = [line for line in lines if line.startswith(f"{erp.name}:")]
    assert sorted(mine) == sorted(
        [
            f"{erp.name}: invoice_status code 'disputed' has no Keylink state in its "
            "translation table; answered as UNKNOWN with the raw value",
            f"{erp.name}: order_status code 'on_hold' has no Keylink state in its "
            "translation table; answered as UNKNOWN with the raw value",
            f"{erp.name}: order_status code '70' has no Keylink state in its "
            "translation table; answered as UNKNOWN with the raw value",
        ]
    )
    assert [line for line in lines if line.startswith(f"{other.name}:")] == [
        f"{other.name}: invoice_status code 'disputed' has no Keylink state in its "
        "translation table; answered as UNKNOWN with the raw value"
    ]


async def test_the_overdue_search_is_declined_once_the_config_changes_what_is_open(
    small_erp: tuple[SmallErp, str],
) -> None:
    """The demo spec's overdue search asks for ``status=open`` only: with ``disputed``
    translated to OPEN it would miss disputed invoices, so it is declined (a list then
    reads each customer's invoices); a table leaving OPEN alone keeps it."""
    widened = source(small_erp[1], {"invoice_status": {"disputed": "OPEN"}})
    untouched = source(small_erp[1], {"invoice_status": {"disputed": "CANCELLED"}})
    try:
        with pytest.raises(Unsupported):
            await widened.overdue_invoices(date(2026, 6, 1))
        overdue = await untouched.overdue_invoices(date(2026, 6, 1))
    finally:
        await widened.aclose()
        await untouched.aclose()
    assert [i.key for i in overdue[CUSTOMER]] == ["INV-1"]


def test_a_table_naming_a_state_keylink_does_not_have_is_refused_at_start_up() -> None:
    systems = {
        "erp": {
            "kind": "erp",
            "adapter": "rest",
            "url": "http://127.0.0.1:1",
            "spec": str(SPEC),
            "translations": {"order_status": {"70": "SHIPPED"}},
        }
    }
    with pytest.raises(ConfigError) as refused:
        load_settings(overrides={"systems": systems})
    text = str(refused.value)
    assert "systems.erp" in text and "'70'" in text and "SHIPPED" in text
    assert "DRAFT, QUOTED, CONFIRMED, INVOICED, CANCELLED, UNKNOWN" in text


@pytest.mark.parametrize(
    "translations",
    [
        {"invoice_status": {"open": "OVERDUE"}},  # a GraphQL filter, not a state
        {"project_phase": {"active": "RUNNING"}},
        {"order_states": {"x": "DRAFT"}},  # no such domain
        {"order_status": ["DRAFT"]},  # not a table
    ],
)
def test_other_bad_tables_are_refused(translations: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RestConfig(
            kind="erp",
            adapter="rest",
            url="http://127.0.0.1:1",
            spec=SPEC,
            translations=translations,
        )
