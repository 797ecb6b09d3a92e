"""The demo ERP over real HTTP: batch lookups, filters, pagination, limits, error bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from demo.data import DemoDataset
from demo.schemas import (
    CustomerOut,
    InvoiceOut,
    OrderLineOut,
    OrderOut,
    PayableOut,
    ProductOut,
    ProjectOut,
    PurchaseOrderOut,
    SupplierOut,
)

ENVELOPE = {"items", "page", "per_page", "total", "next_page"}


def get(http: httpx.Client, path: str, /, **params: Any) -> dict[str, Any]:
    """GET a list endpoint, assert 200 and the envelope, return the body."""
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == ENVELOPE
    return body


def all_items(http: httpx.Client, path: str, /, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list endpoint, walking ``next_page`` with 500 per page."""
    items: list[dict[str, Any]] = []
    page: int | None = 1
    while page is not None:
        body = get(http, path, page=page, per_page=500, **params)
        items += body["items"]
        page = body["next_page"]
    return items


def test_customers_batch_lookup_skips_unknown(erp: httpx.Client, dataset: DemoDataset) -> None:
    body = get(erp, "/customers", ids="10002,10001,99999,10001")
    assert [c["number"] for c in body["items"]] == ["10001", "10002"]
    assert body["total"] == 2 and body["next_page"] is None
    first = body["items"][0]
    assert first["name"] == "Bjørnstad Ærø AS"
    assert set(first) == set(CustomerOut.model_fields)
    assert first == CustomerOut.model_validate(
        dataset.customers["10001"], from_attributes=True
    ).model_dump(mode="json")
    assert isinstance(first["credit_limit"], str)
    assert Decimal(first["credit_limit"]) == dataset.customers["10001"].credit_limit > 0
    assert isinstance(first["discount_percent"], str)


def test_customer_by_number_and_404(erp: httpx.Client, dataset: DemoDataset) -> None:
    response = erp.get("/customers/10002")
    assert response.status_code == 200
    assert response.json()["name"] == "Müller & Söhne GmbH"
    missing = erp.get("/customers/424242")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "customer 424242 not found"}


