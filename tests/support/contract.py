"""The shared contract suite's business facts and checks (``../shared/FIGURES.md``).

``BUSINESS_FACTS`` describes, in business words, what every adapter's fixture makes in its
own system by that system's own rules (tests/support/contract_demo.py for the demo ERP,
tests/contract/tryton_facts.py for Tryton). Each fixture reports what it made as a
``Seeded``: the keys and numbers the system gave each fact and the amounts the *system*
computed (never the adapter under test). The ``check_*`` functions hold an adapter to one
meaning each; they raise ``AssertionError`` when it breaks it, so that
tests/contract/test_wrong_adapter.py can show a deliberately wrong adapter fails them.

A pushdown (``OverdueSearch``, ``AccountSearch``) is optional: where an adapter offers one,
its check holds it to the gateway's own computation from the adapter's typed records; where
it does not, the check raises ``NotOffered`` and the suite reports the skip and its reason
for that adapter. The GraphQL-level checks (a Keylink in front of the system) are in
tests/support/contract_gateway.py.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

import httpx

from sources.base import AccountSearch, CrmSource, EditableErp, OverdueSearch
from sources.errors import Conflict, NotFound, Rejected, SourceError, Unsupported
from sources.figures import (
    newest_first,
    open_balance,
    open_orders_value,
    overdue_invoices,
    revenue_year_to_date,
)
from sources.money import Money
from sources.records import (
    OPEN_ORDER_STATUSES,
    Account,
    AccountQuery,
    Invoice,
    InvoiceQuery,
    LineChanges,
    OrderStatus,
    SalesOrder,
)
from tests.support.contract_desk import DESK_CHECKS
from tests.support.contract_facts import (
    MISSING,
    NotOffered,
    Seeded,
    SeededInvoice,
    SeededOrder,
    System,
    TransportWrapper,
)

BUSINESS_FACTS: dict[str, str] = {
    # invoices (all of one customer)
    "plain_overdue": "an invoice of an invoiced order, posted, unpaid, due on a past day",
    "partly_paid": "a posted invoice, a quarter of it paid, due on a past day",
    "credited": "a posted invoice, unpaid, due on a past day, corrected by the credit note",
    "credit_note": "a posted credit note of the whole of 'credited', not allocated, its "
    "own due date passed",
    "draft_of_processing": "the draft (not posted) invoice of the processing order",
    "due_today": "a posted invoice, unpaid, due today",
    "cancelled_invoice": "an invoice cancelled before it was posted, dated (and due) on a past day",
    # orders
    "invoiced": "an order whose (only) invoice is posted",
    "processing": "a confirmed order whose invoice is still a draft",
    "quotation": "a quotation awaiting the customer",
    "draft": "a draft order with one line (the only editable order)",
    "cancelled": "a cancelled order",
    "same_day": "ten quotations on one day, numbered across 9 -> 10 where the system can",
    # the sales desk
    "discounted_line": "a second line of the quotation, given a discount by the ERP's own "
    "rules before it was quoted (its unit price, discount and amount as the ERP computed)",
    "credit": "the customer's credit limit and the credit the ERP counts as used (where the "
    "ERP keeps credit figures)",
    "purchases": "a supplier with a confirmed purchase awaiting its goods (with lines in "
    "units where the ERP keeps them) and a cancelled one",
    "project": "a project of another customer with an invoice, and (where the ERP keeps "
    "timesheets) an invoiced and an uninvoiced timesheet line",
}
"""Every fact the fixtures make; the orders of partly_paid, credited and due_today are
invoiced orders as well (each invoice comes from an order, as in Tryton)."""

OPEN_INVOICES = ("plain_overdue", "partly_paid", "credited", "credit_note", "due_today")
OVERDUE = ("plain_overdue", "partly_paid", "credited")
EXPECTED_STATUS = {
    "invoiced": OrderStatus.INVOICED,
    "processing": OrderStatus.CONFIRMED,
    "quotation": OrderStatus.QUOTED,
    "draft": OrderStatus.DRAFT,
    "cancelled": OrderStatus.CANCELLED,
}
Check = Callable[[EditableErp, System], Awaitable[None]]


def _one_currency(amounts: list[Money]) -> Decimal:
    assert len(amounts) <= 1, f"one currency expected, got {amounts}"
    return amounts[0].amount if amounts else Decimal(0)


async def _invoices(adapter: EditableErp, s: System) -> dict[str, Invoice]:
    found = await adapter.invoices([s.seeded.customer], InvoiceQuery())
    return {inv.key: inv for inv in found.get(s.seeded.customer, [])}


async def _orders(adapter: EditableErp, s: System) -> dict[str, SalesOrder]:
    found = await adapter.orders([s.seeded.customer], None)
    return {o.key: o for o in found.get(s.seeded.customer, [])}


def _code(error: SourceError) -> str:
    """The stable code a client sees for ``error`` (resolvers/errors.py's table)."""
    if isinstance(error, NotFound):
        return "NOT_FOUND"
    return str(getattr(error, "code", type(error).__name__))


def _fact(s: System, name: str) -> SeededInvoice:
    return s.seeded.invoices[name]


# --- invoices -----------------------------------------------------------------------------


async def check_open_invoices(adapter: EditableErp, s: System) -> None:
    """Open = issued and not fully paid: drafts and cancelled ones are not open; a partly
    paid one is."""
    invoices = await _invoices(adapter, s)
    for name, fact in s.seeded.invoices.items():
        assert fact.key in invoices, f"{name} ({fact.key}) missing from the invoices"
    open_keys = {k for k, inv in invoices.items() if inv.is_open}
    assert open_keys == {_fact(s, n).key for n in OPEN_INVOICES}, open_keys
    for name in ("draft_of_processing", "cancelled_invoice"):
        never_open = invoices[_fact(s, name).key]
        assert not never_open.is_open and not never_open.is_issued, (name, never_open)


async def check_amount_due(adapter: EditableErp, s: System) -> None:
    """Amount due: what remains after payments, tax included (partly paid)."""
    invoices = await _invoices(adapter, s)
    for name in OPEN_INVOICES:
        fact = _fact(s, name)
        got = invoices[fact.key]
        assert got.amount_due.amount == fact.amount_due, (name, got.amount_due, fact)
        assert got.total.amount == fact.total, (name, got.total, fact)
    partly = _fact(s, "partly_paid")
    assert Decimal(0) < partly.amount_due < partly.total


async def check_credit_note(adapter: EditableErp, s: System) -> None:
    """A credit note has a negative total, stays open, and is never overdue."""
    invoices = await _invoices(adapter, s)
    note = invoices[_fact(s, "credit_note").key]
    assert note.is_credit_note and note.total.amount < 0, note
    assert note.is_open and note.amount_due.amount < 0, note
    assert note.due_date is None or note.due_date < s.seeded.today, "fact: due date passed"
    assert not note.is_overdue(s.seeded.today), note


async def check_open_balance(adapter: EditableErp, s: System) -> None:
    """Open balance: amounts due of open invoices and credit notes (which lower it)."""
    invoices = await _invoices(adapter, s)
    expected = sum((_fact(s, n).amount_due for n in OPEN_INVOICES), Decimal(0))
    assert _one_currency(open_balance(invoices.values())) == expected


async def check_overdue(adapter: EditableErp, s: System) -> None:
    """Overdue: open, not a credit note, something due, due before today (not today)."""
    invoices = await _invoices(adapter, s)
    overdue = {inv.key for inv in overdue_invoices(invoices.values(), s.seeded.today)}
    assert overdue == {_fact(s, n).key for n in OVERDUE}, overdue
    today = invoices[_fact(s, "due_today").key]
    assert today.due_date == s.seeded.today, today


async def check_revenue(adapter: EditableErp, s: System) -> None:
    """Revenue this year: untaxed issued invoices minus credit notes; drafts excluded."""
    invoices = await _invoices(adapter, s)
    start = date(s.seeded.today.year, 1, 1)
    expected = sum(
        (
            f.untaxed
            for f in s.seeded.invoices.values()
            if f.issued and f.issue_date and start <= f.issue_date <= s.seeded.today
        ),
        Decimal(0),
    )
    got = _one_currency(revenue_year_to_date(invoices.values(), s.seeded.today))
    assert got == expected, (got, expected)


# --- pushdowns ----------------------------------------------------------------------------


def _why(declined: Unsupported) -> str:
    """The adapter's own reason (server-side detail: fine in a test report)."""
    return declined.detail or declined.message


def _named(s: System, keys: Sequence[str]) -> list[str]:
    """``keys`` by the facts' names where they are facts."""
    names = {fact.key: name for name, fact in s.seeded.invoices.items()}
    return sorted(names.get(key, key) for key in keys)


async def check_overdue_pushdown(adapter: EditableErp, s: System) -> None:
    """An overdue search pushed down to the system answers exactly what the gateway
    computes from the adapter's own invoices (sources/figures.py, ``Invoice.is_overdue``):
    the same invoices with the same amounts due, on today (due today is not overdue, a
    credit note never is, nor a draft) and on tomorrow (due today then is)."""
    if not isinstance(adapter, OverdueSearch):
        raise NotOffered(f"{s.name} offers no overdue pushdown (sources.base.OverdueSearch)")
    invoices = await _invoices(adapter, s)
    today = s.seeded.today
    for as_of in (today, today + timedelta(days=1)):
        try:
            pushed = await adapter.overdue_invoices(as_of)
        except Unsupported as declined:
            raise NotOffered(f"{s.name} declines the overdue pushdown: {_why(declined)}") from None
        got = {inv.key: inv for inv in pushed.get(s.seeded.customer, [])}
        wanted = {inv.key: inv for inv in overdue_invoices(invoices.values(), as_of)}
        extra, missing = got.keys() - wanted.keys(), wanted.keys() - got.keys()
        assert not extra and not missing, (
            f"as of {as_of} the pushdown counts {_named(s, list(extra))} and misses "
            f"{_named(s, list(missing))} against the gateway's own computation"
        )
        for key, inv in got.items():
            assert inv.amount_due == wanted[key].amount_due, (_named(s, [key]), inv.amount_due)
        never = ("credit_note", "draft_of_processing", "cancelled_invoice")
        assert not {_fact(s, n).key for n in never} & got.keys(), f"as of {as_of}: {never}"
        assert _fact(s, "partly_paid").key in got, f"as of {as_of}: partly paid missing"
        due_today = _fact(s, "due_today").key in got
        assert due_today is (as_of > today), f"as of {as_of}: due today counted {due_today}"


async def check_account_search_pushdown(adapter: EditableErp, s: System) -> None:
    """An account search pushed down to a CRM answers exactly the accounts the gateway's
    own filter (``AccountQuery.matches``) keeps of the same accounts read by key."""
    if not isinstance(adapter, AccountSearch) or not isinstance(adapter, CrmSource):
        raise NotOffered(f"{s.name} offers no account search pushdown (sources.base.AccountSearch)")
    try:
        everything = await adapter.search_accounts(AccountQuery())
    except Unsupported as declined:
        raise NotOffered(f"{s.name} declines the account search: {_why(declined)}") from None
    by_key: Mapping[str, Account] = await adapter.accounts(list(everything))
    assert set(by_key) == set(everything), "the search names accounts the CRM does not have"
    segments = sorted({a.segment for a in by_key.values() if a.segment})[:3]
    countries = sorted({a.country for a in by_key.values() if a.country})[:3]
    assert segments and countries, "the accounts give no segment or country to search by"
    queries = [AccountQuery(segments=frozenset({one})) for one in segments]
    queries += [AccountQuery(countries=frozenset({one})) for one in countries]
    queries.append(AccountQuery(segments=frozenset(segments[:1]), countries=frozenset(countries)))
    for query in queries:
        found = await adapter.search_accounts(query)
        wanted = {key for key, account in by_key.items() if query.matches(account)}
        assert set(found) == wanted, (query, set(found) ^ wanted)
        assert all(found[key] == by_key[key] for key in found), query


# --- orders -------------------------------------------------------------------------------


async def check_order_states(adapter: EditableErp, s: System) -> None:
    """Each system state maps onto FIGURES.md's; a draft invoice does not make INVOICED."""
    orders = await _orders(adapter, s)
    for name, status in EXPECTED_STATUS.items():
        order = orders.get(s.seeded.orders[name].key)
        assert order is not None, f"{name} missing"
        assert order.status is status, (name, order.status, order.status_raw)
    for fact in s.seeded.same_day:
        assert orders[fact.key].status is OrderStatus.QUOTED


async def check_open_orders_value(adapter: EditableErp, s: System) -> None:
    """Open orders value: not cancelled, not invoiced (a processing order counts)."""
    open_facts = [s.seeded.orders[n] for n in ("processing", "quotation", "draft")]
    expected = sum((o.total for o in open_facts + s.seeded.same_day), Decimal(0))
    everything = await _orders(adapter, s)
    assert _one_currency(open_orders_value(everything.values())) == expected
    filtered = await adapter.orders([s.seeded.customer], OPEN_ORDER_STATUSES)
    assert {o.key for o in filtered[s.seeded.customer]} == {
        o.key for o in open_facts + s.seeded.same_day
    }


async def check_same_day_orders(adapter: EditableErp, s: System) -> None:
    """Ten orders on one day: none dropped, ordered by number in natural order."""
    orders = await _orders(adapter, s)
    day = [o for o in orders.values() if o.order_date == s.seeded.same_day_date]
    assert {o.key for o in day} == {f.key for f in s.seeded.same_day}
    ordered = newest_first(day, lambda o: o.order_date, lambda o: o.number, lambda o: o.key)
    numbers = [o.number for o in ordered]
    assert all(n is not None for n in numbers)
    assert numbers == sorted(
        numbers, key=lambda n: [int(p) if p.isdigit() else p for p in _split(n)], reverse=True
    )


def _split(number: str | None) -> list[str]:
    return [p for p in re.split(r"(\d+)", number or "") if p]


async def check_orders_by_key(adapter: EditableErp, s: System) -> None:
    """Orders are addressable by key; an unknown key is absent, never invented."""
    keys = [o.key for o in s.seeded.orders.values()]
    found = await adapter.sales_orders([*keys, MISSING])
    assert set(found) == set(keys), set(found)
    for name, fact in s.seeded.orders.items():
        assert found[fact.key].total.amount == fact.total, name
        if fact.number is not None:
            assert found[fact.key].number == fact.number, name


# --- writes -------------------------------------------------------------------------------


async def check_locked_order(adapter: EditableErp, s: System) -> None:
    """Only a draft is editable; an edit or preview of a quotation's line is ORDER_LOCKED."""
    orders = await adapter.sales_orders(
        [s.seeded.orders["draft"].key, s.seeded.orders["quotation"].key]
    )
    assert not orders[s.seeded.orders["draft"].key].locked
    assert orders[s.seeded.orders["quotation"].key].locked
    line = (await adapter.order_lines_by_key([s.seeded.locked_line]))[s.seeded.locked_line]
    changes = LineChanges(quantity=line.quantity + 1)
    for attempt in ("edit", "preview"):
        try:
            if attempt == "edit":
                await adapter.change_order_line(
                    line.key, changes, version=line.version, idempotency_key=f"locked-{s.name}"
                )
            else:
                await adapter.preview_line_change(line.key, changes)
        except Rejected as refused:
            assert refused.code == "ORDER_LOCKED", (attempt, refused.code)
        else:
            raise AssertionError(f"{attempt} of a locked order's line was accepted")


async def check_missing_record(adapter: EditableErp, s: System) -> None:
    """An edit or preview of a line that does not exist is NOT_FOUND."""
    for attempt in ("edit", "preview"):
        try:
            if attempt == "edit":
                await adapter.change_order_line(
                    MISSING, LineChanges(description="x"), version="1", idempotency_key="missing"
                )
            else:
                await adapter.preview_line_change(MISSING, LineChanges(description="x"))
        except (NotFound, Rejected) as error:
            assert _code(error) == "NOT_FOUND", (attempt, _code(error))
        else:
            raise AssertionError(f"{attempt} of a missing line did not say NOT_FOUND")
    assert MISSING not in await adapter.order_lines_by_key([MISSING])


async def check_version_conflict(adapter: EditableErp, s: System) -> None:
    """An edit with an old version is CONFLICT and returns the current line; nothing is
    written. (Changes the draft line's description only: no total moves.)"""
    key = s.seeded.draft_line
    before = (await adapter.order_lines_by_key([key]))[key]
    written = await adapter.change_order_line(
        key,
        LineChanges(description=f"contract {s.name} 1"),
        version=before.version,
        idempotency_key=f"conflict-{s.name}-1",
    )
    assert written.line is not None and written.line.version != before.version
    try:
        await adapter.change_order_line(
            key,
            LineChanges(description=f"contract {s.name} 2"),
            version=before.version,
            idempotency_key=f"conflict-{s.name}-2",
        )
    except Conflict as conflict:
        current = conflict.current
        assert current is not None, "the current line is never null on CONFLICT"
        assert getattr(current, "version", None) == written.line.version, current
        assert getattr(current, "description", None) == f"contract {s.name} 1", current
    else:
        raise AssertionError("a stale version was accepted")
    after = (await adapter.order_lines_by_key([key]))[key]
    assert after.description == f"contract {s.name} 1"


async def check_declared_gaps(adapter: EditableErp, s: System) -> None:
    """What an adapter supports it does; what it declares it cannot do, its answer says
    (a refusal or Unsupported), never a silently dropped value."""
    key = s.seeded.draft_line
    cases = {
        "line_discount": (LineChanges(discount_percent=Decimal(10)), "discount_percent"),
        "delivery_date": (
            LineChanges(delivery_date=date(s.seeded.today.year + 1, 1, 15)),
            "delivery_date",
        ),
    }
    for capability, (changes, attribute) in cases.items():
        try:
            preview = await adapter.preview_line_change(key, changes)
        except (Rejected, Unsupported) as refused:
            assert capability in s.unsupported, f"{capability} refused but not declared"
            assert refused.message, refused
            continue
        assert capability not in s.unsupported, f"{capability} declared but accepted"
        assert preview.line is not None
        got, wanted = getattr(preview.line, attribute), getattr(changes, attribute)
        assert got == wanted, f"{capability}: asked {wanted}, the line says {got}"


# --- an upstream that misbehaves ----------------------------------------------------------


class Garbage(httpx.AsyncBaseTransport):
    """Passes requests on and answers 200 with a body that is not the system's format."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>502 from a proxy</html>\x00\xff")

    async def aclose(self) -> None:
        await self.inner.aclose()


class FailingWrites(httpx.AsyncBaseTransport):
    """Answers every write 503 (after counting it); reads pass through."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, is_write: Callable[[httpx.Request], bool]
    ) -> None:
        self.inner = inner
        self.is_write = is_write
        self.writes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.is_write(request):
            self.writes += 1
            return httpx.Response(503, json={"error": "busy"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def check_garbage_upstream(adapter: EditableErp, s: System) -> None:
    """An upstream that answers garbage is an error, never an empty list or a zero."""
    broken = s.make_adapter(Garbage)
    try:
        reads: dict[str, Callable[[], Awaitable[object]]] = {
            "invoices": lambda: broken.invoices([s.seeded.customer], InvoiceQuery()),
            "orders": lambda: broken.orders([s.seeded.customer], None),
            "sales_orders": lambda: broken.sales_orders([s.seeded.orders["draft"].key]),
        }
        for name, read in reads.items():
            try:
                answer = await read()
            except SourceError:
                continue
            raise AssertionError(f"{name}: garbage read as {answer!r}")
    finally:
        await broken.aclose()


async def check_write_not_retried(adapter: EditableErp, s: System) -> None:
    """A write whose answer failed is sent once, and reported as maybe applied."""
    failing: list[FailingWrites] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        failing.append(FailingWrites(inner, s.is_write))
        return failing[-1]

    editor = s.make_adapter(wrap)
    key = s.seeded.draft_line
    try:
        line = (await editor.order_lines_by_key([key]))[key]
        try:
            await editor.change_order_line(
                key,
                LineChanges(description=f"never {s.name}"),
                version=line.version,
                idempotency_key=f"retry-{s.name}",
            )
        except SourceError as error:
            assert error.maybe_applied, "a write that may have been applied must say so"
        else:
            raise AssertionError("a failed write was reported as done")
    finally:
        await editor.aclose()
    assert sum(f.writes for f in failing) == 1, f"the write was sent {failing[0].writes} times"


CHECKS: dict[str, Check] = {
    "open_invoices": check_open_invoices,
    "amount_due": check_amount_due,
    "credit_note": check_credit_note,
    "open_balance": check_open_balance,
    "overdue": check_overdue,
    "revenue": check_revenue,
    "order_states": check_order_states,
    "open_orders_value": check_open_orders_value,
    "overdue_pushdown": check_overdue_pushdown,
    "account_search_pushdown": check_account_search_pushdown,
    "same_day_orders": check_same_day_orders,
    "orders_by_key": check_orders_by_key,
    "locked_order": check_locked_order,
    "missing_record": check_missing_record,
    "version_conflict": check_version_conflict,
    "declared_gaps": check_declared_gaps,
    "garbage_upstream": check_garbage_upstream,
    "write_not_retried": check_write_not_retried,
    **DESK_CHECKS,
}
"""Every check of the suite, by name (the sales desk's from tests/support/contract_desk.py);
tests/contract runs each on every adapter."""

__all__ = [
    "BUSINESS_FACTS",
    "CHECKS",
    "MISSING",
    "NotOffered",
    "Seeded",
    "SeededInvoice",
    "SeededOrder",
    "System",
    "TransportWrapper",
]
