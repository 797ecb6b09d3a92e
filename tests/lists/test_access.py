"""Who may list, what a scoped principal sees, and how a failing system shows in a list."""

from __future__ import annotations

import httpx
import pytest

from demo.runner import DemoUpstreams
from tests.lists.conftest import ask, codes
from tests.lists.expected import Raw

LIST = """
{ customers(first: 100) { totalCount edges { node { keys { system key } } } } }
"""
TOTALS = "{ customerTotals(groupBy: SEGMENT) { overall { customers } } }"
SOME = """
query($filter: CustomerFilter) {
  customers(first: 100, filter: $filter) {
    totalCount edges { answeredBy unanswered node { keys { system key } account { name } } }
  }
}
"""


@pytest.mark.parametrize("roles", ["viewer", "sales", "viewer,sales"])
async def test_lists_and_totals_need_the_analyst_or_admin_role(
    gateway: httpx.AsyncClient, roles: str
) -> None:
    for query, field in ((LIST, "customers"), (TOTALS, "customerTotals")):
        body = await ask(gateway, query, roles=roles)
        assert body["data"][field] is None
        assert codes(body) == ["FORBIDDEN"]
        assert "analyst or admin" in body["errors"][0]["message"]


async def test_admin_may_list(gateway: httpx.AsyncClient, raw: Raw) -> None:
    body = await ask(gateway, LIST, roles="admin")
    assert "errors" not in body
    assert body["data"]["customers"]["totalCount"] == len(raw.links["customer"]) > 200


async def test_a_scoped_principal_lists_and_totals_only_its_customers(
    gateway: httpx.AsyncClient, raw: Raw, upstream_stats: dict[str, httpx.Client]
) -> None:
    scope = "customer:erp:1000*"
    inside = {k["erp"] for k in raw.links["customer"] if k.get("erp", "").startswith("1000")}
    body = await ask(gateway, LIST, scope=scope)
    assert "errors" not in body, body["errors"]
    got = {
        k["key"]
        for e in body["data"]["customers"]["edges"]
        for k in e["node"]["keys"]
        if k["system"] == "erp"
    }
    assert got == inside
    assert body["data"]["customers"]["totalCount"] == len(inside)
    totals = await ask(gateway, TOTALS, scope=scope)
    assert totals["data"]["customerTotals"]["overall"]["customers"] == len(inside)
    # a pushed-down CRM filter does not widen the scope either
    crm = await ask(gateway, SOME, {"filter": {"team": ["Oslo", "Bergen"]}}, scope=scope)
    rows = crm["data"]["customers"]["edges"]
    want = {
        keys["erp"]
        for keys in raw.links["customer"]
        if keys.get("erp") in inside
        and "crm" in keys
        and raw.accounts[keys["crm"]]["team"] in ("Oslo", "Bergen")
    }
    got_erp = {k["key"] for e in rows for k in e["node"]["keys"] if k["system"] == "erp"}
    assert want and got_erp == want
    empty = await ask(gateway, LIST, scope="customer:erp:nothing-matches")
    assert empty["data"]["customers"] == {"totalCount": 0, "edges": []}


async def test_a_failing_system_is_named_on_each_row(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
    raw: Raw,
) -> None:
    live_upstreams.knobs["timesheet"].update(fault="503")
    body = await ask(gateway, SOME, {"filter": {"team": ["Oslo"]}})
    edges = body["data"]["customers"]["edges"]
    oslo = {
        keys["crm"]
        for keys in raw.links["customer"]
        if "crm" in keys and raw.accounts[keys["crm"]]["team"] == "Oslo"
    }
    shown = {k["key"] for e in edges for k in e["node"]["keys"] if k["system"] == "crm"}
    assert oslo and shown == oslo and len(edges) == len(oslo)
    for edge in edges:
        keys = {k["system"]: k["key"] for k in edge["node"]["keys"]}
        assert edge["answeredBy"] == [s for s in ("erp", "crm") if s in keys]
        assert edge["unanswered"] == (["timesheet"] if "timesheet" in keys else [])
        assert edge["node"]["account"] == {"name": raw.accounts[keys["crm"]]["name"]}
    assert body["extensions"]["sources"]["timesheet"]["state"] == "error"


async def test_a_filter_on_a_failing_system_fails_the_list_with_its_code(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    live_upstreams.knobs["timesheet"].update(fault="503")
    hours = {"from": "2026-01-01", "to": "2026-01-31", "min": "1"}
    body = await ask(gateway, SOME, {"filter": {"hours": hours}})
    assert body["data"]["customers"] is None
    assert codes(body) == ["SOURCE_UNAVAILABLE"]
    assert body["errors"][0]["extensions"]["system"] == "timesheet"
    assert "db-internal" not in str(body)
