"""The demo ERP's order-line writes: pricing, totals, versions, locks, log, reset."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams

CENT = Decimal("0.01")


@pytest.fixture
def erp_rw(clean: DemoUpstreams) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=clean.urls["erp"], timeout=5) as client:
        client.post("/_reset-data").raise_for_status()
        client.post("/_writes/reset").raise_for_status()
        yield client
        client.post("/_reset-data").raise_for_status()


def draft(client: httpx.Client) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    for order in client.get("/orders", params={"status": "draft", "per_page": 50}).json()["items"]:
        lines = client.get("/order-lines", params={"order": order["number"]}).json()["items"]
        if lines:
            return order, lines
    raise AssertionError("no draft order with lines")


def check_totals(client: httpx.Client, order: str) -> dict[str, Any]:
    header: dict[str, Any] = client.get("/orders", params={"ids": order}).json()["items"][0]
    lines = client.get("/order-lines", params={"order": order}).json()["items"]
    untaxed = sum((Decimal(ln["amount"]) for ln in lines), Decimal(0))
    tax = (untaxed * Decimal("0.25")).quantize(CENT, ROUND_HALF_UP)
    assert Decimal(header["total_untaxed"]) == untaxed
    assert Decimal(header["tax"]) == tax
    assert Decimal(header["total"]) == untaxed + tax
    assert header["line_count"] == len(lines)
    return header


def test_patch_reprices_bumps_versions_and_logs(erp_rw: httpx.Client) -> None:
    order, lines = draft(erp_rw)
    line = lines[0]
    answer = erp_rw.patch(
        f"/order-lines/{line['id']}",
        json={"expected_version": line["version"], "quantity": "3", "discount_percent": "12.5"},
        headers={"Idempotency-Key": "k1"},
    )
    assert answer.status_code == 200, answer.text
    new = answer.json()["line"]
    expected = (Decimal(3) * Decimal(line["unit_price"]) * (1 - Decimal("12.5") / 100)).quantize(
        CENT, ROUND_HALF_UP
    )
    assert Decimal(new["amount"]) == expected and new["version"] == line["version"] + 1
    header = check_totals(erp_rw, order["number"])
    assert header["version"] == order["version"] + 1
    log = erp_rw.get("/_writes").json()
    assert log["total"] == 1 and log["writes"][0]["idempotency_key"] == "k1"
    assert log["writes"][0]["fields"] == ["discount_percent", "quantity"]


def test_stale_version_conflicts_with_current_line(erp_rw: httpx.Client) -> None:
    _, lines = draft(erp_rw)
    line = lines[0]
    answer = erp_rw.patch(
        f"/order-lines/{line['id']}",
        json={"expected_version": line["version"] + 5, "quantity": "2"},
    )
    assert answer.status_code == 409
    assert answer.json()["error"] == "version_conflict"
    assert answer.json()["current"] == line
    assert erp_rw.get("/_writes").json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": "0"}, 422, "invalid"),
        ({"quantity": "1.0001"}, 422, "invalid"),
        ({"discount_percent": "101"}, 422, "invalid"),
        ({"delivery_date": "2020-13-01"}, 422, "invalid"),
        ({"colour": "red"}, 422, "invalid"),
        ({}, 422, "invalid"),
        ({"unit_price": "1.00"}, 422, "manual_price_not_allowed"),
    ],
)
def test_rejections_change_nothing(
    erp_rw: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    order, line = priced_line(erp_rw)
    answer = erp_rw.patch(
        f"/order-lines/{line['id']}", json={"expected_version": line["version"], **body}
    )
    assert (answer.status_code, answer.json()["error"]) == (status, code)
    assert erp_rw.get("/order-lines", params={"ids": line["id"]}).json()["items"][0] == line
    assert erp_rw.get("/orders", params={"ids": order["number"]}).json()["items"][0] == order
    assert erp_rw.get("/_writes").json()["total"] == 0


def priced_line(client: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A draft order and one of its lines whose product is priced by its price list (so
    a hand-set unit price is refused)."""
    products: list[dict[str, Any]] = client.get("/products", params={"per_page": 500}).json()[
        "items"
    ]
    listed = {p["sku"] for p in products if not p["manual_price"]}
    orders: list[dict[str, Any]] = client.get(
        "/orders", params={"status": "draft", "per_page": 50}
    ).json()["items"]
    for order in orders:
        lines: list[dict[str, Any]] = client.get(
            "/order-lines", params={"order": order["number"]}
        ).json()["items"]
        for line in lines:
            if line["product"] in listed:
                return order, line
    raise AssertionError("no draft order with a price-list line")


