"""The meanings of ``../shared/FIGURES.md`` on the demo ERP over the declarative REST
adapter, on the awkward documents the demo ERP makes by its own rules (demo/API.md):
credit notes (open ones past their due date too), a processing order whose invoice is
still a draft, quotations, cancelled orders and invoices, and call-off orders of one day
numbered past 9.

Each test states what the figure means to its reader and checks Keylink's answer
against the ERP's raw JSON, read with plain HTTP (``tests/e2e/expected.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.records import DemoDataset, Invoice, SalesOrder
from demo.runner import DemoUpstreams
from tests.conftest import graphql
from tests.e2e.expected import (
    expected_overview,
    fetch_all,
    is_open,
    is_overdue,
    money_list,
    open_orders,
)
from tests.e2e.queries import OVERVIEW_FIELDS

CUSTOMER = """
query($key: String!) {
  customer(system: "erp", key: $key) {
    invoices { key number status isCreditNote dueDate
               total { amount currency } amountDue { amount currency } }
    openInvoices: invoices(status: OPEN) { key status }
    overdueInvoices: invoices(status: OVERDUE) { key }
    orders { key number status statusRaw orderDate total { amount currency } }
    financialOverview { OVERVIEW }
  }
}
""".replace("OVERVIEW", OVERVIEW_FIELDS)


def linked_erp_customers(data: DemoDataset) -> list[str]:
    """ERP numbers of the customers in the link map, in link-list order."""
    return [
        link.keys["erp"][0]
        for link in demo_links(data)
        if link.kind == "customer" and "erp" in link.keys
    ]


def customer_with(data: DemoDataset, wanted: Callable[[str], bool], what: str) -> str:
    """The first linked ERP customer for which ``wanted`` holds; fails (never skips) when
    the demo data holds none."""
    found = next((key for key in linked_erp_customers(data) if wanted(key)), None)
    assert found is not None, f"the demo data has no linked customer with {what}"
    return found


def invoices_of(data: DemoDataset, customer: str) -> list[Invoice]:
    return [data.invoices[k] for k in data.invoices_by_customer.get(customer, [])]


def orders_of(data: DemoDataset, customer: str) -> list[SalesOrder]:
    return [data.orders[k] for k in data.orders_by_customer.get(customer, [])]


def late_open_credit_note(data: DemoDataset, customer: str) -> bool:
    return any(
        i.kind == "credit_note" and i.status == "open" and i.due_date and i.due_date < data.today
        for i in invoices_of(data, customer)
    )


@pytest.fixture(scope="module")
def erp_client(live_upstreams: DemoUpstreams) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_upstreams.urls["erp"], timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def ts_client(live_upstreams: DemoUpstreams) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_upstreams.urls["timesheet"], timeout=10) as client:
        yield client


async def read_customer(gateway: httpx.AsyncClient, erp_key: str) -> dict[str, Any]:
    body = await graphql(gateway, CUSTOMER, {"key": erp_key})
    assert "errors" not in body, body["errors"]
    customer: dict[str, Any] = body["data"]["customer"]
    assert customer is not None
    return customer


def ts_key_of(data: DemoDataset, erp_key: str) -> str | None:
    for link in demo_links(data):
        if link.kind == "customer" and link.keys.get("erp") == [erp_key]:
            return link.keys.get("timesheet", [None])[0]
    raise AssertionError(f"customer {erp_key} is not linked")


def check_overview(
    customer: dict[str, Any],
    erp: httpx.Client,
    ts: httpx.Client,
    data: DemoDataset,
    erp_key: str,
) -> None:
    """The whole overview equals the one computed from the raw JSON."""
    today = date.fromisoformat(customer["financialOverview"]["asOf"])
    want = expected_overview(erp, ts, erp_key, ts_key_of(data, erp_key), today)
    got = dict(customer["financialOverview"])
    for hours in ("hoursThisMonth", "unbilledHours"):
        got[hours] = Decimal(str(got[hours]))
    assert got == want


async def test_a_credit_note_is_never_overdue_and_lowers_the_open_balance(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    erp_client: httpx.Client,
    ts_client: httpx.Client,
) -> None:
    # An accountant reads the open balance as what the customer still owes: a credit
    # note not yet refunded lowers it. Its due date passing does not make the customer
    # late: a credit note is never overdue.
    data = live_upstreams.dataset
    erp_key = customer_with(
        data, lambda k: late_open_credit_note(data, k), "an open credit note past due"
    )
    raw = fetch_all(erp_client, "/invoices", customer=erp_key)
    notes = [
        i
        for i in raw
        if Decimal(i["total"]) < 0 and i["status"] == "open" and i["due_date"] < str(data.today)
    ]
    assert notes
    customer = await read_customer(gateway, erp_key)
    listed = {i["key"]: i for i in customer["invoices"]}
    for note in notes:
        shown = listed[note["number"]]
        assert shown["number"] == note["number"]
        assert shown["isCreditNote"] is True
        assert shown["dueDate"] == note["due_date"] < customer["financialOverview"]["asOf"]
        assert shown["status"] == "OPEN"  # past its due date, yet not overdue
        assert Decimal(shown["amountDue"]["amount"]) == Decimal(note["amount_due"]) < 0
    assert {i["key"] for i in customer["openInvoices"]} >= {n["number"] for n in notes}
    assert not {i["key"] for i in customer["overdueInvoices"]} & {n["number"] for n in notes}

    overview = customer["financialOverview"]
    today = date.fromisoformat(overview["asOf"])
    invoices_only: dict[str, Decimal] = {}
    with_notes: dict[str, Decimal] = {}
    for inv in raw:
        if is_open(inv):
            target = [with_notes] if Decimal(inv["total"]) < 0 else [with_notes, invoices_only]
            for totals in target:
                totals[inv["currency"]] = totals.get(inv["currency"], Decimal(0)) + Decimal(
                    inv["amount_due"]
                )
    assert overview["openBalance"] == money_list(with_notes)
    currency = notes[0]["currency"]
    assert with_notes[currency] < invoices_only.get(currency, Decimal(0))  # lowered by them
    overdue = [i for i in raw if is_overdue(i, today)]
    assert overview["overdueCount"] == len(overdue)
    assert {i["key"] for i in customer["overdueInvoices"]} == {i["number"] for i in overdue}
    check_overview(customer, erp_client, ts_client, data, erp_key)


async def test_revenue_is_issued_invoices_minus_credit_notes_never_drafts(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams, erp_client: httpx.Client
) -> None:
    # Revenue this year: what was invoiced to the customer from 1 January to today, less
    # what was credited back in that period; an invoice still a draft (or cancelled) was
    # never sent to the customer and is no revenue.
    data = live_upstreams.dataset
    start = data.today.replace(month=1, day=1)

    def this_year(customer: str, wanted: Callable[[Invoice], bool]) -> bool:
        return any(wanted(i) and i.issue_date >= start for i in invoices_of(data, customer))

    def credited(customer: str) -> bool:
        return this_year(customer, lambda i: i.kind == "credit_note" and i.is_posted)

    candidates = [k for k in linked_erp_customers(data) if credited(k)]
    assert candidates, "the demo data has no linked customer with a credit note this year"
    # the most telling one: with a draft or cancelled invoice this year as well, if any
    erp_key = max(
        candidates, key=lambda k: this_year(k, lambda i: i.status in ("draft", "cancelled"))
    )
    raw = fetch_all(
        erp_client, "/invoices", customer=erp_key, issued_from=str(start), issued_to=str(data.today)
    )
    issued = [i for i in raw if i["status"] in ("open", "paid")]
    gross: dict[str, Decimal] = {}
    net: dict[str, Decimal] = {}
    for inv in issued:
        for totals in [net] if Decimal(inv["total"]) < 0 else [net, gross]:
            totals[inv["currency"]] = totals.get(inv["currency"], Decimal(0)) + Decimal(
                inv["total_untaxed"]
            )
    assert net != gross  # the credit notes make a difference...
    customer = await read_customer(gateway, erp_key)
    assert customer["financialOverview"]["revenueYearToDate"] == money_list(net)  # subtracted


async def test_a_processing_order_whose_invoice_is_a_draft_is_confirmed_and_counted_open(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    erp_client: httpx.Client,
    ts_client: httpx.Client,
) -> None:
    # The ERP has drawn up the invoice but not posted it: the customer has not been
    # invoiced. The order is CONFIRMED (the raw state beside it), its value is still open,
    # and the draft invoice is in no figure.
    data = live_upstreams.dataset
    erp_key = customer_with(
        data,
        lambda k: any(o.status == "processing" for o in orders_of(data, k)),
        "a processing order",
    )
    orders = fetch_all(erp_client, "/orders", customer=erp_key)
    invoices = fetch_all(erp_client, "/invoices", customer=erp_key)
    processing = [o for o in orders if o["status"] == "processing"]
    drafts = {i["order"]: i for i in invoices if i["status"] == "draft"}
    assert processing and sorted(drafts) == sorted(o["number"] for o in processing)

    customer = await read_customer(gateway, erp_key)
    shown = {o["key"]: o for o in customer["orders"]}
    for order in processing:
        assert (shown[order["number"]]["status"], shown[order["number"]]["statusRaw"]) == (
            "CONFIRMED",
            "processing",
        )
        assert shown[order["number"]]["number"] == order["number"]
        draft = drafts[order["number"]]
        listed = next(i for i in customer["invoices"] if i["key"] == draft["number"])
        assert (listed["status"], listed["dueDate"]) == ("DRAFT", None)
        assert draft["number"] not in {i["key"] for i in customer["openInvoices"]}

    overview = customer["financialOverview"]
    want: dict[str, Decimal] = {}
    for order in open_orders(orders, invoices):
        want[order["currency"]] = want.get(order["currency"], Decimal(0)) + Decimal(order["total"])
    assert overview["openOrdersValue"] == money_list(want)
    # ...in which the processing orders (positive totals) count
    assert {o["number"] for o in processing} <= {o["number"] for o in open_orders(orders, invoices)}
    check_overview(customer, erp_client, ts_client, data, erp_key)


async def test_a_quoted_order_is_quoted_and_counted_open(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams, erp_client: httpx.Client
) -> None:
    data = live_upstreams.dataset
    erp_key = customer_with(
        data, lambda k: any(o.status == "quoted" for o in orders_of(data, k)), "a quotation"
    )
    orders = fetch_all(erp_client, "/orders", customer=erp_key)
    invoices = fetch_all(erp_client, "/invoices", customer=erp_key)
    quoted = sorted(o["number"] for o in orders if o["status"] == "quoted")
    assert quoted
    body = await graphql(
        gateway,
        """query($key: String!) { customer(system: "erp", key: $key) {
             quoted: orders(status: [QUOTED]) { key status statusRaw }
             financialOverview { openOrdersValue { amount currency } } } }""",
        {"key": erp_key},
    )
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customer"]
    assert sorted(o["key"] for o in customer["quoted"]) == quoted
    assert {(o["status"], o["statusRaw"]) for o in customer["quoted"]} == {("QUOTED", "quoted")}
    want: dict[str, Decimal] = {}
    for order in open_orders(orders, invoices):
        want[order["currency"]] = want.get(order["currency"], Decimal(0)) + Decimal(order["total"])
    assert customer["financialOverview"]["openOrdersValue"] == money_list(want)
    assert set(quoted) <= {o["number"] for o in open_orders(orders, invoices)}


async def test_a_cancelled_order_or_invoice_counts_in_no_figure(
    gateway: httpx.AsyncClient,
    live_upstreams: DemoUpstreams,
    erp_client: httpx.Client,
    ts_client: httpx.Client,
) -> None:
    data = live_upstreams.dataset
    with_order = customer_with(
        data,
        lambda k: any(o.status == "cancelled" for o in orders_of(data, k)),
        "a cancelled order",
    )
    with_invoice = customer_with(
        data,
        lambda k: any(i.status == "cancelled" for i in invoices_of(data, k)),
        "a cancelled invoice",
    )
    for erp_key in (with_order, with_invoice):
        customer = await read_customer(gateway, erp_key)
        cancelled_orders = {o.number for o in orders_of(data, erp_key) if o.status == "cancelled"}
        cancelled_invoices = {
            i.number for i in invoices_of(data, erp_key) if i.status == "cancelled"
        }
        assert {o["key"] for o in customer["orders"] if o["status"] == "CANCELLED"} == (
            cancelled_orders
        )
        assert {i["key"] for i in customer["invoices"] if i["status"] == "CANCELLED"} == (
            cancelled_invoices
        )
        assert not {i["key"] for i in customer["openInvoices"]} & cancelled_invoices
        check_overview(customer, erp_client, ts_client, data, erp_key)


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """``text`` as people order numbers: digit runs by value ("9" before "10")."""
    return tuple(
        (1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text) if part
    )


async def test_orders_of_one_day_come_newest_first_by_their_number_in_natural_order(
    gateway: httpx.AsyncClient, live_upstreams: DemoUpstreams, erp_client: httpx.Client
) -> None:
    # A framework customer's call-offs of one day are numbered CO-<customer>-1.. : the
    # list is newest first, and within the day by number as people read it, so
    # CO-..-10 comes right before CO-..-9 (as text, "10" would sort below "9").
    data = live_upstreams.dataset

    def crosses_nine(customer: str) -> bool:
        return any(
            o.number == f"CO-{customer}-10"
            and data.orders.get(f"CO-{customer}-9", o).order_date == o.order_date
            for o in orders_of(data, customer)
        )

    erp_key = customer_with(data, crosses_nine, "call-offs CO-..-9 and CO-..-10 of one day")
    raw = fetch_all(erp_client, "/orders", customer=erp_key)
    day = next(o["order_date"] for o in raw if o["number"] == f"CO-{erp_key}-10")
    same_day = [o["number"] for o in raw if o["order_date"] == day]
    assert len(same_day) >= 10

    customer = await read_customer(gateway, erp_key)
    listed = customer["orders"]
    want = sorted(raw, key=lambda o: (o["order_date"], natural(o["number"])), reverse=True)
    assert [o["key"] for o in listed] == [o["number"] for o in want]
    of_the_day = [o["number"] for o in listed if o["orderDate"] == day]
    assert of_the_day == sorted(same_day, key=natural, reverse=True)
    ten = of_the_day.index(f"CO-{erp_key}-10")
    assert of_the_day[ten + 1] == f"CO-{erp_key}-9"
    assert [o["number"] for o in listed] == [o["key"] for o in listed]
    dates = [o["orderDate"] for o in listed]
    assert dates == sorted(dates, reverse=True)
