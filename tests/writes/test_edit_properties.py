"""Property-based: no edit input makes Keylink fail (500, traceback, INTERNAL_ERROR),
every refused (or replayed) edit leaves the ERP exactly as it was, and every edit saved
afresh is written once, as answered."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo.runner import DemoUpstreams
from tests.writes.queries import ADD, UPDATE

decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).map(str),
    st.sampled_from(["0", "-1", "1.0001", "NaN", "Infinity", "-0", "1e400", "", "abc", "1,5"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
)
dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "31.12.2026", "", "2026-13-01", "0001-01-01"]),
)
texts = st.text(max_size=300)
maybe = st.none
UPDATE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "quantity": decimals,
        "discountPercent": decimals,
        "deliveryDate": dates,
        "description": texts,
        "unitPrice": decimals,
    },
)


def post(client: httpx.Client, query: str, variables: dict[str, Any]) -> httpx.Response:
    return client.post("/graphql", json={"query": query, "variables": variables})


def check_answer(response: httpx.Response) -> tuple[dict[str, Any] | None, bool]:
    """The answer's data, and whether it replayed an earlier outcome (same key)."""
    assert response.status_code == 200, response.text
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors", []):
        assert error["extensions"]["code"] in ("BAD_INPUT", "GRAPHQL_VALIDATION_FAILED"), error
    data = body.get("data")
    report = (body.get("extensions") or {}).get("idempotency") or []
    return data, any(entry["replayed"] for entry in report)


def snapshot(erp: httpx.Client, order: str) -> tuple[Any, Any, int]:
    lines = erp.get("/order-lines", params={"order": order}).json()["items"]
    header = erp.get("/orders", params={"ids": order}).json()["items"][0]
    return lines, header, erp.get("/_writes").json()["total"]


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=UPDATE_FIELDS,
    version=st.one_of(st.just("CURRENT"), st.text(max_size=70)),
    line=st.one_of(st.just("CURRENT"), st.text(max_size=300)),
    key=st.one_of(st.none(), st.text(max_size=300)),
)
def test_no_update_input_breaks_keylink_or_half_writes(
    edit_gateway_url: str,
    live_upstreams: DemoUpstreams,
    changes: dict[str, Any],
    version: str,
    line: str,
    key: str | None,
) -> None:
    with (
        httpx.Client(base_url=live_upstreams.urls["erp"], timeout=10) as erp,
        httpx.Client(base_url=edit_gateway_url, timeout=30) as gateway,
    ):
        erp.post("/_reset-data").raise_for_status()
        order = erp.get("/orders", params={"status": "draft", "per_page": "1"}).json()["items"][0]
        first = erp.get("/order-lines", params={"order": order["number"]}).json()["items"][0]
        before = snapshot(erp, order["number"])
        variables = {
            "input": {
                "order": {"system": "erp", "key": order["number"]},
                "line": first["id"] if line == "CURRENT" else line,
                "expectedVersion": str(first["version"]) if version == "CURRENT" else version,
                **changes,
            },
            "key": key,
        }
        data, replayed = check_answer(post(gateway, UPDATE, variables))
        result = (data or {}).get("updateOrderLine") or {}
        after = snapshot(erp, order["number"])
        if result.get("__typename") == "OrderLineSaved" and not replayed:
            # written once, and the ERP holds exactly the line Keylink answered
            assert after[2] == before[2] + 1
            (stored,) = [ln for ln in after[0] if ln["id"] == result["line"]["key"]]
            assert str(stored["version"]) == result["line"]["version"]
            assert stored["amount"] == result["line"]["amount"]["amount"]
        else:  # refused, or a replay of an earlier outcome: nothing written
            assert after == before, result


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    product=st.one_of(st.sampled_from(["P-1001", "P-1002"]), st.text(max_size=80)),
    quantity=decimals,
    extra=UPDATE_FIELDS,
    order_key=st.one_of(st.just("DRAFT"), st.just("LOCKED"), st.text(max_size=40)),
)
def test_no_add_input_breaks_keylink_or_half_writes(
    edit_gateway_url: str,
    live_upstreams: DemoUpstreams,
    product: str,
    quantity: str,
    extra: dict[str, Any],
    order_key: str,
) -> None:
    with (
        httpx.Client(base_url=live_upstreams.urls["erp"], timeout=10) as erp,
        httpx.Client(base_url=edit_gateway_url, timeout=30) as gateway,
    ):
        erp.post("/_reset-data").raise_for_status()
        status = "draft" if order_key != "LOCKED" else "confirmed"
        order = erp.get("/orders", params={"status": status, "per_page": "1"}).json()["items"][0]
        target = order["number"] if order_key in ("DRAFT", "LOCKED") else order_key
        before = snapshot(erp, order["number"])
        extra.pop("quantity", None)
        variables = {
            "input": {
                "order": {"system": "erp", "key": target},
                "product": product,
                "quantity": quantity,
                **extra,
            },
            "key": f"prop-add-{uuid.uuid4()}",  # each example a fresh edit, never a replay
        }
        data, replayed = check_answer(post(gateway, ADD, variables))
        result = (data or {}).get("addOrderLine") or {}
        after = snapshot(erp, order["number"])
        if result.get("__typename") == "OrderLineSaved" and not replayed:
            # only a draft takes a line, once, and the ERP holds exactly the line answered
            assert order_key == "DRAFT" and after[2] == before[2] + 1
            (stored,) = [ln for ln in after[0] if ln["id"] == result["line"]["key"]]
            assert stored["amount"] == result["line"]["amount"]["amount"]
            assert len(after[0]) == len(before[0]) + 1
        else:  # refused, or a replay of an earlier outcome: nothing written
            assert after == before, result