@pytest.mark.parametrize("state", ["quoted", "confirmed", "processing", "invoiced", "cancelled"])
def test_locked_orders_refuse_edits(erp_rw: httpx.Client, state: str) -> None:
    # Only a draft is editable: every other state answers order_locked, writes nothing.
    order = erp_rw.get("/orders", params={"status": state, "per_page": 1}).json()["items"][0]
    assert order["locked"] is True
    lines = erp_rw.get("/order-lines", params={"order": order["number"]}).json()["items"]
    assert lines
    answers = [
        erp_rw.post(
            f"/orders/{order['number']}/lines", json={"product": "P-1001", "quantity": "1"}
        ),
        erp_rw.post(
            f"/orders/{order['number']}/lines/preview", json={"product": "P-1001", "quantity": "1"}
        ),
        erp_rw.patch(
            f"/order-lines/{lines[0]['id']}",
            json={"expected_version": lines[0]["version"], "quantity": "9"},
        ),
        erp_rw.post(f"/order-lines/{lines[0]['id']}/preview", json={"quantity": "9"}),
        erp_rw.delete(
            f"/order-lines/{lines[0]['id']}", params={"expected_version": lines[0]["version"]}
        ),
    ]
    assert [(a.status_code, a.json()["error"], a.json()["status"]) for a in answers] == [
        (409, "order_locked", state)
    ] * 5
    assert erp_rw.get("/order-lines", params={"order": order["number"]}).json()["items"] == lines
    assert erp_rw.get("/orders", params={"ids": order["number"]}).json()["items"][0] == order
    assert erp_rw.get("/_writes").json()["total"] == 0


def test_add_preview_remove_and_reset(erp_rw: httpx.Client) -> None:
    order, lines = draft(erp_rw)
    body = {"product": "P-1001", "quantity": "2"}
    preview = erp_rw.post(f"/orders/{order['number']}/lines/preview", json=body)
    assert preview.status_code == 200 and preview.json()["line"]["id"] is None
    added = erp_rw.post(f"/orders/{order['number']}/lines", json=body)
    assert added.status_code == 201
    assert added.json()["line"]["amount"] == preview.json()["line"]["amount"]
    assert added.json()["order"]["total"] == preview.json()["order"]["total"]
    new = added.json()["line"]
    removed = erp_rw.delete(
        f"/order-lines/{new['id']}", params={"expected_version": new["version"]}
    )
    assert removed.status_code == 200
    check_totals(erp_rw, order["number"])
    assert erp_rw.get("/_writes").json()["total"] == 2
    erp_rw.patch(
        f"/order-lines/{lines[0]['id']}",
        json={"expected_version": lines[0]["version"], "quantity": "99"},
    ).raise_for_status()
    erp_rw.post("/_reset-data").raise_for_status()
    assert erp_rw.get("/order-lines", params={"order": order["number"]}).json()["items"] == lines
    assert erp_rw.get("/orders", params={"ids": order["number"]}).json()["items"][0] == order


def test_apply_then_timeout_applies_once_and_loses_the_answer(
    erp_rw: httpx.Client, clean: DemoUpstreams
) -> None:
    _, lines = draft(erp_rw)
    line = lines[0]
    clean.knobs["erp"].update(fault="apply_then_timeout", paths=["/order-lines/"])
    with pytest.raises(httpx.ReadTimeout):
        httpx.patch(
            f"{clean.urls['erp']}/order-lines/{line['id']}",
            json={"expected_version": line["version"], "quantity": "4"},
            timeout=0.5,
        )
    clean.knobs["erp"].reset()
    assert erp_rw.get("/_writes").json()["total"] == 1
    stored = erp_rw.get("/order-lines", params={"ids": line["id"]}).json()["items"][0]
    assert Decimal(stored["quantity"]) == 4
