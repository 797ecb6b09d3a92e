"""The naive baseline for bench/overview.py: a customer financial overview computed by
calling the demo upstreams directly, one customer at a time, one request after another.

Per customer (plus pages past the first): the ERP customer, its open invoices, its invoices
issued since 1 January of last year, its open orders, the CRM account and the timesheet
client's time entries. The figures follow the definitions of Keylink's ``FinancialOverview``
(``tests/e2e/expected.py`` derives them the same way), so the bench can also check that
Keylink and the baseline agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

PAGE_SIZE = 500


@dataclass
class NaiveRun:
    """The overviews (in the order asked for) and the requests this run sent."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0


def _fetch_all(http: httpx.Client, path: str, run: NaiveRun, **params: str) -> list[Any]:
    items: list[Any] = []
    page = 1
    while True:
        response = http.get(path, params={**params, "page": str(page), "per_page": str(PAGE_SIZE)})
        run.requests += 1
        response.raise_for_status()
        body = response.json()
        items.extend(body["items"])
        if not body.get("next_page"):
            return items
        page += 1


def _money(totals: dict[str, Decimal]) -> list[dict[str, str]]:
    return [{"amount": str(totals[c]), "currency": c} for c in sorted(totals)]


def _add(totals: dict[str, Decimal], currency: str, amount: str) -> None:
    totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)


def _same_day_last_year(today: date) -> date:
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def naive_overview(
    urls: dict[str, str], customers: list[dict[str, str]], today: date, timeout: float = 30.0
) -> NaiveRun:
    """Overviews of ``customers`` ({"erp": .., "crm": .., "timesheet": ..} each), sequentially.

    ``urls`` holds the base URL of "erp", "crm" and "timesheet".
    """
    run = NaiveRun()
    year_start = date(today.year, 1, 1)
    last_year_start = date(today.year - 1, 1, 1)
    last_year_today = _same_day_last_year(today)
    month_start = today.replace(day=1)
    with (
        httpx.Client(base_url=urls["erp"], timeout=timeout) as erp,
        httpx.Client(base_url=urls["crm"], timeout=timeout) as crm,
        httpx.Client(base_url=urls["timesheet"], timeout=timeout) as ts,
    ):
        for keys in customers:
            response = erp.get(f"/customers/{keys['erp']}")
            run.requests += 1
            response.raise_for_status()
            customer = response.json()
            open_invoices = _fetch_all(erp, "/invoices", run, customer=keys["erp"], status="open")
            recent_invoices = _fetch_all(
                erp,
                "/invoices",
                run,
                customer=keys["erp"],
                issued_from=last_year_start.isoformat(),
                issued_to=today.isoformat(),
            )
            orders = _fetch_all(
                erp,
                "/orders",
                run,
                customer=keys["erp"],
                status="draft,quoted,confirmed,processing",
            )
            accounts = _fetch_all(crm, "/accounts", run, ids=keys["crm"]) if "crm" in keys else []
            entries = (
                _fetch_all(ts, "/entries", run, client=keys["timesheet"])
                if "timesheet" in keys
                else []
            )

            open_balance: dict[str, Decimal] = {}
            overdue: dict[str, Decimal] = {}
            overdue_count = 0
            for inv in open_invoices:
                _add(open_balance, inv["currency"], inv["amount_due"])
                # a credit note (negative total) is never overdue; nor is nothing due
                if (
                    Decimal(inv["total"]) > 0
                    and Decimal(inv["amount_due"]) > 0
                    and inv.get("due_date")
                    and date.fromisoformat(inv["due_date"]) < today
                ):
                    _add(overdue, inv["currency"], inv["amount_due"])
                    overdue_count += 1
            ytd: dict[str, Decimal] = {}
            last: dict[str, Decimal] = {}
            for inv in recent_invoices:
                if inv["status"] not in ("open", "paid"):  # drafts and cancelled: no revenue
                    continue
                issued = date.fromisoformat(inv["issue_date"])
                if year_start <= issued <= today:
                    _add(ytd, inv["currency"], inv["total_untaxed"])
                if last_year_start <= issued <= last_year_today:
                    _add(last, inv["currency"], inv["total_untaxed"])
            open_orders: dict[str, Decimal] = {}
            for order in orders:
                _add(open_orders, order["currency"], order["total"])
            currency = customer["currency"]
            available = None
            if set(open_balance) | set(open_orders) <= {currency}:
                used = open_balance.get(currency, Decimal(0)) + open_orders.get(
                    currency, Decimal(0)
                )
                available = {
                    "amount": str(Decimal(customer["credit_limit"]) - used),
                    "currency": currency,
                }
            hours_month = sum(
                (
                    Decimal(e["hours"])
                    for e in entries
                    if month_start <= date.fromisoformat(e["date"]) <= today
                ),
                Decimal(0),
            )
            unbilled = sum(
                (Decimal(e["hours"]) for e in entries if e["billable"] and not e["invoiced"]),
                Decimal(0),
            )
            account = accounts[0] if accounts else None
            run.rows.append(
                {
                    "account": {"name": account["name"], "segment": account["segment"]}
                    if account
                    else None,
                    "erp": {
                        "name": customer["name"],
                        "creditLimit": {"amount": customer["credit_limit"], "currency": currency},
                    },
                    "financialOverview": {
                        "asOf": today.isoformat(),
                        "openBalance": _money(open_balance),
                        "overdueAmount": _money(overdue),
                        "overdueCount": overdue_count,
                        "revenueYearToDate": _money(ytd),
                        "revenueSamePeriodLastYear": _money(last),
                        "openOrdersValue": _money(open_orders),
                        "creditLimit": {"amount": customer["credit_limit"], "currency": currency},
                        "creditAvailable": available,
                        "hoursThisMonth": str(hours_month),
                        "unbilledHours": str(unbilled),
                    },
                }
            )
    return run


def _canonical(value: Any) -> Any:
    """Numbers and decimal strings as Decimal, so "200.00" == "200.0" == 200."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def differences(naive_rows: list[dict[str, Any]], keylink_rows: list[Any]) -> list[str]:
    """Where Keylink's ``customersByKey`` rows disagree with the baseline (field paths)."""
    problems: list[str] = []
    if len(naive_rows) != len(keylink_rows):
        return [f"row count: naive {len(naive_rows)}, keylink {len(keylink_rows)}"]
    for index, (mine, theirs) in enumerate(zip(naive_rows, keylink_rows, strict=True)):
        if theirs is None:
            problems.append(f"row {index}: keylink returned null")
            continue
        for part in ("account", "erp", "financialOverview"):
            expected = mine[part]
            got = theirs.get(part)
            if isinstance(expected, dict) and isinstance(got, dict):
                for name, value in expected.items():
                    if _canonical(value) != _canonical(got.get(name)):
                        problems.append(
                            f"row {index} {part}.{name}: naive {value!r}, keylink {got.get(name)!r}"
                        )
            elif _canonical(expected) != _canonical(got):
                problems.append(f"row {index} {part}: naive {expected!r}, keylink {got!r}")
    return problems
