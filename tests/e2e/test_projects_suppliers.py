"""Projects (budget vs actual, hours by employee) and suppliers, checked against raw data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx

from demo.links import demo_links
from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.expected import add, fetch_all, in_revenue, money_list

PROJECT = """
query($key: String!) {
  project(system: "erp", key: $key) {
    id
    keys { system key }
    erp { name status budget { amount currency } }
    timesheet { key name }
    customer { keys { system key } }
    budget { amount currency }
    actualCost { amount currency }
    actualRevenue { amount currency }
    hours { total billable byEmployee { employee hours } }
    invoices { key }
  }
}
"""

SUPPLIER = """
query($key: String!) {
  supplier(system: "erp", key: $key) {
    erp { name currency }
    openPurchaseOrders { key status total { amount currency } }
    openPayables { key amountDue { amount currency } }
    payablesDue { amount currency }
  }
}
"""


async def test_project_budget_vs_actual(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams
) -> None:
    data = live_upstreams.dataset

    def credited(project: str) -> bool:
        # a project whose invoices include a credit note: it lowers the actual revenue
        return any(
            data.invoices[k].kind == "credit_note" and data.invoices[k].status != "draft"
            for k in data.invoices_by_project.get(project, [])
        )

    link = next(
        link
        for link in demo_links(data)
        if link.kind == "project"
        and {"erp", "timesheet"} <= set(link.keys)
        and credited(link.keys["erp"][0])
    )
    erp_key, ts_key = link.keys["erp"][0], link.keys["timesheet"][0]
    with (
        httpx.Client(base_url=live_upstreams.urls["erp"]) as erp,
        httpx.Client(base_url=live_upstreams.urls["timesheet"]) as ts,
    ):
        raw = erp.get("/projects", params={"ids": erp_key}).json()["items"][0]
        invoices = fetch_all(erp, "/invoices", project=erp_key)
        entries = fetch_all(ts, "/entries", project=ts_key)
    cost: dict[str, Decimal] = {}
    revenue: dict[str, Decimal] = {}
    per_employee: dict[str, Decimal] = {}
    for entry in entries:
        add(cost, entry["currency"], entry["cost_amount"])
        per_employee[entry["employee"]] = per_employee.get(entry["employee"], Decimal(0)) + Decimal(
            entry["hours"]
        )
    for invoice in invoices:
        if in_revenue(invoice, date.min, date.max):  # issued (posted), whenever
            add(revenue, invoice["currency"], invoice["total_untaxed"])
    assert entries and per_employee and any(Decimal(i["total"]) < 0 for i in invoices)

    body = await graphql(gateway, PROJECT, {"key": erp_key})
    assert "errors" not in body, body
    project = body["data"]["project"]
    assert project["budget"] == {"amount": raw["budget"], "currency": raw["currency"]}
    assert project["erp"]["name"] == raw["name"]
    assert project["timesheet"]["key"] == ts_key
    assert project["actualCost"] == money_list(cost)
    assert project["actualRevenue"] == money_list(revenue)
    assert {
        e["employee"]: Decimal(e["hours"]) for e in project["hours"]["byEmployee"]
    } == per_employee
    assert Decimal(project["hours"]["total"]) == sum(per_employee.values(), Decimal(0))
    assert sorted(i["key"] for i in project["invoices"]) == sorted(i["number"] for i in invoices)
    assert {"system": "erp", "key": raw["customer"]} in project["customer"]["keys"]


async def test_supplier_open_orders_and_payables(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams
) -> None:
    data = live_upstreams.dataset
    key = next(
        k
        for k, pays in data.payables_by_supplier.items()
        if any(data.payables[p].status == "open" for p in pays)
        and any(data.purchase_orders[o].status == "open" for o in data.pos_by_supplier.get(k, []))
    )
    with httpx.Client(base_url=live_upstreams.urls["erp"]) as erp:
        orders = fetch_all(erp, "/purchase-orders", supplier=key, status="open")
        payables = fetch_all(erp, "/payables", supplier=key, status="open")
    assert orders and payables
    due: dict[str, Decimal] = {}
    for payable in payables:
        add(due, payable["currency"], payable["amount_due"])

    body = await graphql(gateway, SUPPLIER, {"key": key})
    assert "errors" not in body, body
    supplier = body["data"]["supplier"]
    assert supplier["erp"]["name"] == data.suppliers[key].name
    assert sorted(o["key"] for o in supplier["openPurchaseOrders"]) == sorted(
        o["number"] for o in orders
    )
    assert {o["status"] for o in supplier["openPurchaseOrders"]} == {"OPEN"}
    assert sorted(p["key"] for p in supplier["openPayables"]) == sorted(
        p["number"] for p in payables
    )
    assert supplier["payablesDue"] == money_list(due)


async def test_customer_lists_invoices_orders_lines_and_projects(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams
) -> None:
    data = live_upstreams.dataset

    def has_everything(erp_key: str) -> bool:
        invoices = [data.invoices[k] for k in data.invoices_by_customer.get(erp_key, [])]
        states = {data.orders[k].status for k in data.orders_by_customer.get(erp_key, [])}
        return (
            bool(data.projects_by_customer.get(erp_key))
            and any(i.is_overdue(data.today) for i in invoices)
            and any(i.status == "paid" for i in invoices)
            and {"draft", "confirmed"} <= states
            and bool(states - {"draft", "quoted", "confirmed", "processing"})
        )

    linked = [
        link.keys["erp"][0]
        for link in demo_links(data)
        if link.kind == "customer" and "erp" in link.keys
    ]
    erp_key = next(k for k in linked if has_everything(k))
    query = """
    query($key: String!) {
      customer(system: "erp", key: $key) {
        overdue: invoices(status: OVERDUE) { key status dueDate }
        paid: invoices(status: PAID) { key status }
        all: invoices { key }
        open: orders(status: [DRAFT, QUOTED, CONFIRMED]) {
          key status lines { key version amount { amount } }
        }
        projects { keys { system key } erp { key } }
        hours(from: "2020-01-01", to: "2100-01-01") { total }
      }
    }"""
    body = await graphql(gateway, query, {"key": erp_key})
    assert "errors" not in body, body
    customer = body["data"]["customer"]
    invoice_keys = data.invoices_by_customer[erp_key]
    assert sorted(i["key"] for i in customer["all"]) == sorted(invoice_keys)
    overdue = [k for k in invoice_keys if data.invoices[k].is_overdue(data.today)]
    assert overdue and sorted(i["key"] for i in customer["overdue"]) == sorted(overdue)
    assert {i["status"] for i in customer["overdue"]} == {"OVERDUE"}
    assert all(i["dueDate"] < data.today.isoformat() for i in customer["overdue"])
    paid = [k for k in invoice_keys if data.invoices[k].status == "paid"]
    assert paid and sorted(i["key"] for i in customer["paid"]) == sorted(paid)
    assert {i["status"] for i in customer["paid"]} == {"PAID"}
    open_orders = [
        k
        for k in data.orders_by_customer[erp_key]
        if data.orders[k].status in ("draft", "quoted", "confirmed", "processing")
    ]
    assert open_orders and sorted(o["key"] for o in customer["open"]) == sorted(open_orders)
    for order in customer["open"]:
        assert order["lines"] and sorted(line["key"] for line in order["lines"]) == sorted(
            data.lines_by_order[order["key"]]
        )
    assert sorted(p["erp"]["key"] for p in customer["projects"]) == sorted(
        data.projects_by_customer[erp_key]
    )
