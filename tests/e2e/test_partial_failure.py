"""A failed system nulls only its own fields; the rest of the answer still arrives.

Every test here queries while the system is down (or faulty) and checks the nulls, the
errors' codes and paths, and that the other systems' fields hold their exact values,
computed from the upstreams' raw JSON (``tests/e2e/expected.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.expected import expected_overview
from tests.e2e.queries import CUSTOMER
from tests.support.gateways import fully_linked_crm_key

HOURS_FIELDS = {"hoursThisMonth", "unbilledHours"}
ERP_FIGURES = {
    "openBalance",
    "overdueAmount",
    "overdueCount",
    "revenueYearToDate",
    "revenueSamePeriodLastYear",
    "openOrdersValue",
    "creditLimit",
    "creditAvailable",
}


def beside_request_id(error: dict[str, Any]) -> dict[str, Any]:
    """An error's extensions without its ``requestId`` (which every error carries: the id
    of the request, as in the ``X-Request-Id`` header), which is checked to be there."""
    extensions = dict(error["extensions"])
    assert re.fullmatch(r"[0-9a-f]{32}", extensions.pop("requestId")), error
    return extensions


@pytest.fixture
def crm_key(live_upstreams: DemoUpstreams) -> str:
    return fully_linked_crm_key(live_upstreams)


@pytest.fixture
def keys(live_upstreams: DemoUpstreams, crm_key: str) -> dict[str, str]:
    """The customer's key in each system."""
    (link,) = [
        link
        for link in demo_links(live_upstreams.dataset)
        if link.kind == "customer" and link.keys.get("crm") == [crm_key]
    ]
    return {system: found[0] for system, found in link.keys.items()}


@pytest.fixture
def expected(live_upstreams: DemoUpstreams, keys: dict[str, str]) -> dict[str, Any]:
    """The customer's overview computed from the raw JSON, all systems up."""
    with (
        httpx.Client(base_url=live_upstreams.urls["erp"], timeout=10) as erp,
        httpx.Client(base_url=live_upstreams.urls["timesheet"], timeout=10) as ts,
    ):
        return expected_overview(erp, ts, keys["erp"], keys["timesheet"], date.today())


@pytest.fixture
def timesheet_stopped(live_upstreams: DemoUpstreams) -> Iterator[None]:
    """The timesheet upstream is down for the test and back up afterwards."""
    live_upstreams.stop("timesheet")
    try:
        yield
    finally:
        live_upstreams.start("timesheet")


def account_of(upstreams: DemoUpstreams, crm_key: str) -> dict[str, Any]:
    """The account fields the CUSTOMER query asks for, from the CRM's data."""
    data = upstreams.dataset
    account = data.accounts[crm_key]
    return {
        "name": account.name,
        "owner": account.owner,
        "segment": account.segment,
        "contacts": [
            {"name": data.contacts[c].name, "email": data.contacts[c].email}
            for c in data.contacts_by_account.get(crm_key, [])
        ],
    }


def erp_of(upstreams: DemoUpstreams, erp_key: str) -> dict[str, Any]:
    """The ERP customer fields the CUSTOMER query asks for, from the ERP's data."""
    customer = upstreams.dataset.customers[erp_key]
    return {
        "key": erp_key,
        "name": customer.name,
        "currency": customer.currency,
        "creditLimit": {"amount": f"{customer.credit_limit:.2f}", "currency": customer.currency},
    }


def hours_of(overview: dict[str, Any]) -> dict[str, Decimal | None]:
    return {f: None if overview[f] is None else Decimal(str(overview[f])) for f in HOURS_FIELDS}


