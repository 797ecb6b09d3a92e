"""The meanings of ``../shared/FIGURES.md`` on typed records, awkward cases first.

These hold for every adapter: an adapter only maps its system onto the records, and the
figures are computed from them by ``sources.figures`` and the records' own predicates.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sources import figures
from sources.money import Money
from sources.records import (
    Invoice,
    InvoiceStatus,
    OrderStatus,
    SalesOrder,
    TimeEntry,
)
from sources.translate import FieldMap, build_record, parse_field_source

TODAY = date(2026, 3, 15)


def invoice(
    total: str,
    due: str | None,
    *,
    status: InvoiceStatus = InvoiceStatus.OPEN,
    amount_due: str | None = None,
    issued: date = date(2026, 2, 1),
    currency: str = "EUR",
    key: str = "1",
) -> Invoice:
    """An invoice of ``total`` (incl. tax; untaxed = total here), due on ``due``."""
    return Invoice(
        key=key,
        customer_key="C",
        issue_date=issued,
        due_date=None if due is None else date.fromisoformat(due),
        total=Money(Decimal(total), currency),
        total_untaxed=Money(Decimal(total), currency),
        amount_due=Money(Decimal(amount_due if amount_due is not None else total), currency),
        status=status,
    )


def order(total: str, status: OrderStatus, currency: str = "EUR") -> SalesOrder:
    """An order of ``total`` in ``status``."""
    return SalesOrder(
        key="O",
        customer_key="C",
        status=status,
        order_date=TODAY,
        total_untaxed=Money(Decimal(total), currency),
        total=Money(Decimal(total), currency),
    )


def test_a_credit_note_past_its_due_date_is_never_overdue() -> None:
    credit = invoice("-200.00", "2026-01-01")
    assert credit.is_credit_note and credit.is_open
    assert not credit.is_overdue(TODAY)
    assert figures.overdue_amount([credit], TODAY) == []


def test_a_credit_note_lowers_the_open_balance_which_may_turn_negative() -> None:
    plain = invoice("100.00", "2026-04-01")
    credit = invoice("-250.00", "2026-04-01", key="2")
    assert figures.open_balance([plain, credit]) == [Money(Decimal("-150.00"), "EUR")]


def test_due_today_is_not_overdue_and_due_yesterday_is() -> None:
    assert not invoice("10.00", TODAY.isoformat()).is_overdue(TODAY)
    assert invoice("10.00", (TODAY - timedelta(days=1)).isoformat()).is_overdue(TODAY)


def test_an_invoice_without_a_due_date_is_never_overdue() -> None:
    assert not invoice("10.00", None).is_overdue(TODAY)


def test_a_partly_paid_invoice_is_open_and_overdue_for_what_remains() -> None:
    partly = invoice("300.00", "2026-02-01", amount_due="120.00")
    assert figures.open_balance([partly]) == [Money(Decimal("120.00"), "EUR")]
    assert figures.overdue_amount([partly], TODAY) == [Money(Decimal("120.00"), "EUR")]


def test_drafts_and_cancelled_invoices_count_nowhere() -> None:
    draft = invoice("500.00", "2026-01-01", status=InvoiceStatus.DRAFT)
    cancelled = invoice("700.00", "2026-01-01", status=InvoiceStatus.CANCELLED, key="2")
    both = [draft, cancelled]
    assert figures.open_balance(both) == []
    assert figures.overdue_invoices(both, TODAY) == []
    assert figures.revenue_year_to_date(both, TODAY) == []


def test_revenue_is_issued_invoices_minus_credit_notes_up_to_today() -> None:
    paid = invoice("1000.00", None, status=InvoiceStatus.PAID)
    credit = invoice("-300.00", None, key="2")
    future = invoice("999.00", None, issued=TODAY + timedelta(days=1), key="3")
    last_year = invoice("50.00", None, issued=date(2025, 3, 15), key="4")
    every = [paid, credit, future, last_year]
    assert figures.revenue_year_to_date(every, TODAY) == [Money(Decimal("700.00"), "EUR")]
    assert figures.revenue_same_period_last_year(every, TODAY) == [Money(Decimal("50.00"), "EUR")]


def test_revenue_last_year_on_29_february_runs_to_28_february() -> None:
    leap_day = date(2028, 2, 29)
    on_28th = invoice("10.00", None, issued=date(2027, 2, 28))
    on_1st_march = invoice("20.00", None, issued=date(2027, 3, 1), key="2")
    assert figures.revenue_same_period_last_year([on_28th, on_1st_march], leap_day) == [
        Money(Decimal("10.00"), "EUR")
    ]


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        (OrderStatus.DRAFT, True),
        (OrderStatus.QUOTED, True),
        (OrderStatus.CONFIRMED, True),
        (OrderStatus.INVOICED, False),
        (OrderStatus.CANCELLED, False),
        (OrderStatus.UNKNOWN, False),
    ],
)
def test_open_orders_value_counts_orders_neither_cancelled_nor_invoiced(
    status: OrderStatus, counts: bool
) -> None:
    value = figures.open_orders_value([order("80.00", status)])
    assert value == ([Money(Decimal("80.00"), "EUR")] if counts else [])


def test_credit_available_is_negative_over_the_limit_and_null_across_currencies() -> None:
    limit = Money(Decimal("1000.00"), "EUR")
    owed = [invoice("800.00", None)]
    quoted = [order("300.00", OrderStatus.QUOTED)]
    assert figures.credit_available(limit, owed, quoted) == Money(Decimal("-100.00"), "EUR")
    in_nok = [order("10.00", OrderStatus.DRAFT, currency="NOK")]
    assert figures.credit_available(limit, owed, in_nok) is None
    assert figures.credit_available(None, owed, quoted) is None


def test_hours_leave_out_entries_dated_in_the_future() -> None:
    def entry(day: date, hours: str) -> TimeEntry:
        return TimeEntry("k", "c", None, "e", day, Decimal(hours), True, False)

    entries = [
        entry(TODAY, "2"),
        entry(TODAY + timedelta(days=1), "5"),
        entry(date(2026, 3, 1), "1"),
    ]
    assert figures.hours(entries, date(2026, 3, 1), TODAY) == Decimal(3)


def test_numbers_sort_naturally_nine_before_ten() -> None:
    assert sorted(["10", "9", "11"], key=figures.natural_key) == ["9", "10", "11"]
    assert sorted(["SO10", "SO9", "SO2"], key=figures.natural_key) == ["SO2", "SO9", "SO10"]
    assert sorted(["SO-100010", "SO-100009"], key=figures.natural_key) == [
        "SO-100009",
        "SO-100010",
    ]


def test_lists_are_newest_first_then_by_number_descending() -> None:
    day = date(2026, 3, 1)
    rows = [(day, "9"), (day, "11"), (day - timedelta(days=1), "12"), (day, "10")]
    ordered = figures.newest_first(rows, lambda r: r[0], lambda r: r[1], lambda r: r[1])
    assert [number for _, number in ordered] == ["11", "10", "9", "12"]


@given(st.lists(st.integers(min_value=0, max_value=10**6), unique=True, min_size=1))
def test_natural_order_of_numbers_is_their_numeric_order(numbers: list[int]) -> None:
    texts = [str(n) for n in numbers]
    assert [int(t) for t in sorted(texts, key=figures.natural_key)] == sorted(numbers)


def test_a_state_the_translation_table_does_not_know_is_unknown_with_its_raw_value() -> None:
    raw = {
        "key": "number",
        "customer_key": "customer",
        "status": {"path": "status", "map": {"draft": "DRAFT"}},
        "status_raw": "status",
        "order_date": "date",
        "total_untaxed": {"amount": "net", "currency": "cur"},
        "total": {"amount": "gross", "currency": "cur"},
    }
    field_map = FieldMap(fields={name: parse_field_source(v) for name, v in raw.items()})
    item = {
        "number": "SO-1",
        "customer": "C",
        "status": "on_hold",
        "date": "2026-03-01",
        "net": "10",
        "gross": "12.5",
        "cur": "EUR",
    }
    record = build_record(SalesOrder, item, field_map)
    assert (record.status, record.status_raw) == (OrderStatus.UNKNOWN, "on_hold")
    known = build_record(SalesOrder, {**item, "status": "draft"}, field_map)
    assert (known.status, known.status_raw) == (OrderStatus.DRAFT, "draft")


def test_undated_rows_come_last_either_way_and_oldest_first_runs_upward() -> None:
    day = date(2026, 3, 1)
    rows = [(None, "1"), (day, "10"), (day - timedelta(days=3), "2"), (day, "9")]
    newest = figures.newest_first(rows, lambda r: r[0], lambda r: r[1], lambda r: r[1])
    oldest = figures.oldest_first(rows, lambda r: r[0], lambda r: r[1], lambda r: r[1])
    assert [number for _, number in newest] == ["10", "9", "2", "1"]
    assert [number for _, number in oldest] == ["2", "9", "10", "1"]


_ROW = st.tuples(
    st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 1, 4))),
    st.one_of(st.none(), st.sampled_from(["SO9", "SO10", "SO-2", "7", ""])),
    st.sampled_from(["k1", "k2", "k10", "x"]),
    st.integers(),  # identity: ties keep their input order
)


@given(st.lists(_ROW, max_size=30), st.booleans())
def test_lists_order_as_one_sort_by_date_number_and_key(
    rows: list[tuple[date | None, str | None, str, int]], newest: bool
) -> None:
    """What FIGURES.md promises, as one plain sort: by date (undated last), then number
    (the key where there is none), then key, naturally; equal rows keep their order."""

    def position(row: tuple[date | None, str | None, str, int]) -> tuple[object, ...]:
        when, number, key, _ = row
        missing = (when is None) != newest
        return (
            missing,
            when or date.min,
            figures.natural_key(number or key),
            figures.natural_key(key),
        )

    order = figures.newest_first if newest else figures.oldest_first
    got = order(rows, lambda r: r[0], lambda r: r[1], lambda r: r[2])
    assert got == sorted(rows, key=position, reverse=newest)
