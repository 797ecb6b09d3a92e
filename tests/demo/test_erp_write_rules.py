"""The demo ERP's order-line writes over real HTTP, rule by rule.

Every expected price and total is computed here from the generated dataset (independent
arithmetic), never taken from the ERP's answer. Every refusal is checked to leave the
order, its lines and the write log exactly as they were.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from demo.data import DemoDataset
from demo.records import Product, SalesOrder
from demo.runner import DemoUpstreams
from demo.schemas import OrderLineOut, OrderOut, ProductOut

CENT = Decimal("0.01")


# --------------------------------------------------------------------------- helpers


def amount(quantity: str, unit_price: str, discount: str) -> Decimal:
    """``round(qty × price × (1 − discount/100), 2)`` half-up, computed independently."""
    gross = Decimal(quantity) * Decimal(unit_price) * (1 - Decimal(discount) / 100)
    return gross.quantize(CENT, ROUND_HALF_UP)


def totals(line_amounts: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """(untaxed, tax, total) of an order with these line amounts."""
    untaxed = sum(line_amounts, Decimal(0))
    tax = (untaxed * Decimal("0.25")).quantize(CENT, ROUND_HALF_UP)
    return untaxed, tax, untaxed + tax


@dataclass(frozen=True)
class Picks:
    """Records of the generated data the tests write against."""

    draft: SalesOrder  # a draft order with several lines whose customer has a discount
    quoted: SalesOrder
    confirmed: SalesOrder
    processing: SalesOrder
    invoiced: SalesOrder
    cancelled: SalesOrder
    listed: Product  # priced by its price list only
    manual: Product  # allows a manual unit price


@pytest.fixture(scope="module")
def picks(dataset: DemoDataset) -> Picks:
    """Pick the draft order, locked orders and products the tests use."""
    draft = next(
        o
        for o in dataset.orders.values()
        if o.status == "draft"
        and len(dataset.lines_by_order.get(o.number, [])) >= 3
        and dataset.customers[o.customer].discount_percent > 0
    )
    return Picks(
        draft=draft,
        quoted=next(o for o in dataset.orders.values() if o.status == "quoted"),
        confirmed=next(o for o in dataset.orders.values() if o.status == "confirmed"),
        processing=next(o for o in dataset.orders.values() if o.status == "processing"),
        invoiced=next(o for o in dataset.orders.values() if o.status == "invoiced"),
        cancelled=next(o for o in dataset.orders.values() if o.status == "cancelled"),
        listed=next(p for p in dataset.products.values() if not p.manual_price),
        manual=next(p for p in dataset.products.values() if p.manual_price),
    )


@pytest.fixture
def erp_w(clean: DemoUpstreams) -> Iterator[httpx.Client]:
    """An ERP client; the ERP's data and write log are reset before and after the test."""
    writes = clean.erp_writes
    writes.reset_data()
    writes.reset_log()
    with httpx.Client(base_url=clean.urls["erp"], timeout=5) as client:
        yield client
    writes.reset_data()
    writes.reset_log()


def order_item(client: httpx.Client, number: str) -> dict[str, Any]:
    """The order header as the ERP serves it."""
    items: list[dict[str, Any]] = client.get("/orders", params={"ids": number}).json()["items"]
    assert len(items) == 1
    return items[0]


