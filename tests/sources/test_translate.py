"""Field maps turn upstream JSON into typed records, exactly (Decimal, never float)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.money import Money, sum_by_currency
from sources.records import Invoice, InvoiceStatus, OrderStatus, SalesOrder, TimeEntry
from sources.translate import FieldMap, TranslationError, build_record, parse_field_source


def field_map(raw: dict[str, object]) -> FieldMap:
    return FieldMap(fields={k: parse_field_source(v) for k, v in raw.items()})  # type: ignore[arg-type]


INVOICE_MAP = field_map(
    {
        "key": "number",
        "customer_key": "customer",
        "issue_date": "issued",
        "due_date": "due",
        "total": {"amount": "sum.total", "currency": "cur"},
        "total_untaxed": {"amount": "sum.net", "currency": "cur"},
        "amount_due": {"amount": "due_amount", "currency": {"const": "NOK"}},
        "status": {"path": "state", "map": {"o": "OPEN", "p": "PAID"}},
    }
)

ITEM = {
    "number": "INV-1",
    "customer": 10001,
    "issued": "2026-01-31",
    "due": "2026-02-28T00:00:00",
    "sum": {"total": "1250.10", "net": 1000},
    "cur": "nok",
    "due_amount": "0.10",
    "state": "o",
}


def test_builds_a_typed_record_with_exact_money() -> None:
    invoice = build_record(Invoice, ITEM, INVOICE_MAP)
    assert invoice == Invoice(
        key="INV-1",
        customer_key="10001",
        issue_date=date(2026, 1, 31),
        due_date=date(2026, 2, 28),
        total=Money(Decimal("1250.10"), "NOK"),
        total_untaxed=Money(Decimal("1000"), "NOK"),
        amount_due=Money(Decimal("0.10"), "NOK"),
        status=InvoiceStatus.OPEN,
    )
    assert isinstance(invoice.total.amount, Decimal)


def test_float_amounts_are_read_through_their_repr_not_binary() -> None:
    invoice = build_record(Invoice, {**ITEM, "sum": {"total": 0.1, "net": 0.3}}, INVOICE_MAP)
    assert invoice.total.amount == Decimal("0.1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"issued": "31.01.2026"}, "not a date"),
        ({"sum": {"total": "12,5", "net": 1}}, "not a number"),
        ({"number": None}, "required value missing"),
    ],
)
def test_bad_values_raise_translation_errors_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(TranslationError, match=message):
        build_record(Invoice, {**ITEM, **change}, INVOICE_MAP)


def test_booleans_accept_common_spellings() -> None:
    entry_map = field_map(
        {
            "key": "id",
            "client_key": "c",
            "project_key": "p",
            "employee": "e",
            "date": "d",
            "hours": "h",
            "billable": "b",
            "invoiced": "i",
        }
    )
    raw = {"id": 1, "c": "ACME", "p": None, "e": "E-1", "d": "2026-03-01", "h": "7.25"}
    entry = build_record(TimeEntry, {**raw, "b": "true", "i": 0}, entry_map)
    assert (entry.billable, entry.invoiced, entry.hours) == (True, False, Decimal("7.25"))
    with pytest.raises(TranslationError, match="not a boolean"):
        build_record(TimeEntry, {**raw, "b": "maybe", "i": 0}, entry_map)


def test_money_refuses_floats_and_bad_currency_codes() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "NOK")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ISO 4217"):
        Money(Decimal(1), "kroner")


def test_sums_are_per_currency_never_across() -> None:
    amounts = [Money(Decimal("1.10"), "NOK"), Money(Decimal(2), "EUR"), Money(Decimal("3"), "NOK")]
    assert sum_by_currency(amounts) == [Money(Decimal(2), "EUR"), Money(Decimal("4.10"), "NOK")]


def outcome(build: Callable[[], object]) -> object:
    """What ``build`` gives: its record, or the kind and message of what it raised (a
    TranslationError, or e.g. the ValueError of a malformed currency code)."""
    try:
        return build()
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


FLAT_INVOICE_MAP = field_map(
    {
        "key": "number",
        "customer_key": "customer",
        "order_key": "order",
        "issue_date": "issued",
        "due_date": "due",
        "total": {"amount": "total", "currency": "cur"},
        "total_untaxed": {"amount": "net", "currency": "cur"},
        "amount_due": {"amount": "due_amount", "currency": "cur"},
        "status": {"path": "state", "map": {"o": "OPEN", "p": "PAID"}},
    }
)

_values = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.sampled_from(["o", "p", "x", "nok", "EUR", "2026-01-31", "12.50", "abc", ""]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
)
_keys = [
    "number",
    "customer",
    "order",
    "issued",
    "due",
    "total",
    "net",
    "due_amount",
    "cur",
    "state",
]


@given(item=st.dictionaries(st.sampled_from(_keys), _values))
@settings(max_examples=400, deadline=None)
def test_the_fast_builder_agrees_with_the_careful_one(item: dict[str, object]) -> None:
    """Whatever the item, the compiled builder gives the careful path's record or error."""
    from sources.translate import _build_carefully

    careful = outcome(lambda: _build_carefully(Invoice, item, FLAT_INVOICE_MAP))
    fast = outcome(lambda: build_record(Invoice, item, FLAT_INVOICE_MAP))
    assert fast == careful


def test_a_well_formed_flat_item_takes_the_compiled_path() -> None:
    from sources.translate import _build_carefully, _fast_builder

    item = {
        "number": "INV-9",
        "customer": 10001,
        "order": None,
        "issued": "2026-01-31",
        "due": "2026-02-28",
        "total": "1250.10",
        "net": 1000,
        "due_amount": 0.1,
        "cur": "nok",
        "state": "p",
    }
    compiled = _fast_builder(Invoice, FLAT_INVOICE_MAP)(
        item
    )  # raises if it needed the careful path
    assert compiled == _build_carefully(Invoice, item, FLAT_INVOICE_MAP)
    assert compiled.total == Money(Decimal("1250.10"), "NOK")
    assert compiled.amount_due == Money(Decimal("0.1"), "NOK")
    assert compiled.customer_key == "10001" and compiled.order_key is None


