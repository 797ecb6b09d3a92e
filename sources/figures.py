"""What each figure means, computed once from typed records (``../shared/FIGURES.md``).

Every adapter maps its system's records and states onto ``sources.records``; the figures
a CRM panel shows are then worked out here and nowhere else, so each meaning has one
place: which invoices are open or overdue (``Invoice.is_open``, ``Invoice.is_overdue``),
which orders count as open (``SalesOrder.is_open``), and the sums and orderings below.
Amounts are summed per currency, never across currencies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sources.money import Money, sum_by_currency
from sources.records import Invoice, SalesOrder, TimeEntry

T = TypeVar("T")


def same_day_last_year(today: date) -> date:
    """``today`` one year earlier (29 February becomes 28 February)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:
        return today.replace(year=today.year - 1, day=28)


def open_balance(invoices: Iterable[Invoice]) -> list[Money]:
    """Sum of amounts due on open invoices and open credit notes, per currency (credit
    notes lower it; it may be negative)."""
    return sum_by_currency(inv.amount_due for inv in invoices if inv.is_open)


def overdue_invoices(invoices: Iterable[Invoice], today: date) -> list[Invoice]:
    """The invoices that are overdue on ``today`` (never a credit note)."""
    return [inv for inv in invoices if inv.is_overdue(today)]


def overdue_amount(invoices: Iterable[Invoice], today: date) -> list[Money]:
    """Sum of amounts due on overdue invoices, per currency."""
    return sum_by_currency(inv.amount_due for inv in overdue_invoices(invoices, today))


def counts_as_revenue(invoice: Invoice, start: date, end: date) -> bool:
    """Whether ``invoice`` is in the revenue of ``start``..``end`` (inclusive): issued
    (posted or paid) and dated in the period; a credit note counts, negatively."""
    return invoice.is_issued and start <= invoice.issue_date <= end


def revenue(invoices: Iterable[Invoice], start: date, end: date) -> list[Money]:
    """Untaxed revenue of ``start``..``end``: issued invoices minus credit notes, per
    currency."""
    return sum_by_currency(
        inv.total_untaxed for inv in invoices if counts_as_revenue(inv, start, end)
    )


def revenue_year_to_date(invoices: Iterable[Invoice], today: date) -> list[Money]:
    """Revenue from 1 January to ``today``."""
    return revenue(invoices, date(today.year, 1, 1), today)


def revenue_same_period_last_year(invoices: Iterable[Invoice], today: date) -> list[Money]:
    """Revenue from 1 January last year to the same day last year."""
    return revenue(invoices, date(today.year - 1, 1, 1), same_day_last_year(today))


def open_orders_value(orders: Iterable[SalesOrder]) -> list[Money]:
    """Total (tax included) of orders neither cancelled nor invoiced, per currency."""
    return sum_by_currency(order.total for order in orders if order.is_open)


def credit_available(
    limit: Money | None, invoices: Iterable[Invoice], orders: Iterable[SalesOrder]
) -> Money | None:
    """Credit limit minus open balance minus open orders value (negative when over the
    limit); None without a limit, or when part of the exposure is in another currency
    than the limit (Keylink never converts)."""
    if limit is None:
        return None
    exposure = [inv.amount_due for inv in invoices if inv.is_open]
    exposure += [order.total for order in orders if order.is_open]
    if any(m.currency != limit.currency for m in exposure):
        return None
    used = sum((m.amount for m in exposure), Decimal(0))
    return Money(limit.amount - used, limit.currency)


def hours(entries: Iterable[TimeEntry], start: date | None, end: date) -> Decimal:
    """Hours of ``entries`` dated from ``start`` (None: any day) to ``end``, inclusive;
    entries dated after ``end`` (in the future) are left out."""
    return sum(
        (e.hours for e in entries if (start is None or start <= e.date) and e.date <= end),
        Decimal(0),
    )


_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str | None) -> tuple[tuple[int, int | str], ...]:
    """A sort key that orders numbers inside text by value: "SO9" before "SO10", "9"
    before "10"; None sorts as empty text."""
    parts = _DIGITS.split(text or "")
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in parts if part)


def _by_date(
    items: Sequence[T],
    day: Callable[[T], date | None],
    number: Callable[[T], str | None],
    key: Callable[[T], str],
    newest: bool,
) -> list[T]:
    """``items`` by date (records without one last), then by number and key in natural
    order, each in the direction of the dates.

    The natural order of numbers is only needed between records of the same day, so it is
    computed only there: a long list of orders on different days sorts by date alone.
    """
    dated = [(day(item), item) for item in items]
    with_day = sorted((pair for pair in dated if pair[0] is not None), key=_first, reverse=newest)
    without_day = [item for when, item in dated if when is None]
    ordered: list[T] = []
    start = 0
    while start < len(with_day):
        when = with_day[start][0]
        end = start + 1
        while end < len(with_day) and with_day[end][0] == when:
            end += 1
        run = [item for _, item in with_day[start:end]]
        ordered.extend(run if len(run) == 1 else _by_number(run, number, key, newest))
        start = end
    ordered.extend(_by_number(without_day, number, key, newest))
    return ordered


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _by_number(
    items: list[T], number: Callable[[T], str | None], key: Callable[[T], str], newest: bool
) -> list[T]:
    """Records of one day (or of none) by number, then key, in natural order."""
    if len(items) < 2:
        return items

    def position(item: T) -> tuple[Any, ...]:
        return (natural_key(number(item) or key(item)), natural_key(key(item)))

    return sorted(items, key=position, reverse=newest)


def newest_first(
    items: Sequence[T],
    day: Callable[[T], date | None],
    number: Callable[[T], str | None],
    key: Callable[[T], str],
) -> list[T]:
    """``items`` ordered as every list is (FIGURES.md, Ordering and keys): by date, newest
    first, then by the system's own number in natural order (highest first, as the date),
    then by key in natural order; records without a date come last."""
    return _by_date(items, day, number, key, newest=True)


def oldest_first(
    items: Sequence[T],
    day: Callable[[T], date | None],
    number: Callable[[T], str | None],
    key: Callable[[T], str],
) -> list[T]:
    """``items`` by date, oldest first, then number and key in natural order; records
    without a date come last."""
    return _by_date(items, day, number, key, newest=False)
