"""The contract's checks of the sales desk (../shared/FIGURES.md): purchases with their
lines, a discounted line, credit figures, a project's invoices and hours, records by the
numbers people use, and units on lines.

Each check holds an adapter to what its system made (``Seeded``, as the system computed
it: Keylink recomputes nothing). A figure the system keeps none of is never skipped: the
``System`` declares it (``unsupported_reads``: the read raises ``Unsupported`` or is not
declared at all; ``unsupported_figures``: the record's field is null), and the check holds
the adapter to that declaration, both ways (declared but answered fails as well).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

from sources.base import EditableErp, TimesheetSource
from sources.errors import Unsupported
from sources.money import Money
from sources.records import (
    EntryQuery,
    Invoice,
    InvoiceQuery,
    OrderLine,
    PurchaseOrderStatus,
    SalesOrder,
)
from tests.support.contract_facts import MISSING, SeededPurchase, System

CENT = Decimal("0.01")


def declares(adapter: object, operation: str) -> bool:
    """Whether ``adapter`` declares the batched read ``operation`` (its ``ReadTable``)."""
    reads = getattr(adapter, "read_operations", None)
    return reads is not None and operation in reads()


async def refuses(adapter: object, operation: str, call: Callable[[], Awaitable[Any]]) -> bool:
    """Whether ``adapter`` cannot answer ``operation``: it does not declare it, or the
    read raises ``Unsupported`` (``call`` makes the read)."""
    if not declares(adapter, operation):
        return True
    try:
        await call()
    except Unsupported:
        return True
    return False


async def _held_to_declaration(
    adapter: object, s: System, operation: str, call: Callable[[], Awaitable[Any]]
) -> bool:
    """True when the adapter answers ``operation`` (and does not declare it unsupported);
    False when it declares it and refuses it; ``AssertionError`` when the two disagree."""
    refused = await refuses(adapter, operation, call)
    declared = operation in s.unsupported_reads
    assert refused == declared, (
        f"{operation}: refused but not declared"
        if refused
        else f"{operation}: declared but answered"
    )
    return not refused


def _figure(s: System, name: str, value: object, wanted: object) -> None:
    """A figure is null where the system declares it keeps none, else exactly ``wanted``."""
    if name in s.unsupported_figures:
        assert value is None, f"{name}: declared unsupported, answered {value!r}"
    else:
        assert wanted is not None, f"{name}: the facts hold none, so the system must declare it"
        assert value == wanted, f"{name}: {value!r}, the system says {wanted!r}"


# --- purchases ----------------------------------------------------------------------------


async def check_purchase_orders(adapter: EditableErp, s: System) -> None:
    """A supplier's purchase orders: each with its status (a confirmed one awaiting its
    goods is OPEN, a cancelled one CANCELLED), its number and its total per currency as the
    ERP has them; the open ones are exactly those not yet received; an unknown supplier has
    none. Where the ERP keeps no purchases the read is declared unsupported."""
    supplier = s.seeded.supplier or MISSING
    if not await _held_to_declaration(
        adapter, s, "purchase_orders", lambda: adapter.purchase_orders([supplier], False)
    ):
        return
    assert s.seeded.supplier is not None and s.seeded.purchases, "no purchase facts to check"
    everything = await adapter.purchase_orders([s.seeded.supplier, MISSING], False)
    assert not everything.get(MISSING), "purchases invented for an unknown supplier"
    found = {po.key: po for po in everything[s.seeded.supplier]}
    assert set(found) == {p.key for p in s.seeded.purchases.values()}, set(found)
    for name, fact in s.seeded.purchases.items():
        got = found[fact.key]
        assert got.supplier_key == s.seeded.supplier, (name, got)
        assert got.status is fact.status, (name, got.status, got.status_raw)
        assert got.total == Money(fact.total, fact.currency), (name, got.total, fact.total)
        if fact.number is not None:
            assert got.number == fact.number, (name, got.number)
    open_only = await adapter.purchase_orders([s.seeded.supplier], True)
    wanted = {p.key for p in s.seeded.purchases.values() if p.status is PurchaseOrderStatus.OPEN}
    assert {po.key for po in open_only[s.seeded.supplier]} == wanted


async def check_purchase_order_lines(adapter: EditableErp, s: System) -> None:
    """A purchase's lines: quantities as Decimal (in the line's unit where the ERP keeps
    units, no more places than the unit shows), unit price and amount as the ERP has them.
    Where the ERP keeps no purchase lines the read is declared (or left undeclared) and
    refuses, never an empty list."""
    fact: SeededPurchase | None = s.seeded.purchases.get("open")
    key = fact.key if fact is not None else MISSING
    read = getattr(adapter, "purchase_order_lines", None)

    async def lines_of(keys: Sequence[str]) -> Mapping[str, Sequence[Any]]:
        assert read is not None
        found: Mapping[str, Sequence[Any]] = await read(keys)
        return found

    if not await _held_to_declaration(adapter, s, "purchase_order_lines", lambda: lines_of([key])):
        return
    assert fact is not None and fact.lines is not None, "no purchase lines to check"
    found = await lines_of([fact.key, MISSING])
    assert not found.get(MISSING), "lines invented for an unknown purchase"
    got = {line.key: line for line in found[fact.key]}
    assert set(got) == {line.key for line in fact.lines}, set(got)
    for want in fact.lines:
        line = got[want.key]
        assert line.order_key == fact.key, line
        assert isinstance(line.quantity, Decimal), line.quantity
        assert line.quantity == want.quantity, (line.quantity, want.quantity)
        assert line.unit == want.unit, (line.unit, want.unit)
        if line.unit is not None:
            assert -int(line.quantity.as_tuple().exponent) <= line.unit.digits, line
        assert line.unit_price == Money(want.unit_price, fact.currency), line.unit_price
        assert line.amount == Money(want.amount, fact.currency), line.amount


# --- order lines --------------------------------------------------------------------------


async def check_discounted_line(adapter: EditableErp, s: System) -> None:
    """A discounted line reads with its unit price (before the discount), discount percent
    and amount (after it) exactly as the ERP computed them (Keylink never recomputes the
    amount; the ERP's rounding may differ from the product by a cent), the same by its key
    and in its order's lines. An ERP that takes no discounts (declared ``line_discount``) still
    answers the amount it computed and a unit price that gives it."""
    fact = s.seeded.discounted_line
    order_key = s.seeded.orders[fact.order].key
    line = (await adapter.order_lines_by_key([fact.key]))[fact.key]
    listed = {one.key: one for one in (await adapter.order_lines([order_key]))[order_key]}
    assert listed.get(fact.key) == line, (listed.get(fact.key), line)
    assert line.order_key == order_key, line
    assert line.quantity == fact.quantity, (line.quantity, fact.quantity)
    assert line.amount == Money(fact.amount, fact.currency), (line.amount, fact.amount)
    if "line_discount" in s.unsupported:
        reckoned = (line.quantity * line.unit_price.amount).quantize(CENT)
        assert reckoned == line.amount.amount.quantize(CENT), (line, reckoned)
        return
    assert line.discount_percent == fact.discount_percent, line.discount_percent
    assert line.unit_price == Money(fact.unit_price, fact.currency), line.unit_price
    # one meaning on every adapter: the unit price is before the discount, the amount after
    discounted = line.quantity * line.unit_price.amount * (1 - line.discount_percent / 100)
    assert abs(discounted - line.amount.amount) <= CENT, (line, discounted)


async def check_line_units(adapter: EditableErp, s: System) -> None:
    """Every product line of an order carries the unit its quantity is in (symbol and
    decimal places, the quantity a Decimal with no more places than its unit shows), the
    discounted one the unit the ERP gave it; where the ERP keeps no units on lines
    (declared ``line_unit``) every unit is null."""
    fact = s.seeded.discounted_line
    keys = [s.seeded.orders[fact.order].key, s.seeded.orders["draft"].key]
    found = await adapter.order_lines(keys)
    lines: list[OrderLine] = [line for key in keys for line in found.get(key, [])]
    assert len(lines) >= 3, f"the facts' lines are missing: {lines}"
    by_key = {line.key: line for line in lines}
    _figure(s, "line_unit", by_key[fact.key].unit, fact.unit)
    for line in lines:
        assert isinstance(line.quantity, Decimal), line
        if "line_unit" in s.unsupported_figures:
            assert line.unit is None, line
            continue
        assert line.unit is not None and line.unit.symbol, line
        assert -int(line.quantity.as_tuple().exponent) <= line.unit.digits, line


# --- credit -------------------------------------------------------------------------------


async def check_credit(adapter: EditableErp, s: System) -> None:
    """The customer's credit limit and used credit are what the ERP holds, in its
    currency; where the ERP keeps none (declared) they are null, never 0."""
    customer = (await adapter.customers([s.seeded.customer]))[s.seeded.customer]
    fact = s.seeded.credit

    def money(amount: Decimal | None) -> Money | None:
        return None if amount is None else Money(amount, fact.currency)

    _figure(s, "credit_limit", customer.credit_limit, money(fact.limit))
    _figure(s, "credit_used", customer.credit_used, money(fact.used))


# --- projects -----------------------------------------------------------------------------


async def check_project_invoices(adapter: EditableErp, s: System) -> None:
    """A project's invoices are exactly those the ERP bills the project with; an unknown
    project has none. Where the ERP keeps no project billing the read is declared."""
    project = s.seeded.project
    key = project.key if project is not None else MISSING
    if not await _held_to_declaration(
        adapter, s, "project_invoices", lambda: adapter.project_invoices([key])
    ):
        return
    assert project is not None and project.invoices, "no project invoices to check"
    found = await adapter.project_invoices([project.key, MISSING])
    assert not found.get(MISSING), "invoices invented for an unknown project"
    got = {inv.key: inv for inv in found[project.key]}
    assert set(got) == set(project.invoices), set(got)
    assert all(inv.project_key in (None, project.key) for inv in got.values()), got


async def check_project_hours(adapter: EditableErp, s: System) -> None:
    """A project's billed and unbilled hours as the system records them: billed = billable
    hours already invoiced, unbilled = billable hours not yet invoiced; a system that keeps
    no billing flags counts every hour billable and unbilled and says so
    (``keeps_billing_flags`` false). Where the adapter is no timesheet (declared
    ``project_hours``) there are no hours to read from it."""
    project = s.seeded.project
    timesheet = isinstance(adapter, TimesheetSource) and "timesheet" in adapter.kinds
    if "project_hours" in s.unsupported_figures:
        assert not timesheet, "project_hours declared, but the adapter serves timesheets"
        return
    assert timesheet, "the adapter serves no timesheet: declare project_hours"
    assert isinstance(adapter, TimesheetSource)
    assert project is not None and project.hours is not None, "no project hours to check"
    found = await adapter.project_time_entries([project.key, MISSING], EntryQuery())
    assert not found.get(MISSING), "hours invented for an unknown project"
    entries = found[project.key]
    total = sum((e.hours for e in entries), Decimal(0))
    billed = sum((e.hours for e in entries if e.billable and e.invoiced), Decimal(0))
    unbilled = sum((e.hours for e in entries if e.billable and not e.invoiced), Decimal(0))
    assert total == project.hours, (total, project.hours)
    if getattr(adapter, "keeps_billing_flags", True):
        assert (billed, unbilled) == (project.billed, project.unbilled), (billed, unbilled)
        assert billed > 0 and unbilled > 0, "the facts hold an invoiced and an uninvoiced line"
    else:
        assert (billed, unbilled) == (Decimal(0), total), (billed, unbilled)


# --- records by the numbers people use ----------------------------------------------------


def _same(got: object, listed: object) -> None:
    """A record read by key is the record the list gives (field by field, for a clear
    message)."""
    assert type(got) is type(listed), (got, listed)
    for one in fields(got):  # type: ignore[arg-type]
        mine, theirs = getattr(got, one.name), getattr(listed, one.name)
        assert mine == theirs, f"{one.name}: by key {mine!r}, in the list {theirs!r}"


async def check_invoices_by_number(adapter: EditableErp, s: System) -> None:
    """An invoice read by its number is the same invoice as in its customer's list; an
    unknown number is absent, never invented. Where the ERP cannot read invoices by key
    the read is declared."""
    facts = [f for f in s.seeded.invoices.values() if f.number is not None]
    keys = [f.key for f in facts]
    if not await _held_to_declaration(
        adapter,
        s,
        "invoices_by_key",
        lambda: adapter.invoices_by_key(keys[:1]),  # type: ignore[attr-defined]
    ):
        return
    assert facts, "no invoice has a number"
    assert all(f.key == f.number for f in facts), "an invoice with a number is keyed by it"
    found: Mapping[str, Invoice] = await adapter.invoices_by_key([*keys, MISSING])  # type: ignore[attr-defined]
    assert set(found) == set(keys), set(found) ^ set(keys)
    listed = await adapter.invoices([s.seeded.customer], InvoiceQuery())
    by_key = {inv.key: inv for inv in listed[s.seeded.customer]}
    for key in keys:
        _same(found[key], by_key[key])


async def check_orders_by_number(adapter: EditableErp, s: System) -> None:
    """An order read by its number is the same order as in its customer's list (a draft
    without a number by the key the ERP gives it); an unknown number is absent."""
    facts = [*s.seeded.orders.values(), *s.seeded.same_day]
    numbered = [f for f in facts if f.number is not None]
    assert numbered, "no order has a number"
    assert all(f.key == f.number for f in numbered), "an order with a number is keyed by it"
    keys = [f.key for f in facts]
    found: Mapping[str, SalesOrder] = await adapter.sales_orders([*keys, MISSING])
    assert set(found) == set(keys), set(found) ^ set(keys)
    listed = await adapter.orders([s.seeded.customer], None)
    by_key = {order.key: order for order in listed[s.seeded.customer]}
    for key in keys:
        _same(found[key], by_key[key])


DESK_CHECKS: dict[str, Callable[[EditableErp, System], Awaitable[None]]] = {
    "purchase_orders": check_purchase_orders,
    "purchase_order_lines": check_purchase_order_lines,
    "discounted_line": check_discounted_line,
    "line_units": check_line_units,
    "credit": check_credit,
    "project_invoices": check_project_invoices,
    "project_hours": check_project_hours,
    "invoices_by_number": check_invoices_by_number,
    "orders_by_number": check_orders_by_number,
}
"""The sales desk's checks, by name (part of ``contract.CHECKS``)."""