def lines_of(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    """The order's lines as the ERP serves them."""
    response = client.get("/order-lines", params={"order": number, "per_page": 500})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def line_item(client: httpx.Client, line_id: str) -> dict[str, Any] | None:
    """One line by id, or None."""
    items: list[dict[str, Any]] = client.get("/order-lines", params={"ids": line_id}).json()[
        "items"
    ]
    return items[0] if items else None


def log_total(client: httpx.Client) -> int:
    """Number of applied writes in the ERP's log."""
    total: int = client.get("/_writes").json()["total"]
    return total


def assert_totals(client: httpx.Client, number: str) -> dict[str, Any]:
    """The order's totals equal those computed here from its lines; returns the header."""
    header = order_item(client, number)
    lines = lines_of(client, number)
    untaxed, tax, total = totals([Decimal(ln["amount"]) for ln in lines])
    assert Decimal(header["total_untaxed"]) == untaxed
    assert Decimal(header["tax"]) == tax
    assert Decimal(header["total"]) == total
    assert header["line_count"] == len(lines)
    return header


def snapshot(client: httpx.Client, number: str) -> tuple[Any, ...]:
    """Everything a refused write must leave alone."""
    return order_item(client, number), lines_of(client, number), client.get("/_writes").json()


# --------------------------------------------------------------------------- reads


def test_read_additions(erp_w: httpx.Client, picks: Picks, dataset: DemoDataset) -> None:
    draft = order_item(erp_w, picks.draft.number)
    assert set(draft) == set(OrderOut.model_fields)
    assert draft["version"] == 1 and draft["locked"] is False
    for locked in (picks.quoted, picks.confirmed, picks.processing, picks.invoiced):
        assert order_item(erp_w, locked.number)["locked"] is True
    assert order_item(erp_w, picks.cancelled.number)["locked"] is True
    products = erp_w.get("/products", params={"per_page": 500}).json()["items"]
    assert len(products) == len(dataset.products)
    assert all(set(p) == set(ProductOut.model_fields) for p in products)
    manual = {p["sku"] for p in products if p["manual_price"]}
    assert picks.manual.sku in manual and picks.listed.sku not in manual
    assert 0 < len(manual) < len(products) / 2  # some do, most don't
    ids = dataset.lines_by_order[picks.draft.number][:2]
    body = erp_w.get("/order-lines", params={"ids": f"{ids[1]},{ids[0]},999999999,x"}).json()
    assert len(ids) == 2 and [ln["id"] for ln in body["items"]] == sorted(ids, key=int)
    assert all(set(ln) == set(OrderLineOut.model_fields) for ln in body["items"])


# --------------------------------------------------------------------------- happy paths


def test_add_prices_from_price_list_and_customer_discount(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks, dataset: DemoDataset
) -> None:
    order = picks.draft
    before = order_item(erp_w, order.number)
    old_lines = lines_of(erp_w, order.number)
    customer = dataset.customers[order.customer]
    price = picks.listed.prices[order.currency]
    answer = erp_w.post(
        f"/orders/{order.number}/lines",
        json={"product": picks.listed.sku, "quantity": "2.5"},
        headers={"Idempotency-Key": "add-1"},
    )
    assert answer.status_code == 201, answer.text
    line, header = answer.json()["line"], answer.json()["order"]
    assert line["id"] == str(max(int(i) for i in dataset.order_lines) + 1)
    assert line["version"] == 1 and line["order"] == order.number
    assert line["product"] == picks.listed.sku and line["description"] == picks.listed.name
    assert line["currency"] == order.currency
    assert Decimal(line["unit_price"]) == price and line["unit_price"] == f"{price:.2f}"
    assert Decimal(line["discount_percent"]) == customer.discount_percent
    assert Decimal(line["amount"]) == amount("2.5", str(price), str(customer.discount_percent))
    assert line["delivery_date"] == (order.order_date + timedelta(days=14)).isoformat()
    # the order's totals, by independent arithmetic over old amounts plus the new one
    untaxed, tax, total = totals(
        [Decimal(ln["amount"]) for ln in old_lines] + [Decimal(line["amount"])]
    )
    assert (Decimal(header["total_untaxed"]), Decimal(header["tax"]), Decimal(header["total"])) == (
        untaxed,
        tax,
        total,
    )
    assert header["line_count"] == len(old_lines) + 1
    assert header["version"] == before["version"] + 1
    # reads agree with the answer
    assert line_item(erp_w, line["id"]) == line
    assert assert_totals(erp_w, order.number) == header
    assert [ln["id"] for ln in lines_of(erp_w, order.number)][-1] == line["id"]
    # the log, over HTTP and from Python
    log = erp_w.get("/_writes").json()
    assert log["total"] == 1
    entry = log["writes"][0]
    assert entry["seq"] == 1 and entry["method"] == "POST" and entry["outcome"] == "applied"
    assert entry["path"] == f"/orders/{order.number}/lines"
    assert (entry["order"], entry["line"]) == (order.number, line["id"])
    assert entry["idempotency_key"] == "add-1"
    assert entry["fields"] == ["product", "quantity"]
    assert clean.erp_writes.write_log() == log["writes"]
    # the generated dataset itself is never modified
    assert line["id"] not in dataset.order_lines
    assert dataset.orders[order.number].total == order.total


def test_add_with_explicit_discount_manual_price_date_and_description(
    erp_w: httpx.Client, picks: Picks
) -> None:
    order = picks.draft
    delivery = (order.order_date + timedelta(days=3)).isoformat()
    answer = erp_w.post(
        f"/orders/{order.number}/lines",
        json={
            "product": picks.manual.sku,
            "quantity": 3,  # an integer JSON number is accepted
            "discount_percent": "12.5",
            "unit_price": "123.4567",
            "delivery_date": delivery,
            "description": "Workshop, 3 days – Ærø",
        },
    )
    assert answer.status_code == 201, answer.text
    line = answer.json()["line"]
    assert line["unit_price"] == "123.4567" and line["discount_percent"] == "12.50"
    assert line["quantity"] == "3" and line["delivery_date"] == delivery
    assert line["description"] == "Workshop, 3 days – Ærø"
    assert Decimal(line["amount"]) == amount("3", "123.4567", "12.5")
    assert_totals(erp_w, order.number)
    entry = erp_w.get("/_writes").json()["writes"][0]
    assert entry["idempotency_key"] is None
    assert entry["fields"] == [
        "delivery_date",
        "description",
        "discount_percent",
        "product",
        "quantity",
        "unit_price",
    ]


def test_manual_product_without_unit_price_takes_the_list_price(
    erp_w: httpx.Client, picks: Picks
) -> None:
    order = picks.draft
    answer = erp_w.post(
        f"/orders/{order.number}/lines",
        json={"product": picks.manual.sku, "quantity": "1", "discount_percent": "0"},
    )
    assert answer.status_code == 201
    assert Decimal(answer.json()["line"]["unit_price"]) == picks.manual.prices[order.currency]
    assert answer.json()["line"]["amount"] == f"{picks.manual.prices[order.currency]:.2f}"


def test_patch_reprices_keeps_other_values_and_bumps_versions(
    erp_w: httpx.Client, picks: Picks
) -> None:
    order = picks.draft
    before = order_item(erp_w, order.number)
    line = lines_of(erp_w, order.number)[0]
    answer = erp_w.patch(
        f"/order-lines/{line['id']}",
        json={"expected_version": line["version"], "quantity": "7.125"},
        headers={"Idempotency-Key": "edit-1"},
    )
    assert answer.status_code == 200, answer.text
    new, header = answer.json()["line"], answer.json()["order"]
    assert new["version"] == line["version"] + 1
    assert new["quantity"] == "7.125"
    unchanged = ("unit_price", "discount_percent", "delivery_date", "description", "product")
    assert {k: new[k] for k in unchanged} == {k: line[k] for k in unchanged}
    assert Decimal(new["amount"]) == amount("7.125", line["unit_price"], line["discount_percent"])
    assert header["version"] == before["version"] + 1
    assert assert_totals(erp_w, order.number) == header
    assert line_item(erp_w, line["id"]) == new

    # a second change at the new version; the discount and date this time
    delivery = (order.order_date + timedelta(days=40)).isoformat()
    again = erp_w.patch(
        f"/order-lines/{line['id']}",
        json={
            "expected_version": new["version"],
            "discount_percent": "33.33",
            "delivery_date": delivery,
        },
    )
    assert again.status_code == 200, again.text
    second = again.json()["line"]
    assert second["version"] == line["version"] + 2 and second["delivery_date"] == delivery
    assert Decimal(second["amount"]) == amount("7.125", line["unit_price"], "33.33")
    assert again.json()["order"]["version"] == before["version"] + 2
    assert_totals(erp_w, order.number)

    # the old version is now stale: 409 with the line as it is
    stale = erp_w.patch(
        f"/order-lines/{line['id']}", json={"expected_version": new["version"], "quantity": "1"}
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict" and stale.json()["current"] == second

    log = erp_w.get("/_writes").json()["writes"]
    assert [(e["seq"], e["method"], e["line"]) for e in log] == [
        (1, "PATCH", line["id"]),
        (2, "PATCH", line["id"]),
    ]
    assert log[0]["fields"] == ["quantity"] and log[0]["idempotency_key"] == "edit-1"
    assert log[1]["fields"] == ["delivery_date", "discount_percent"]
    assert log[0]["path"] == f"/order-lines/{line['id']}"


def test_patch_manual_price_line(erp_w: httpx.Client, picks: Picks) -> None:
    order = picks.draft
    added = erp_w.post(
        f"/orders/{order.number}/lines",
        json={"product": picks.manual.sku, "quantity": "2", "unit_price": "99.90"},
    ).json()["line"]
    changed = erp_w.patch(
        f"/order-lines/{added['id']}", json={"expected_version": 1, "quantity": "4"}
    ).json()["line"]
    assert changed["unit_price"] == "99.90"  # the manual price is kept
    assert Decimal(changed["amount"]) == amount("4", "99.90", added["discount_percent"])
    repriced = erp_w.patch(
        f"/order-lines/{added['id']}", json={"expected_version": 2, "unit_price": "80"}
    ).json()["line"]
    assert repriced["unit_price"] == "80.00" and repriced["version"] == 3
    assert Decimal(repriced["amount"]) == amount("4", "80", added["discount_percent"])
    assert_totals(erp_w, order.number)


def test_delete_returns_the_line_as_it_was_and_the_order_after(
    erp_w: httpx.Client, picks: Picks
) -> None:
    order = picks.draft
    before = order_item(erp_w, order.number)
    lines = lines_of(erp_w, order.number)
    victim = lines[1]
    answer = erp_w.delete(
        f"/order-lines/{victim['id']}",
        params={"expected_version": victim["version"]},
        headers={"Idempotency-Key": "rm-1"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["line"] == victim
    header = answer.json()["order"]
    untaxed, tax, total = totals([Decimal(ln["amount"]) for ln in lines if ln is not victim])
    assert Decimal(header["total"]) == total and Decimal(header["tax"]) == tax
    assert Decimal(header["total_untaxed"]) == untaxed
    assert header["line_count"] == len(lines) - 1
    assert header["version"] == before["version"] + 1
    assert line_item(erp_w, victim["id"]) is None
    assert [ln["id"] for ln in lines_of(erp_w, order.number)] == [
        ln["id"] for ln in lines if ln is not victim
    ]
    assert assert_totals(erp_w, order.number) == header
    entry = erp_w.get("/_writes").json()["writes"][0]
    assert (entry["method"], entry["line"], entry["fields"]) == ("DELETE", victim["id"], [])
    assert entry["idempotency_key"] == "rm-1"
    # gone: a second delete is a 404 and logs nothing
    again = erp_w.delete(f"/order-lines/{victim['id']}", params={"expected_version": 1})
    assert (again.status_code, again.json()["error"]) == (404, "not_found")
    assert log_total(erp_w) == 1


def test_new_line_ids_are_never_reused(
    erp_w: httpx.Client, picks: Picks, dataset: DemoDataset
) -> None:
    highest = max(int(i) for i in dataset.order_lines)
    url = f"/orders/{picks.draft.number}/lines"
    body = {"product": picks.listed.sku, "quantity": "1"}
    first = erp_w.post(url, json=body).json()["line"]
    assert first["id"] == str(highest + 1)
    erp_w.delete(f"/order-lines/{first['id']}", params={"expected_version": 1}).raise_for_status()
    second = erp_w.post(url, json=body).json()["line"]
    assert second["id"] == str(highest + 2)
    erp_w.post("/_reset-data").raise_for_status()  # a reset starts over from the generated ids
    assert erp_w.post(url, json=body).json()["line"]["id"] == str(highest + 1)


# --------------------------------------------------------------------------- previews


def test_previews_write_nothing_and_match_the_real_write(erp_w: httpx.Client, picks: Picks) -> None:
    order = picks.draft
    before = snapshot(erp_w, order.number)
    body = {"product": picks.listed.sku, "quantity": "4", "discount_percent": "3.5"}
    preview = erp_w.post(f"/orders/{order.number}/lines/preview", json=body)
    assert preview.status_code == 200, preview.text
    line, header = preview.json()["line"], preview.json()["order"]
    assert line["id"] is None and line["version"] is None
    price = picks.listed.prices[order.currency]
    assert Decimal(line["amount"]) == amount("4", str(price), "3.5")
    _, old_lines, _ = before
    untaxed, _, total = totals(
        [Decimal(ln["amount"]) for ln in old_lines] + [Decimal(line["amount"])]
    )
    assert (Decimal(header["total_untaxed"]), Decimal(header["total"])) == (untaxed, total)
    assert header["line_count"] == len(old_lines) + 1
    assert header["version"] == before[0]["version"]  # not bumped
    assert snapshot(erp_w, order.number) == before  # nothing saved, nothing logged

    target = old_lines[0]
    change = erp_w.post(
        f"/order-lines/{target['id']}/preview", json={"quantity": "11", "discount_percent": "0"}
    )
    assert change.status_code == 200, change.text
    assert change.json()["line"]["version"] == target["version"]
    assert change.json()["line"]["id"] == target["id"]
    assert Decimal(change.json()["line"]["amount"]) == amount("11", target["unit_price"], "0")
    assert snapshot(erp_w, order.number) == before
    stale = erp_w.post(
        f"/order-lines/{target['id']}/preview",
        json={"expected_version": target["version"] + 1, "quantity": "2"},
    )
    assert stale.status_code == 409 and stale.json()["error"] == "version_conflict"

    # the real write prices exactly like the preview
    added = erp_w.post(f"/orders/{order.number}/lines", json=body).json()
    assert {k: v for k, v in added["line"].items() if k not in ("id", "version")} == {
        k: v for k, v in line.items() if k not in ("id", "version")
    }
    assert added["order"]["total"] == header["total"]
    assert log_total(erp_w) == 1


# --------------------------------------------------------------------------- refusals


def _patch(body: dict[str, Any], *, version: bool = True) -> Any:
    def build(p: Picks, line: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
        full = {"expected_version": line["version"], **body} if version else body
        return "PATCH", f"/order-lines/{line['id']}", full

    return build


def _add(body: dict[str, Any], order: str | None = None) -> Any:
    def build(p: Picks, line: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
        full = {"product": p.listed.sku, "quantity": "1", **body}
        return "POST", f"/orders/{order or p.draft.number}/lines", full

    return build


REFUSALS: list[tuple[str, Any, int, str, str | None]] = [
    # (name, request builder, status, code, field)
    ("qty zero", _patch({"quantity": "0"}), 422, "invalid", "quantity"),
    ("qty negative", _patch({"quantity": "-2"}), 422, "invalid", "quantity"),
    ("qty 4 decimals", _patch({"quantity": "1.0001"}), 422, "invalid", "quantity"),
    ("qty float", _patch({"quantity": 1.5}), 422, "invalid", "quantity"),
    ("qty text", _patch({"quantity": "lots"}), 422, "invalid", "quantity"),
    ("qty NaN", _patch({"quantity": "NaN"}), 422, "invalid", "quantity"),
    ("qty bool", _patch({"quantity": True}), 422, "invalid", "quantity"),
    ("discount > 100", _patch({"discount_percent": "100.01"}), 422, "invalid", "discount_percent"),
    ("discount < 0", _patch({"discount_percent": "-1"}), 422, "invalid", "discount_percent"),
    ("discount 3 dec", _patch({"discount_percent": "5.125"}), 422, "invalid", "discount_percent"),
    ("price 5 dec", _patch({"unit_price": "1.00001"}), 422, "invalid", "unit_price"),
    ("date impossible", _patch({"delivery_date": "2025-02-30"}), 422, "invalid", "delivery_date"),
    ("date format", _patch({"delivery_date": "28.11.2025"}), 422, "invalid", "delivery_date"),
    ("date basic", _patch({"delivery_date": "20251128"}), 422, "invalid", "delivery_date"),
    ("date early", _patch({"delivery_date": "2000-01-01"}), 422, "invalid", "delivery_date"),
    ("empty description", _patch({"description": ""}), 422, "invalid", "description"),
    ("unknown field", _patch({"colour": "red"}), 422, "invalid", "colour"),
    ("product in patch", _patch({"product": "P-1001"}), 422, "invalid", "product"),
    ("empty change", _patch({}), 422, "invalid", "body"),
    ("only nulls", _patch({"quantity": None}), 422, "invalid", "body"),
    ("no version", _patch({"quantity": "2"}, version=False), 422, "invalid", "expected_version"),
    (
        "version string",
        _patch({"quantity": "2", "expected_version": "1"}, version=False),
        422,
        "invalid",
        "expected_version",
    ),
    (
        "version zero",
        _patch({"quantity": "2", "expected_version": 0}, version=False),
        422,
        "invalid",
        "expected_version",
    ),
    ("manual price", _patch({"unit_price": "1.00"}), 422, "manual_price_not_allowed", "unit_price"),
    ("add no product", _add({"product": None}), 422, "invalid", "product"),
    ("add no quantity", _add({"quantity": None}), 422, "invalid", "quantity"),
    ("add manual price", _add({"unit_price": "5"}), 422, "manual_price_not_allowed", "unit_price"),
    ("add unknown product", _add({"product": "P-0000"}), 404, "unknown_product", "product"),
    ("add unknown field", _add({"amount": "5.00"}), 422, "invalid", "amount"),
    ("add unknown order", _add({}, order="SO-999999"), 404, "not_found", "order"),
    ("add date early", _add({"delivery_date": "1999-12-31"}), 422, "invalid", "delivery_date"),
]


@pytest.mark.parametrize(
    ("build", "status", "code", "field"),
    [pytest.param(b, s, c, f, id=name) for name, b, s, c, f in REFUSALS],
)
def test_refusals_change_nothing(
    erp_w: httpx.Client, picks: Picks, build: Any, status: int, code: str, field: str | None
) -> None:
    order = picks.draft.number
    erp_w.post(f"/orders/{order}/lines", json={"product": picks.listed.sku, "quantity": "1"})
    erp_w.post("/_writes/reset")  # one write made, so versions are > 1 and the log is empty
    line = lines_of(erp_w, order)[-1]
    before = snapshot(erp_w, order)
    method, path, body = build(picks, line)
    answer = erp_w.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["error"] == code and isinstance(error["detail"], str) and error["detail"]
    assert error.get("field") == field
    assert snapshot(erp_w, order) == before


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"quantity": "2",', 400, "bad_request"),
        (b"[1, 2]", 422, "invalid"),
        (b"null", 422, "invalid"),
    ],
)
def test_malformed_bodies(
    erp_w: httpx.Client, picks: Picks, content: bytes, status: int, code: str
) -> None:
    line = lines_of(erp_w, picks.draft.number)[0]
    before = snapshot(erp_w, picks.draft.number)
    for method, path in (
        ("PATCH", f"/order-lines/{line['id']}"),
        ("POST", f"/orders/{picks.draft.number}/lines"),
        ("POST", f"/orders/{picks.draft.number}/lines/preview"),
    ):
        answer = erp_w.request(
            method, path, content=content, headers={"content-type": "application/json"}
        )
        assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert snapshot(erp_w, picks.draft.number) == before


def test_not_found_and_stale_versions(erp_w: httpx.Client, picks: Picks) -> None:
    order = picks.draft.number
    line = lines_of(erp_w, order)[0]
    before = snapshot(erp_w, order)
    for method, path, kwargs, field in (
        (
            "PATCH",
            "/order-lines/999999999",
            {"json": {"expected_version": 1, "quantity": "1"}},
            "line",
        ),
        ("POST", "/order-lines/999999999/preview", {"json": {"quantity": "1"}}, "line"),
        ("DELETE", "/order-lines/999999999", {"params": {"expected_version": 1}}, "line"),
        (
            "POST",
            "/orders/SO-999999/lines/preview",
            {"json": {"product": "P-1001", "quantity": "1"}},
            "order",
        ),
    ):
        answer = erp_w.request(method, path, **kwargs)
        assert (answer.status_code, answer.json()["error"]) == (404, "not_found"), path
        assert answer.json()["field"] == field
    for params in (
        {},
        {"expected_version": "x"},
        {"expected_version": "-1"},
        {"expected_version": "0"},
        {"expected_version": "²"},
    ):
        answer = erp_w.delete(f"/order-lines/{line['id']}", params=params)
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid"), params
        assert answer.json()["field"] == "expected_version"
    stale = erp_w.delete(
        f"/order-lines/{line['id']}", params={"expected_version": line["version"] + 1}
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict" and stale.json()["current"] == line
    assert snapshot(erp_w, order) == before


@pytest.mark.parametrize("which", ["quoted", "confirmed", "processing", "invoiced", "cancelled"])
def test_locked_orders_refuse_every_write(
    erp_w: httpx.Client, picks: Picks, dataset: DemoDataset, which: str
) -> None:
    order: SalesOrder = getattr(picks, which)
    line = lines_of(erp_w, order.number)[0]
    before = snapshot(erp_w, order.number)
    requests: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            f"/orders/{order.number}/lines",
            {"json": {"product": picks.listed.sku, "quantity": "1"}},
        ),
        (
            "POST",
            f"/orders/{order.number}/lines/preview",
            {"json": {"product": picks.listed.sku, "quantity": "1"}},
        ),
        (
            "PATCH",
            f"/order-lines/{line['id']}",
            {"json": {"expected_version": line["version"], "quantity": "2"}},
        ),
        ("POST", f"/order-lines/{line['id']}/preview", {"json": {"quantity": "2"}}),
        ("DELETE", f"/order-lines/{line['id']}", {"params": {"expected_version": line["version"]}}),
    ]
    for method, path, kwargs in requests:
        answer = erp_w.request(method, path, **kwargs)
        assert answer.status_code == 409, (method, path, answer.text)
        assert answer.json()["error"] == "order_locked"
        assert answer.json()["status"] == which and answer.json()["field"] == "order"
    assert snapshot(erp_w, order.number) == before
    assert dataset.orders[order.number].locked


# --------------------------------------------------------------------------- concurrency


def test_concurrent_patches_with_one_version_apply_exactly_once(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks
) -> None:
    line = lines_of(erp_w, picks.draft.number)[0]
    workers = 12
    barrier = threading.Barrier(workers)
    answers: dict[int, httpx.Response] = {}

    def edit(i: int) -> None:
        with httpx.Client(base_url=clean.urls["erp"], timeout=5) as client:
            barrier.wait()
            answers[i] = client.patch(
                f"/order-lines/{line['id']}",
                json={"expected_version": line["version"], "quantity": str(i + 1)},
                headers={"Idempotency-Key": f"race-{i}"},
            )

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status_code for a in answers.values())
    assert statuses == [200] + [409] * (workers - 1)
    winner = next(i for i, a in answers.items() if a.status_code == 200)
    stored = line_item(erp_w, line["id"])
    assert stored is not None
    assert stored["version"] == line["version"] + 1 and stored["quantity"] == str(winner + 1)
    assert all(a.json()["current"] == stored for a in answers.values() if a.status_code == 409)
    log = clean.erp_writes.write_log()
    assert [e["idempotency_key"] for e in log] == [f"race-{winner}"]
    assert_totals(erp_w, picks.draft.number)


# --------------------------------------------------------------------------- log and reset


def test_write_log_reset_and_python_accessors(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks
) -> None:
    order = picks.draft.number
    erp_w.post(f"/orders/{order}/lines", json={"product": picks.listed.sku, "quantity": "1"})
    erp_w.post(
        f"/orders/{order}/lines/preview", json={"product": picks.listed.sku, "quantity": "1"}
    )
    erp_w.post(f"/orders/{order}/lines", json={"product": "nope", "quantity": "1"})  # refused
    erp_w.post(f"/orders/{order}/lines", json={"product": picks.listed.sku, "quantity": "2"})
    body = erp_w.get("/_writes").json()
    assert body["total"] == 2 and [e["seq"] for e in body["writes"]] == [1, 2]
    assert set(body["writes"][0]) == {
        "seq",
        "at",
        "method",
        "path",
        "order",
        "line",
        "idempotency_key",
        "fields",
        "outcome",
    }
    writes = clean.erp_writes
    assert writes.write_log() == body["writes"]
    current = writes.order(order)
    assert current is not None and current.version == 3
    assert [ln.id for ln in writes.lines_of(order)][-2:] == [
        body["writes"][0]["line"],
        body["writes"][1]["line"],
    ]
    assert erp_w.post("/_writes/reset").json() == {"writes": [], "total": 0}
    assert writes.write_log() == []
    erp_w.post(f"/orders/{order}/lines", json={"product": picks.listed.sku, "quantity": "3"})
    assert [e["seq"] for e in writes.write_log()] == [1]
    writes.reset_log()
    assert log_total(erp_w) == 0


def test_reset_data_restores_every_read(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks, dataset: DemoDataset
) -> None:
    order = picks.draft.number
    first_page = erp_w.get("/order-lines", params={"per_page": 500}).json()
    total_lines = first_page["total"]
    last_page = (total_lines + 499) // 500
    tail = erp_w.get("/order-lines", params={"per_page": 500, "page": last_page}).json()
    before = snapshot(erp_w, order)
    lines = before[1]
    erp_w.post(f"/orders/{order}/lines", json={"product": picks.listed.sku, "quantity": "1"})
    erp_w.patch(
        f"/order-lines/{lines[0]['id']}",
        json={"expected_version": lines[0]["version"], "quantity": "9"},
    ).raise_for_status()
    erp_w.delete(
        f"/order-lines/{lines[1]['id']}", params={"expected_version": lines[1]["version"]}
    ).raise_for_status()
    assert snapshot(erp_w, order) != before
    assert erp_w.post("/_reset-data").json() == {"reset": True}
    after = snapshot(erp_w, order)
    assert after[:2] == before[:2]
    assert after[2]["total"] == 3  # the log is kept
    assert erp_w.get("/order-lines", params={"per_page": 500}).json() == first_page
    tail_after = erp_w.get("/order-lines", params={"per_page": 500, "page": last_page}).json()
    assert tail_after == tail  # the removed line is back in its place, the added one gone
    # the same from Python, and a second reset is harmless
    erp_w.patch(
        f"/order-lines/{lines[0]['id']}",
        json={"expected_version": lines[0]["version"], "quantity": "9"},
    ).raise_for_status()
    clean.erp_writes.reset_data()
    clean.erp_writes.reset_data()
    assert snapshot(erp_w, order)[:2] == before[:2]
    assert clean.erp_writes.line(lines[0]["id"]) == dataset.order_lines[lines[0]["id"]]


# --------------------------------------------------------------------------- faults


WRITE_PATHS = ["/order-lines", "/orders"]


def test_apply_then_timeout_applies_once_and_the_client_times_out(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks
) -> None:
    line = lines_of(erp_w, picks.draft.number)[0]
    clean.knobs["erp"].update(fault="apply_then_timeout", paths=WRITE_PATHS)
    start = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        erp_w.patch(
            f"/order-lines/{line['id']}",
            json={"expected_version": line["version"], "quantity": "4"},
            headers={"Idempotency-Key": "lost-1"},
            timeout=0.5,
        )
    assert time.perf_counter() - start < 3
    assert erp_w.get("/products", params={"ids": "P-1001"}).status_code == 200  # reads unaffected
    clean.knobs["erp"].reset()
    log = clean.erp_writes.write_log()
    assert [(e["method"], e["line"], e["idempotency_key"]) for e in log] == [
        ("PATCH", line["id"], "lost-1")
    ]
    stored = line_item(erp_w, line["id"])
    assert stored is not None and stored["quantity"] == "4"
    assert stored["version"] == line["version"] + 1
    assert_totals(erp_w, picks.draft.number)


def test_apply_then_reset_applies_once_and_drops_the_connection(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks
) -> None:
    order = picks.draft.number
    count = len(lines_of(erp_w, order))
    clean.knobs["erp"].update(fault="apply_then_reset", paths=WRITE_PATHS)
    with pytest.raises(httpx.TransportError):
        erp_w.post(f"/orders/{order}/lines", json={"product": picks.listed.sku, "quantity": "2"})
    clean.knobs["erp"].reset()
    assert len(clean.erp_writes.write_log()) == 1
    assert len(lines_of(erp_w, order)) == count + 1
    assert_totals(erp_w, order)


@pytest.mark.parametrize("fault", ["500", "503", "404", "reset", "timeout"])
def test_other_faults_fail_writes_before_applying_them(
    clean: DemoUpstreams, erp_w: httpx.Client, picks: Picks, fault: str
) -> None:
    order = picks.draft.number
    line = lines_of(erp_w, order)[0]
    before = snapshot(erp_w, order)
    clean.knobs["erp"].update(fault=fault, paths=WRITE_PATHS)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        (
            "PATCH",
            f"/order-lines/{line['id']}",
            {"json": {"expected_version": line["version"], "quantity": "4"}},
        ),
        (
            "POST",
            f"/orders/{order}/lines",
            {"json": {"product": picks.listed.sku, "quantity": "1"}},
        ),
        ("DELETE", f"/order-lines/{line['id']}", {"params": {"expected_version": line["version"]}}),
    ]
    for method, path, kwargs in calls:
        if fault in ("reset", "timeout"):
            with pytest.raises(httpx.TransportError):  # ReadTimeout is a TransportError
                erp_w.request(method, path, timeout=0.3, **kwargs)
        else:
            assert erp_w.request(method, path, **kwargs).status_code == int(fault)
    assert erp_w.get("/products", params={"ids": "P-1001"}).status_code == 200  # not a write path
    time.sleep(0.2)  # a held request would have been applied by now if it were going to be
    clean.knobs["erp"].reset()
    assert snapshot(erp_w, order) == before