ENTRY_MAP = field_map(
    {
        "key": "id",
        "client_key": "client",
        "project_key": "project",
        "employee": "who",
        "date": "day",
        "hours": "hours",
        "billable": "billable",
        "invoiced": "invoiced",
        "cost": {"amount": "cost", "currency": "cur"},
    }
)
_entry_keys = ["id", "client", "project", "who", "day", "hours", "billable", "invoiced"]
_entry_keys += ["cost", "cur"]


@given(item=st.dictionaries(st.sampled_from(_entry_keys), _values))
@settings(max_examples=400, deadline=None)
def test_the_fast_builder_agrees_on_dates_flags_and_optional_money(
    item: dict[str, object],
) -> None:
    from sources.translate import _build_carefully

    careful = outcome(lambda: _build_carefully(TimeEntry, item, ENTRY_MAP))
    assert outcome(lambda: build_record(TimeEntry, item, ENTRY_MAP)) == careful


def test_a_well_formed_time_entry_takes_the_compiled_path() -> None:
    from sources.translate import _build_carefully, _fast_builder

    item = {
        "id": "E1",
        "client": "ACME",
        "project": None,
        "who": "Ana",
        "day": "2026-11-02",
        "hours": "7.5",
        "billable": True,
        "invoiced": False,
        "cost": None,
        "cur": "EUR",
    }
    compiled = _fast_builder(TimeEntry, ENTRY_MAP)(item)
    assert compiled == _build_carefully(TimeEntry, item, ENTRY_MAP)
    assert compiled.date == date(2026, 11, 2) and compiled.hours == Decimal("7.5")
    assert compiled.billable is True and compiled.cost is None


ORDER_MAP = field_map(
    {
        "key": "number",
        "number": "number",
        "customer_key": "customer",
        "status": {"path": "status", "map": {"draft": "DRAFT", "confirmed": "CONFIRMED"}},
        "status_raw": "status",
        "order_date": "day",
        "total_untaxed": {"amount": "net", "currency": {"const": "nok"}},
        "total": {"amount": "sum.total", "currency": "cur"},
        "line_count": "lines",
        "version": {"path": "version", "default": "v0"},
    }
)
_order_keys = ["number", "customer", "status", "day", "net", "sum", "cur", "lines", "version"]


@given(
    item=st.dictionaries(
        st.sampled_from(_order_keys),
        st.one_of(
            _values,
            st.sampled_from(["draft", "confirmed", "void", "2026-01-31T10:00:00"]),
            st.dictionaries(st.sampled_from(["total", "x"]), _values, max_size=2),
        ),
    )
)
@settings(max_examples=400, deadline=None)
def test_the_fast_builder_agrees_on_unknown_states_constants_and_dotted_paths(
    item: dict[str, object],
) -> None:
    from sources.translate import _build_carefully

    careful = outcome(lambda: _build_carefully(SalesOrder, item, ORDER_MAP))
    assert outcome(lambda: build_record(SalesOrder, item, ORDER_MAP)) == careful


def test_an_unknown_state_and_a_timestamped_date_take_the_fast_path() -> None:
    from sources.translate import _build_carefully, _fast_builder

    item = {
        "number": "SO-1",
        "customer": 10001,
        "status": "void",
        "day": "2026-03-04T10:00:00",
        "net": "100.50",
        "sum": {"total": "125.63"},
        "cur": "eur",
        "lines": 3,
        "version": 7,
    }
    fast = _fast_builder(SalesOrder, ORDER_MAP)(item)  # raises if it needed the careful path
    assert fast == _build_carefully(SalesOrder, item, ORDER_MAP)
    assert fast.status is OrderStatus.UNKNOWN and fast.status_raw == "void"
    assert fast.order_date == date(2026, 3, 4) and fast.customer_key == "10001"
    assert fast.total_untaxed == Money(Decimal("100.50"), "NOK")
    assert fast.total == Money(Decimal("125.63"), "EUR")
    assert (fast.line_count, fast.version) == (3, "7")
    defaulted = _fast_builder(SalesOrder, ORDER_MAP)({**item, "version": None})
    assert defaulted.version == "v0"


def test_a_null_optional_amount_reads_as_none_whatever_its_currency() -> None:
    from sources.translate import _fast_builder

    item = {"id": "E1", "client": "A", "project": "P", "who": "Ana", "day": "2026-11-02"}
    item |= {"hours": 1, "billable": False, "invoiced": True, "cost": None, "cur": None}
    assert _fast_builder(TimeEntry, ENTRY_MAP)(item).cost is None
    with pytest.raises(TranslationError, match=r"TimeEntry\.cost: cost: amount without currency"):
        build_record(TimeEntry, {**item, "cost": "1.00"}, ENTRY_MAP)


def test_a_constant_that_does_not_convert_is_reported_by_the_careful_path() -> None:
    bad = FieldMap(fields={**ORDER_MAP.fields, "line_count": parse_field_source({"const": "x"})})
    item = {"number": "SO-1", "customer": "C", "status": "draft", "day": "2026-03-04"}
    item |= {"net": "1", "sum": {"total": "1.25"}, "cur": "EUR"}
    assert build_record(SalesOrder, {**item, "lines": 2}, ORDER_MAP).line_count == 2
    with pytest.raises(ValueError, match="invalid literal"):
        build_record(SalesOrder, item, bad)
