"""A failed system nulls only its own fields; the rest of the answer still arrives."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.queries import CUSTOMER
from tests.support.gateways import fully_linked_crm_key

HOURS_FIELDS = {"hoursThisMonth", "unbilledHours"}


@pytest.fixture
def crm_key(live_upstreams: DemoUpstreams) -> str:
    return fully_linked_crm_key(live_upstreams)


@pytest.fixture
def timesheet_stopped(live_upstreams: DemoUpstreams) -> Iterator[None]:
    """The timesheet upstream is down for the test and back up afterwards."""
    live_upstreams.stop("timesheet")
    try:
        yield
    finally:
        live_upstreams.start("timesheet")


async def test_timesheet_down_keeps_erp_and_crm_fields(
    gateway: httpx.AsyncClient, crm_key: str, timesheet_stopped: None
) -> None:
    body = await graphql(gateway, CUSTOMER, {"system": "crm", "key": crm_key})
    customer = body["data"]["customer"]
    assert customer["account"]["name"]
    assert customer["erp"]["name"]
    overview = customer["financialOverview"]
    assert overview["openBalance"] and overview["creditLimit"]
    assert {k for k, v in overview.items() if v is None} == HOURS_FIELDS
    errors = body["errors"]
    assert {tuple(e["path"][-1:]) for e in errors} == {(f,) for f in HOURS_FIELDS}
    for error in errors:
        assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "system": "timesheet"}
        assert "timesheet" in error["message"]
        assert "127.0.0.1" not in error["message"]
    sources = body["extensions"]["sources"]
    assert sources["timesheet"]["state"] == "error"
    assert sources["erp"]["state"] == sources["crm"]["state"] == "ok"


async def test_after_restart_the_hours_come_back(
    gateway: httpx.AsyncClient, crm_key: str, live_upstreams: DemoUpstreams
) -> None:
    live_upstreams.stop("timesheet")
    live_upstreams.start("timesheet")
    body = await graphql(gateway, CUSTOMER, {"system": "crm", "key": crm_key})
    assert "errors" not in body
    assert body["data"]["customer"]["financialOverview"]["hoursThisMonth"] is not None


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
    assert customer["account"]["name"]
    assert customer["erp"] is None
    assert customer["financialOverview"]["hoursThisMonth"] is not None
    assert customer["financialOverview"]["openBalance"] is None
    assert body["errors"]
    for error in body["errors"]:
        assert error["extensions"] == {"code": code, "system": "erp"}
    assert "Traceback" not in response.text
    assert "db-internal-7" not in response.text
    assert body["extensions"]["sources"]["erp"] == {
        "state": "error",
        "readAt": body["extensions"]["sources"]["erp"]["readAt"],
        "code": code,
    }


async def test_unknown_system_is_bad_input(gateway: httpx.AsyncClient) -> None:
    body = await graphql(gateway, '{ customer(system: "sap", key: "1") { id } }')
    assert body["data"] == {"customer": None}
    assert body["errors"][0]["extensions"] == {"code": "BAD_INPUT"}
    assert "unknown system 'sap'" in body["errors"][0]["message"]
