"""A system's translation tables in config with the Tryton adapter, on a real trytond.

The config's table overrides Tryton's built-in states for the codes it names; a state
mapped to UNKNOWN (as a code no table knows would be) is answered as UNKNOWN with Tryton's
own state beside it, logged once, and still read when a filter asks for one state (never
dropped). The same reads through the built-in table are the reference.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sources.records import InvoiceQuery, InvoiceStatus, OrderStatus, ProjectStatus
from sources.tryton import TrytonConfig, TrytonSource
from tests.support.tryton import PASSWORD_ENV, TrytonServer
from tests.tryton.conftest import tryton  # noqa: F401  (the session's trytond)

CUSTOMERS = ["C-ACME", "C-BOLT", "C-CRANE", "C-DUNE"]
TABLES = {
    "invoice_status": {"paid": "UNKNOWN"},
    "order_status": {"quotation": "UNKNOWN", "draft": "QUOTED"},
    "project_phase": {"Open": "UNKNOWN"},
}


def source(server: TrytonServer, translations: dict[str, Any] | None = None) -> TrytonSource:
    config = TrytonConfig(
        kind=["erp", "timesheet"],
        adapter="tryton",
        url=server.url,
        database=server.database,
        auth={"username": "admin", "password_env": PASSWORD_ENV},
        translations=translations or {},
    )
    return TrytonSource(f"tryton-{uuid.uuid4().hex[:8]}", config)


@pytest.fixture
async def pair(tryton: TrytonServer) -> AsyncIterator[tuple[TrytonSource, TrytonSource]]:  # noqa: F811
    """Tryton read with its built-in states, and with ``TABLES`` from config."""
    plain, translated = source(tryton), source(tryton, TABLES)
    yield plain, translated
    await plain.aclose()
    await translated.aclose()


async def test_a_state_the_table_maps_to_unknown_is_unknown_with_trytons_state(
    pair: tuple[TrytonSource, TrytonSource],
) -> None:
    plain, translated = pair
    before = await plain.invoices(CUSTOMERS, InvoiceQuery())
    after = await translated.invoices(CUSTOMERS, InvoiceQuery())
    was = {i.key: (i.status, i.status_raw) for found in before.values() for i in found}
    now = {i.key: (i.status, i.status_raw) for found in after.values() for i in found}
    assert set(now) == set(was)  # none dropped
    paid = {key for key, (_, raw) in was.items() if raw == "paid"}
    assert paid, "the Tryton seed has no paid invoice"
    for key, (status, raw) in was.items():
        assert now[key] == ((InvoiceStatus.UNKNOWN, "paid") if key in paid else (status, raw))


async def test_an_unknown_invoice_state_is_read_even_when_one_state_is_asked_for(
    pair: tuple[TrytonSource, TrytonSource],
) -> None:
    plain, translated = pair
    posted = await plain.invoices(CUSTOMERS, InvoiceQuery(status=InvoiceStatus.OPEN))
    found = await translated.invoices(CUSTOMERS, InvoiceQuery(status=InvoiceStatus.OPEN))
    statuses = {i.status for invoices in found.values() for i in invoices}
    assert statuses == {InvoiceStatus.OPEN, InvoiceStatus.UNKNOWN}
    opened = {i.key for invoices in found.values() for i in invoices if i.is_open}
    assert opened == {i.key for invoices in posted.values() for i in invoices}


async def test_the_config_table_overrides_the_built_in_sale_states(
    pair: tuple[TrytonSource, TrytonSource],
) -> None:
    plain, translated = pair
    before = await plain.orders(CUSTOMERS, None)
    after = await translated.orders(CUSTOMERS, None)
    was = {o.key: (o.status, o.status_raw) for found in before.values() for o in found}
    now = {o.key: (o.status, o.status_raw) for found in after.values() for o in found}
    assert set(now) == set(was)
    raws = {raw for _, raw in was.values()}
    assert {"draft", "quotation"} <= raws, raws
    for key, (status, raw) in was.items():
        if raw == "quotation":
            assert now[key] == (OrderStatus.UNKNOWN, "quotation")
        elif raw == "draft":
            assert now[key] == (OrderStatus.QUOTED, "draft")
        else:
            assert now[key] == (status, raw)
    # asked for drafts only: the overridden ones are not drafts any more; unknown ones come
    drafts = await translated.orders(CUSTOMERS, frozenset({OrderStatus.DRAFT}))
    assert {o.status for found in drafts.values() for o in found} == {OrderStatus.UNKNOWN}


async def test_a_project_phase_mapped_to_unknown_keeps_trytons_phase(
    pair: tuple[TrytonSource, TrytonSource],
) -> None:
    plain, translated = pair
    before = await plain.customer_projects(CUSTOMERS)
    after = await translated.customer_projects(CUSTOMERS)
    was = {p.key: (p.status, p.status_raw) for found in before.values() for p in found}
    now = {p.key: (p.status, p.status_raw) for found in after.values() for p in found}
    assert set(now) == set(was) and was
    for key, (status, raw) in was.items():
        assert now[key] == ((ProjectStatus.UNKNOWN, raw) if raw == "Open" else (status, raw))
    assert any(raw == "Open" for _, raw in was.values()), was


async def test_each_unknown_tryton_state_is_logged_once(
    pair: tuple[TrytonSource, TrytonSource], caplog: pytest.LogCaptureFixture
) -> None:
    _, translated = pair
    caplog.set_level(logging.WARNING, logger="keylink.sources.translate")
    for _ in range(2):
        await translated.invoices(CUSTOMERS, InvoiceQuery())
        await translated.orders(CUSTOMERS, None)
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "keylink.sources.translate" and r.getMessage().startswith(translated.name)
    ]
    assert sorted(lines) == sorted(
        f"{translated.name}: {domain} code {code!r} has no Keylink state in its translation "
        "table; answered as UNKNOWN with the raw value"
        for domain, code in (("invoice_status", "paid"), ("order_status", "quotation"))
    )
