"""What the embed page should show, computed here from the GraphQL answer by FIGURES.md's
definitions (independently of the page's own script), and readers of what it does show."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

ANSWER = """
query Expected($system: String!, $key: String!) {
  customer(system: $system, key: $key) {
    account { name }
    financialOverview { asOf openBalance { amount currency } overdueAmount { amount currency }
      overdueCount revenueYearToDate { amount currency }
      revenueSamePeriodLastYear { amount currency } openOrdersValue { amount currency }
      creditLimit { amount currency } creditAvailable { amount currency }
      hoursThisMonth unbilledHours }
    invoices { issueDate dueDate status totalUntaxed { amount currency }
      amountDue { amount currency } }
    orders(status: [DRAFT, QUOTED, CONFIRMED]) { key number status total { amount currency }
      lines { key quantity discountPercent deliveryDate version amount { amount currency } } }
    projects { keys { system key } hours { total billable unbilled } }
  }
}
"""

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def bucket(invoice: dict[str, Any], today: date) -> str:
    """The aging bucket of an open invoice: overdue ones by days past their due date."""
    if invoice["status"] != "OVERDUE":
        return "current"
    days = (today - date.fromisoformat(invoice["dueDate"])).days
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    return "61-90" if days <= 90 else "90+"


def aging(invoices: list[dict[str, Any]], today: date) -> dict[str, dict[str, Decimal]]:
    """currency -> bucket -> amount due on open invoices (credit notes included, never
    overdue), every bucket present."""
    out: dict[str, dict[str, Decimal]] = {}
    for invoice in invoices:
        if invoice["status"] not in ("OPEN", "OVERDUE"):
            continue
        due = invoice["amountDue"]
        buckets = out.setdefault(due["currency"], dict.fromkeys(BUCKETS, Decimal(0)))
        buckets[bucket(invoice, today)] += Decimal(due["amount"])
    return out


def revenue_by_month(
    invoices: list[dict[str, Any]], today: date
) -> dict[tuple[str, int, int], Decimal]:
    """(currency, year, month) -> untaxed revenue of issued invoices (credit notes lower it)
    dated up to today, for this year and last year."""
    out: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        issued = date.fromisoformat(invoice["issueDate"])
        if invoice["status"] not in ("OPEN", "OVERDUE", "PAID") or issued > today:
            continue
        if issued.year not in (today.year, today.year - 1):
            continue
        money = invoice["totalUntaxed"]
        out[(money["currency"], issued.year, issued.month)] += Decimal(money["amount"])
    return out


def digits(text: str) -> str:
    """The digits of a formatted number, sign kept (the locale's separators dropped)."""
    sign = "-" if re.search(r"[-−]", text) else ""
    return sign + re.sub(r"[^0-9]", "", text)


def amount_digits(amount: str) -> str:
    """The digits of a decimal string as a page shows them (2 decimals for money)."""
    value = Decimal(amount).quantize(Decimal("0.01"))
    return ("-" if value < 0 else "") + re.sub(r"[^0-9]", "", str(abs(value)))
