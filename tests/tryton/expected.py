"""Expected figures computed from Tryton's own rows (read by tests.support.tryton's client),
never through Keylink."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.support.tryton import TrytonServer

OPEN_SALE_STATES = frozenset({"draft", "quotation", "confirmed"})


def by_currency(pairs: list[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Amounts added up per currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in pairs:
        totals[currency] += amount
    return dict(totals)


def money_map(value: list[dict[str, Any]] | None) -> dict[str, Decimal]:
    """A GraphQL ``[Money!]`` as currency -> Decimal (null and [] both read as {})."""
    return {m["currency"]: Decimal(m["amount"]) for m in value or []}


def _hours(rows: list[dict[str, Any]]) -> Decimal:
    seconds = sum((Decimal(str(r["duration"].total_seconds())) for r in rows), Decimal(0))
    return seconds / 3600


def party_hours(tryton: TrytonServer, code: str, since: date | None = None) -> Decimal:
    """Hours logged on the projects (and their tasks) of party ``code``, from ``since``."""
    projects = tryton.search_read(
        "project.work", [["type", "=", "project"], ["party.code", "=", code]], ["id"]
    )
    return project_hours(tryton, [p["id"] for p in projects], since)


def unbilled_hours(tryton: TrytonServer, code: str) -> Decimal:
    """Billable hours not yet invoiced of party ``code`` as Tryton's project_invoice
    records them: hours of projects invoiced on timesheet whose lines no invoice line
    holds yet (other projects' hours are not billed by the hour)."""
    projects = tryton.search_read(
        "project.work",
        [
            ["type", "=", "project"],
            ["party.code", "=", code],
            ["project_invoice_method", "=", "timesheet"],
        ],
        ["id"],
    )
    return project_hours(tryton, [p["id"] for p in projects], uninvoiced=True)


def project_hours(
    tryton: TrytonServer,
    project_ids: list[int],
    since: date | None = None,
    *,
    uninvoiced: bool = False,
) -> Decimal:
    """Hours logged on the projects ``project_ids`` and their tasks, from ``since``."""
    if not project_ids:
        return Decimal(0)
    works = tryton.search_read(
        "project.work", [["parent", "child_of", project_ids]], ["timesheet_works"]
    )
    timesheet_works = [w for work in works for w in work["timesheet_works"]]
    domain: list[Any] = [["work", "in", timesheet_works]]
    if uninvoiced:
        domain.append(["invoice_line", "=", None])
    lines = tryton.search_read("timesheet.line", domain, ["date", "duration"])
    return _hours([r for r in lines if since is None or r["date"] >= since])


def sale_status(sale: dict[str, Any]) -> str:
    """The status FIGURES.md gives a Tryton sale read with ``state`` and ``invoices.state``:
    a quotation is QUOTED; a processing or done sale is INVOICED once one of its invoices
    is posted or paid (every sale here is invoiced on order, all at once), else
    CONFIRMED."""
    issued = any(i["state"] in ("posted", "paid") for i in sale.get("invoices.") or [])
    if sale["state"] in ("processing", "done"):
        return "INVOICED" if issued else "CONFIRMED"
    return {
        "draft": "DRAFT",
        "quotation": "QUOTED",
        "confirmed": "CONFIRMED",
        "cancelled": "CANCELLED",
    }[sale["state"]]


def overview(tryton: TrytonServer, code: str, today: date) -> dict[str, Any]:
    """The financial overview of party ``code`` as Tryton's rows give it."""
    invoices = tryton.search_read(
        "account.invoice",
        [["type", "=", "out"], ["party.code", "=", code], ["state", "in", ["posted", "paid"]]],
        [
            "state",
            "invoice_date",
            "untaxed_amount",
            "amount_to_pay",
            "currency.code",
            "total_amount",
            "lines_to_pay.maturity_date",
            "lines_to_pay.reconciliation",
        ],
    )
    posted = [i for i in invoices if i["state"] == "posted"]

    def overdue(invoice: dict[str, Any]) -> bool:
        # FIGURES.md: open, not a credit note, something still due, and the earliest
        # unpaid due date before today (no due date: never overdue)
        dates = [
            line["maturity_date"]
            for line in invoice["lines_to_pay."]
            if line["reconciliation"] is None and line["maturity_date"] is not None
        ]
        return (
            invoice["total_amount"] > 0
            and invoice["amount_to_pay"] > 0
            and bool(dates)
            and min(dates) < today
        )

    def currency(row: dict[str, Any]) -> str:
        return str(row["currency."]["code"])

    last_year = (
        today.replace(year=today.year - 1)
        if not (today.month == 2 and today.day == 29)
        else today - timedelta(days=366)
    )
    sales = tryton.search_read(
        "sale.sale",
        [["party.code", "=", code]],
        ["state", "total_amount", "currency.code", "invoices.state"],
    )
    # FIGURES.md: an order stays open until one of its invoices is issued (posted or paid);
    # every sale here is invoiced on order, so one issued invoice invoices all of it
    open_sales = [
        s
        for s in sales
        if s["state"] in OPEN_SALE_STATES
        or (
            s["state"] in ("processing", "done")
            and not any(i["state"] in ("posted", "paid") for i in s["invoices."])
        )
    ]
    return {
        "openBalance": by_currency([(currency(i), i["amount_to_pay"]) for i in posted]),
        "overdueAmount": by_currency(
            [(currency(i), i["amount_to_pay"]) for i in posted if overdue(i)]
        ),
        "overdueCount": sum(1 for i in posted if overdue(i)),
        "revenueYearToDate": by_currency(
            [
                (currency(i), i["untaxed_amount"])
                for i in invoices
                if date(today.year, 1, 1) <= i["invoice_date"] <= today
            ]
        ),
        "revenueSamePeriodLastYear": by_currency(
            [
                (currency(i), i["untaxed_amount"])
                for i in invoices
                if date(today.year - 1, 1, 1) <= i["invoice_date"] <= last_year
            ]
        ),
        "openOrdersValue": by_currency([(currency(s), s["total_amount"]) for s in open_sales]),
        "hoursThisMonth": party_hours(tryton, code, today.replace(day=1)),
        "unbilledHours": unbilled_hours(tryton, code),
    }