def test_pagination_walks_all_customers_in_order(erp: httpx.Client, dataset: DemoDataset) -> None:
    first = get(erp, "/customers")
    assert (first["page"], first["per_page"], first["next_page"]) == (1, 100, 2)
    assert first["total"] == len(dataset.customers)
    numbers = [c["number"] for c in all_items(erp, "/customers")]
    assert numbers == list(dataset.customers)
    past_end = get(erp, "/customers", page=99)
    assert past_end["items"] == [] and past_end["next_page"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 501},
        {"per_page": 0},
        {"page": 0},
        {"page": "x"},
        {"ids": ",".join(str(10001 + i) for i in range(101))},
        {"ids": ""},
    ],
)
def test_limits_give_400_with_json_error(erp: httpx.Client, params: dict[str, Any]) -> None:
    response = erp.get("/customers", params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request" and body["detail"]


def test_exactly_100_ids_and_500_per_page_are_allowed(erp: httpx.Client) -> None:
    ids = ",".join(str(10001 + i) for i in range(100))
    assert get(erp, "/customers", ids=ids, per_page=500)["total"] == 100


def test_unknown_path_and_method_are_json_errors(erp: httpx.Client) -> None:
    response = erp.get("/nothing-here")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = erp.post("/customers")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_suppliers_and_products(erp: httpx.Client, dataset: DemoDataset) -> None:
    sup = get(erp, "/suppliers", ids="70002,70001")["items"]
    assert [s["number"] for s in sup] == ["70001", "70002"]
    assert set(sup[0]) == set(SupplierOut.model_fields)
    products = get(erp, "/products", ids="P-1001,P-1025")["items"]
    assert [p["sku"] for p in products] == ["P-1001", "P-1025"]
    assert set(products[0]) == set(ProductOut.model_fields)
    assert set(products[0]["prices"]) == {"NOK", "DKK", "EUR", "SEK", "PLN"}
    assert {k: Decimal(v) for k, v in products[0]["prices"].items()} == (
        dataset.products["P-1001"].prices
    )
    assert all(isinstance(v, str) for v in products[0]["prices"].values())
    assert get(erp, "/products")["total"] == len(dataset.products)


def test_orders_filters(erp: httpx.Client, dataset: DemoDataset) -> None:
    customer = "10003"
    expected = dataset.orders_by_customer[customer]
    items = all_items(erp, "/orders", customer=customer)
    assert [o["number"] for o in items] == expected
    assert set(items[0]) == set(OrderOut.model_fields)
    not_invoiced = "draft,quoted,confirmed,processing"
    open_items = all_items(erp, "/orders", customer=customer, status=not_invoiced)
    want = [k for k in expected if dataset.orders[k].status in not_invoiced.split(",")]
    assert [o["number"] for o in open_items] == want
    assert {o["status"] for o in open_items} == set(not_invoiced.split(","))
    by_ids = get(erp, "/orders", ids=f"{expected[0]},SO-999999", customer="10001")
    assert by_ids["items"] == []  # AND: the order is not customer 10001's
    bad = erp.get("/orders", params={"status": "shipped"})
    assert bad.status_code == 400 and "shipped" in bad.json()["detail"]


@pytest.mark.parametrize(
    "state", ["draft", "quoted", "confirmed", "processing", "invoiced", "cancelled"]
)
def test_each_order_state_is_served_and_only_a_draft_is_unlocked(
    erp: httpx.Client, dataset: DemoDataset, state: str
) -> None:
    items = all_items(erp, "/orders", status=state)
    want = [k for k, o in dataset.orders.items() if o.status == state]
    assert want and [o["number"] for o in items] == want
    assert {o["locked"] for o in items} == {state != "draft"}


def test_order_lines(erp: httpx.Client, dataset: DemoDataset) -> None:
    orders = list(dataset.orders)[:3]
    items = all_items(erp, "/order-lines", order=",".join(orders))
    expected = [k for o in orders for k in dataset.lines_by_order[o]]
    assert [ln["id"] for ln in items] == expected
    line = items[0]
    assert set(line) == set(OrderLineOut.model_fields)
    assert isinstance(line["version"], int) and isinstance(line["quantity"], str)
    rec = dataset.order_lines[line["id"]]
    assert Decimal(line["amount"]) == rec.amount and line["delivery_date"] == str(rec.delivery_date)


def test_invoices_filters(erp: httpx.Client, dataset: DemoDataset) -> None:
    today = dataset.today
    overdue = all_items(erp, "/invoices", overdue="true")
    want = [k for k, i in dataset.invoices.items() if i.is_overdue(today)]
    assert want and [i["number"] for i in overdue] == want
    assert all(
        i["status"] == "open"
        and i["kind"] == "invoice"
        and Decimal(i["amount_due"]) > 0
        and i["due_date"] < str(today)
        for i in overdue
    )
    item = overdue[0]
    assert set(item) == set(InvoiceOut.model_fields)
    assert Decimal(item["amount_due"]) == Decimal(item["total"]) - Decimal(item["amount_paid"])

    customer = "10003"
    start = today.replace(month=1, day=1)
    this_year = all_items(
        erp, "/invoices", customer=customer, issued_from=str(start), issued_to=str(today)
    )
    expected = [
        k
        for k in dataset.invoices_by_customer[customer]
        if start <= dataset.invoices[k].issue_date <= today
    ]
    assert expected and [i["number"] for i in this_year] == expected
    paid = all_items(erp, "/invoices", customer=customer, status="paid")
    want_paid = [k for k in dataset.invoices_by_customer[customer] if k in _paid(dataset)]
    assert want_paid and [i["number"] for i in paid] == want_paid
    assert all(i["status"] == "paid" and i["payments"] for i in paid)


def _paid(dataset: DemoDataset) -> set[str]:
    return {k for k, i in dataset.invoices.items() if i.status == "paid"}


@pytest.mark.parametrize("state", ["draft", "open", "paid", "cancelled"])
def test_status_selects_exactly_that_state(
    erp: httpx.Client, dataset: DemoDataset, state: str
) -> None:
    # status=open is posted and not settled: never a draft, never a cancelled invoice
    items = all_items(erp, "/invoices", status=state)
    want = [k for k, i in dataset.invoices.items() if i.status == state]
    assert want and [i["number"] for i in items] == want


def test_a_draft_invoice_has_no_due_date_and_its_order_is_processing(
    erp: httpx.Client, dataset: DemoDataset
) -> None:
    drafts = all_items(erp, "/invoices", status="draft")
    assert drafts
    orders = {o["number"]: o for o in all_items(erp, "/orders", status="processing")}
    assert sorted(orders) == sorted(i["order"] for i in drafts)
    for inv in drafts:
        assert inv["due_date"] is None and inv["payments"] == []
        assert inv["amount_due"] == inv["total"] == orders[inv["order"]]["total"]
    assert all_items(erp, "/invoices", status="draft", due_before="2999-01-01") == []


def test_overdue_never_returns_a_credit_note(erp: httpx.Client, dataset: DemoDataset) -> None:
    today = dataset.today
    late_notes = [
        k
        for k, i in dataset.invoices.items()
        if i.kind == "credit_note" and i.status == "open" and i.due_date and i.due_date < today
    ]
    assert late_notes  # open credit notes past their due date exist...
    overdue = {i["number"] for i in all_items(erp, "/invoices", overdue="true")}
    assert overdue and not overdue & set(late_notes)  # ...and none of them is overdue
    not_overdue = {i["number"] for i in all_items(erp, "/invoices", overdue="false")}
    assert set(late_notes) <= not_overdue
    assert overdue | not_overdue == set(dataset.invoices)


def test_kind_separates_credit_notes_from_invoices(erp: httpx.Client, dataset: DemoDataset) -> None:
    notes = all_items(erp, "/invoices", kind="credit_note")
    want = [k for k, i in dataset.invoices.items() if i.kind == "credit_note"]
    assert want and [i["number"] for i in notes] == want
    for note in notes:
        assert Decimal(note["total"]) < 0 and Decimal(note["amount_due"]) <= 0
        assert note["credited_invoice"] in dataset.invoices
    invoices = get(erp, "/invoices", kind="invoice")
    assert invoices["total"] == len(dataset.invoices) - len(want)
    assert erp.get("/invoices", params={"kind": "refund"}).status_code == 400


def test_invoices_by_project_and_ids(erp: httpx.Client, dataset: DemoDataset) -> None:
    project = next(iter(dataset.invoices_by_project))
    items = all_items(erp, "/invoices", project=project)
    assert [i["number"] for i in items] == dataset.invoices_by_project[project]
    some = list(dataset.invoices)[:3]
    assert [i["number"] for i in get(erp, "/invoices", ids=",".join(some))["items"]] == some
    assert erp.get("/invoices", params={"issued_from": "2025-13-01"}).status_code == 400
    assert erp.get("/invoices", params={"status": "late"}).status_code == 400


def test_projects_purchase_orders_payables(erp: httpx.Client, dataset: DemoDataset) -> None:
    customer, numbers = next(iter(dataset.projects_by_customer.items()))
    items = get(erp, "/projects", customer=customer)["items"]
    assert numbers and [p["number"] for p in items] == numbers
    assert set(items[0]) == set(ProjectOut.model_fields)
    assert get(erp, "/projects", ids="PR-3001")["items"][0]["number"] == "PR-3001"

    supplier = "70001"
    pos = all_items(erp, "/purchase-orders", supplier=supplier, status="open,received")
    want_pos = [
        k
        for k in dataset.pos_by_supplier[supplier]
        if dataset.purchase_orders[k].status != "cancelled"
    ]
    assert want_pos and [p["number"] for p in pos] == want_pos
    assert all(p["supplier"] == supplier and p["status"] != "cancelled" for p in pos)
    assert set(pos[0]) == set(PurchaseOrderOut.model_fields)
    payables = all_items(erp, "/payables", status="open")
    want_open = [k for k, p in dataset.payables.items() if p.status == "open"]
    assert want_open and [p["number"] for p in payables] == want_open
    assert all(p["status"] == "open" and p["amount_due"] == p["total"] for p in payables)
    assert set(payables[0]) == set(PayableOut.model_fields)
    mine = all_items(erp, "/payables", supplier=supplier)
    assert [p["number"] for p in mine] == dataset.payables_by_supplier[supplier]
    assert get(erp, "/payables")["total"] == len(dataset.payables)


def test_items_match_schema_models(erp: httpx.Client) -> None:
    models: list[tuple[str, type[BaseModel]]] = [("/invoices", InvoiceOut), ("/orders", OrderOut)]
    for path, model in models:
        items = get(erp, path, per_page=50)["items"]
        assert len(items) == 50
        for item in items:
            model.model_validate(item)


def test_openapi_documents_item_models(erp: httpx.Client) -> None:
    doc = erp.get("/openapi.json").json()
    assert {
        "/customers",
        "/customers/{number}",
        "/orders",
        "/order-lines",
        "/invoices",
        "/projects",
        "/purchase-orders",
        "/payables",
        "/suppliers",
        "/products",
    } <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert "InvoiceOut" in schemas and "Page_InvoiceOut_" in schemas
    assert schemas["InvoiceOut"]["properties"]["total"]["type"] == "string"
    assert "/_knobs" not in doc["paths"]
    assert erp.get("/healthz").json() == {"status": "ok", "system": "erp"}


def test_overdue_false_excludes_overdue(erp: httpx.Client, dataset: DemoDataset) -> None:
    customer = "10003"
    today = dataset.today
    not_overdue = all_items(erp, "/invoices", customer=customer, overdue="false")
    want = [
        k
        for k in dataset.invoices_by_customer[customer]
        if not dataset.invoices[k].is_overdue(today)
    ]
    assert want and [i["number"] for i in not_overdue] == want
    assert all(
        i["status"] != "open"
        or i["kind"] == "credit_note"
        or Decimal(i["amount_due"]) <= 0
        or i["due_date"] >= str(today)
        for i in not_overdue
    )


def test_due_before_keeps_invoices_due_before_the_date(
    erp: httpx.Client, dataset: DemoDataset
) -> None:
    cutoff = dataset.today.replace(day=1)
    found = all_items(erp, "/invoices", status="open", due_before=str(cutoff))
    expected = sorted(
        i.number
        for i in dataset.invoices.values()
        if i.status == "open" and i.due_date is not None and i.due_date < cutoff
    )
    assert expected and [i["number"] for i in found] == expected
    # Keylink's overdue listing (demo/specs/erp.yaml): open invoices, never credit notes
    listed = all_items(erp, "/invoices", status="open", kind="invoice", due_before=str(cutoff))
    assert [i["number"] for i in listed] == [
        k for k in expected if dataset.invoices[k].kind == "invoice"
    ]
    assert len(listed) < len(found)  # the open credit notes due before it are left out
