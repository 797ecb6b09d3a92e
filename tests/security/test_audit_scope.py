"""Issue 16: the audit trail within the row scope (S5). An admin scoped to some accounts
reads the audit of orders of customers in scope (or of orders in scope) only; any other
order answers an empty trail, exactly like an order that was never edited, and costs no
upstream call. (``keylink audit`` is the operator's tool: it reads the link-map database
directly and is not scoped.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from linkmap.store import LinkStore
from tests.writes.queries import AUDIT, UPDATE

ADMIN = {"X-Keylink-Principal": "auditor", "X-Keylink-Roles": "admin"}
SALES = {"X-Keylink-Principal": "rep", "X-Keylink-Roles": "sales"}


def ask(gateway: str, query: str, variables: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = httpx.post(
        f"{gateway}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def calls(stats: dict[str, httpx.Client]) -> int:
    return sum(client.get("/_stats").json()["total"] for client in stats.values())


def draft_orders(upstreams: DemoUpstreams, count: int) -> list[dict[str, Any]]:
    """Draft orders with lines of ``count`` different linked customers, each with its first
    line under ``line``."""
    erp = upstreams.urls["erp"]
    linked = {
        link.keys["erp"][0]
        for link in demo_links(upstreams.dataset)
        if link.kind == "customer" and link.keys.get("erp")
    }
    orders = httpx.get(f"{erp}/orders", params={"status": "draft", "per_page": "500"}).json()
    picked: dict[str, dict[str, Any]] = {}
    for order in orders["items"]:
        if order["customer"] in linked and order["customer"] not in picked:
            lines = httpx.get(f"{erp}/order-lines", params={"order": order["number"]}).json()
            if lines["items"]:
                picked[order["customer"]] = {**order, "line": lines["items"][0]}
        if len(picked) == count:
            return list(picked.values())
    raise AssertionError(f"{count} draft orders of linked customers in the demo data")


def edit(gateway: str, order: dict[str, Any]) -> None:
    """One line of ``order`` edited by an unscoped sales rep; its key under ``key``."""
    line = order["line"]
    change = {
        "order": {"system": "erp", "key": order["number"]},
        "line": str(line["id"]),
        "expectedVersion": str(line["version"]),
        "quantity": "11",
    }
    order["key"] = f"scope-{uuid.uuid4().hex}"
    saved = ask(gateway, UPDATE, {"input": change, "key": order["key"]}, **SALES)
    assert saved["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved", saved


@pytest.fixture
def edited(gateway_url: str, live_upstreams: DemoUpstreams) -> Iterator[list[dict[str, Any]]]:
    """Three draft orders of three different linked customers, the first two with one line
    edited by an unscoped sales rep; the ERP's data is restored afterwards."""
    orders = draft_orders(live_upstreams, 3)
    try:
        for order in orders[:2]:
            edit(gateway_url, order)
        yield orders
    finally:
        httpx.post(f"{live_upstreams.urls['erp']}/_reset-data", timeout=10)


def trail(gateway: str, order: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    body = ask(gateway, AUDIT, {"order": {"system": "erp", "key": order["number"]}}, **headers)
    assert "errors" not in body, body
    events: list[dict[str, Any]] = body["data"]["auditTrail"]
    return events


def test_a_scoped_admin_reads_only_the_audit_of_orders_of_customers_in_scope(
    gateway_url: str, edited: list[dict[str, Any]], upstream_stats: dict[str, httpx.Client]
) -> None:
    mine, other, _ = edited
    unscoped = {o["key"]: trail(gateway_url, o, **ADMIN) for o in (mine, other)}
    assert all(o["key"] in {e["idempotencyKey"] for e in unscoped[o["key"]]} for o in edited[:2])

    def seen(order: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
        """The trail, checked to be part of what an unscoped admin reads (events recorded
        without a customer, such as input refused before the order was read, are only
        shown to those who may see the order itself)."""
        events = trail(gateway_url, order, **headers)
        assert all(e in unscoped[order["key"]] for e in events)
        return events

    for client in upstream_stats.values():
        client.post("/_stats/reset")
    scoped = {**ADMIN, "X-Keylink-Scope": f"customer:erp:{mine['customer']}"}
    assert mine["key"] in {e["idempotencyKey"] for e in seen(mine, **scoped)}
    # out of scope: empty, exactly as an order nobody edited, and no upstream call
    assert trail(gateway_url, other, **scoped) == []
    never = {"number": f"NO-SUCH-{uuid.uuid4().hex[:6]}"}
    assert trail(gateway_url, never, **scoped) == trail(gateway_url, never, **ADMIN) == []
    assert calls(upstream_stats) == 0

    # a scope naming the other customer admits it, and only it; a scope without customers
    # admits neither
    theirs = {**ADMIN, "X-Keylink-Scope": f"customer:erp:{other['customer']}"}
    assert other["key"] in {e["idempotencyKey"] for e in seen(other, **theirs)}
    assert trail(gateway_url, mine, **theirs) == []
    nothing = {**ADMIN, "X-Keylink-Scope": "supplier:erp:*"}
    assert trail(gateway_url, mine, **nothing) == trail(gateway_url, other, **nothing) == []


async def test_an_admin_scoped_to_an_order_reads_its_audit_by_a_linked_key(
    gateway_url: str, demo_linkmap_url: str, edited: list[dict[str, Any]]
) -> None:
    _, other, ours = edited  # ours: not looked up by this gateway yet (resolution cache)
    opportunity = f"OPP-{uuid.uuid4().hex[:8]}"
    store = LinkStore.from_url(demo_linkmap_url)
    try:
        linked = await store.resolve("order", "erp", ours["number"])
        if linked is None:
            entity = await store.create_entity(
                "order", {"erp": [ours["number"]], "crm": [opportunity]}, actor="test"
            )
        else:  # another test linked the order already
            entity = await store.link(linked.id, "crm", opportunity, actor="test")
        try:
            edit(gateway_url, ours)
            scoped = {**ADMIN, "X-Keylink-Scope": f"order:crm:{opportunity}"}
            body = ask(
                gateway_url, AUDIT, {"order": {"system": "crm", "key": opportunity}}, **scoped
            )
            assert "errors" not in body, body
            # the order itself in scope: its whole trail, events without a customer included
            assert body["data"]["auditTrail"] == trail(gateway_url, ours, **ADMIN)
            assert ours["key"] in {e["idempotencyKey"] for e in body["data"]["auditTrail"]}
            assert trail(gateway_url, ours, **scoped) == body["data"]["auditTrail"]
            assert trail(gateway_url, other, **scoped) == []
        finally:
            if linked is None:
                await store.delete_entity(entity.id, actor="test")
            else:
                await store.unlink(entity.id, "crm", opportunity, actor="test")
    finally:
        await store.close()