async def query_while_timesheet_is_down(
    gateway: httpx.AsyncClient,
    upstreams: DemoUpstreams,
    crm_key: str,
    keys: dict[str, str],
    expected: dict[str, Any],
) -> None:
    """Query with the timesheet down: its two fields are null with SOURCE_UNAVAILABLE
    errors; the CRM's and the ERP's fields hold their exact values."""
    with (
        httpx.Client(base_url=upstreams.urls["timesheet"], timeout=2) as ts,
        pytest.raises(httpx.TransportError),
    ):
        ts.get("/healthz")  # really down while the query runs
    body = await graphql(gateway, CUSTOMER, {"system": "crm", "key": crm_key})
    customer = body["data"]["customer"]
    assert customer["account"] == account_of(upstreams, crm_key)
    assert customer["erp"] == erp_of(upstreams, keys["erp"])
    assert {(k["system"], k["key"]) for k in customer["keys"]} == set(keys.items())
    overview = customer["financialOverview"]
    assert {k: v for k, v in overview.items() if v is None} == dict.fromkeys(HOURS_FIELDS)
    assert {k: v for k, v in overview.items() if k not in HOURS_FIELDS} == {
        k: v for k, v in expected.items() if k not in HOURS_FIELDS
    }
    errors = body["errors"]
    assert sorted(tuple(e["path"]) for e in errors) == [
        ("customer", "financialOverview", f) for f in sorted(HOURS_FIELDS)
    ]
    for error in errors:
        assert beside_request_id(error) == {"code": "SOURCE_UNAVAILABLE", "system": "timesheet"}
        assert "timesheet" in error["message"]
        assert "127.0.0.1" not in error["message"]
    sources = body["extensions"]["sources"]
    assert sources["timesheet"]["state"] == "error"
    assert sources["timesheet"]["code"] == "SOURCE_UNAVAILABLE"
    assert sources["erp"]["state"] == sources["crm"]["state"] == "ok"


async def test_timesheet_down_keeps_erp_and_crm_fields(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    crm_key: str,
    keys: dict[str, str],
    expected: dict[str, Any],
    timesheet_stopped: None,
) -> None:
    await query_while_timesheet_is_down(gateway, live_upstreams, crm_key, keys, expected)


async def test_after_restart_the_hours_come_back(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    crm_key: str,
    keys: dict[str, str],
    expected: dict[str, Any],
) -> None:
    live_upstreams.stop("timesheet")
    try:
        await query_while_timesheet_is_down(gateway, live_upstreams, crm_key, keys, expected)
    finally:
        live_upstreams.start("timesheet")
    body = await graphql(gateway, CUSTOMER, {"system": "crm", "key": crm_key})
    assert "errors" not in body, body["errors"]
    overview = body["data"]["customer"]["financialOverview"]
    assert hours_of(overview) == {f: expected[f] for f in HOURS_FIELDS}
    assert {k: v for k, v in overview.items() if k not in HOURS_FIELDS} == {
        k: v for k, v in expected.items() if k not in HOURS_FIELDS
    }
    assert body["extensions"]["sources"]["timesheet"]["state"] == "ok"


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("500", "SOURCE_UNAVAILABLE"),
        ("bad_json", "SOURCE_UNAVAILABLE"),
        ("reset", "SOURCE_UNAVAILABLE"),
        ("404", "NOT_FOUND"),
    ],
)
async def test_erp_faults_null_only_erp_fields_and_leak_nothing(
    gateway: httpx.AsyncClient,
    crm_key: str,
    keys: dict[str, str],
    expected: dict[str, Any],
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
    fault: str,
    code: str,
) -> None:
    upstream_stats["erp"].put("/_knobs", json={"fault": fault}).raise_for_status()
    response = await gateway.post(
        "/graphql", json={"query": CUSTOMER, "variables": {"system": "crm", "key": crm_key}}
    )
    body = response.json()
    customer = body["data"]["customer"]
    assert customer["account"] == account_of(live_upstreams, crm_key)
    assert customer["erp"] is None
    overview = customer["financialOverview"]
    assert hours_of(overview) == {f: expected[f] for f in HOURS_FIELDS}
    assert overview["asOf"] == expected["asOf"]
    assert {k for k, v in overview.items() if v is None} == ERP_FIGURES
    assert sorted(tuple(e["path"]) for e in body["errors"]) == sorted(
        [("customer", "erp")] + [("customer", "financialOverview", f) for f in ERP_FIGURES]
    )
    for error in body["errors"]:
        assert beside_request_id(error) == {"code": code, "system": "erp"}
    assert "Traceback" not in response.text
    assert "db-internal-7" not in response.text
    assert body["extensions"]["sources"]["erp"] == {
        "state": "error",
        "readAt": body["extensions"]["sources"]["erp"]["readAt"],
        "code": code,
    }
    assert body["extensions"]["sources"]["crm"]["state"] == "ok"
    assert body["extensions"]["sources"]["timesheet"]["state"] == "ok"


async def test_unknown_system_is_bad_input(gateway: httpx.AsyncClient) -> None:
    body = await graphql(gateway, '{ customer(system: "sap", key: "1") { id } }')
    assert body["data"] == {"customer": None}
    assert beside_request_id(body["errors"][0]) == {"code": "BAD_INPUT"}
    assert "unknown system 'sap'" in body["errors"][0]["message"]
