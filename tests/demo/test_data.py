"""The demo dataset: determinism, scale, formats and the business invariants it promises."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from demo.data import DemoDataset, generate
from demo.gen_common import same_day_last_year

from .conftest import TODAY

CURRENCIES = {"NOK", "DKK", "EUR", "SEK", "PLN"}


def test_same_seed_and_today_give_identical_data(dataset: DemoDataset) -> None:
    again = generate(42, TODAY)
    assert again == dataset


def _digest(ds: DemoDataset) -> str:
    return hashlib.sha256(repr(vars(ds)).encode()).hexdigest()


def test_identical_across_processes_and_hash_seeds(dataset: DemoDataset) -> None:
    code = (
        "import hashlib, datetime; from demo.data import generate; "
        "ds = generate(42, datetime.date(2025, 11, 28)); "
        "print(hashlib.sha256(repr(vars(ds)).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _digest(dataset)


def test_other_seed_or_today_gives_other_data(dataset: DemoDataset) -> None:
    other = generate(7, TODAY)
    assert other.customers != dataset.customers
    shifted = generate(42, TODAY + timedelta(days=1))
    assert max(i.issue_date for i in shifted.invoices.values()) <= TODAY + timedelta(days=1)
    assert shifted.today == TODAY + timedelta(days=1)


def test_today_defaults_to_the_current_date() -> None:
    assert generate(1).today == date.today()


def test_scale_minimums(dataset: DemoDataset) -> None:
    assert len(dataset.customers) >= 220
    assert len(dataset.suppliers) >= 30
    assert len(dataset.products) >= 40
    assert len(dataset.orders) >= 2_000
    assert len(dataset.invoices) >= 5_000
    assert len(dataset.entries) >= 20_000
    assert len(dataset.projects) >= 150
    assert len(dataset.ts_projects) >= 150
    assert len(dataset.accounts) >= 220
    assert len(dataset.clients) >= 215


def test_currencies(dataset: DemoDataset) -> None:
    assert {c.currency for c in dataset.customers.values()} == CURRENCIES
    assert {i.currency for i in dataset.invoices.values()} == CURRENCIES
    second = {
        i.customer
        for i in dataset.invoices.values()
        if i.currency != dataset.customers[i.customer].currency
    }
    assert 0.05 * len(dataset.customers) <= len(second) <= 0.15 * len(dataset.customers)
    for p in dataset.products.values():
        assert set(p.prices) == CURRENCIES


def test_names_with_special_characters(dataset: DemoDataset) -> None:
    names = {c.name for c in dataset.customers.values()}
    assert {"Bjørnstad Ærø AS", "Müller & Söhne GmbH", "Wrocław Łąka Sp. z o.o."} <= names
    text = " ".join(names)
    for char in "æøåäöüąęł":
        assert char in text.lower(), char


def test_key_formats(dataset: DemoDataset) -> None:
    ds = dataset
    patterns = {
        r"\d{5}": [*ds.customers, *ds.suppliers],
        r"P-\d{4}": ds.products,
        r"SO-\d{6}|CO-\d{5}-[1-9]\d*": ds.orders,
        r"[1-9]\d*": [*ds.order_lines, *ds.entries, *ds.expenses],
        r"INV-\d{6}": ds.invoices,
        r"PR-\d{4}": ds.projects,
        r"A-\d{4}": ds.accounts,
        r"C-\d{5}": ds.contacts,
        r"[A-Z0-9]+": ds.clients,
        r"[A-Z0-9]+-\d{2}": ds.ts_projects,
        r"E-\d{2}": ds.employees,
        r"PO-\d{6}": ds.purchase_orders,
        r"SI-\d{6}": ds.payables,
    }
    for pattern, keys in patterns.items():
        for key in keys:
            assert re.fullmatch(pattern, key), (pattern, key)
    assert min(ds.customers) == "10001" and min(ds.suppliers) == "70001"
    assert min(k for k in ds.orders if k.startswith("SO-")) == "SO-100001"
    assert min(ds.invoices) == "INV-200001"
    call_offs = {k for k in ds.orders if k.startswith("CO-")}
    assert call_offs and {k.rsplit("-", 1)[0][3:] for k in call_offs} <= set(ds.customers)
    assert min(ds.projects) == "PR-3001" and min(ds.accounts) == "A-1001"
    assert {"ACME", "BJORNSTAD", "MULLER", "MULLER2"} <= set(ds.clients)
    for p in ds.ts_projects.values():
        assert p.code.startswith(p.client + "-")


def test_primary_dicts_iterate_in_key_order(dataset: DemoDataset) -> None:
    assert list(dataset.customers) == sorted(dataset.customers)
    assert list(dataset.orders) == sorted(dataset.orders)
    assert list(dataset.invoices) == sorted(dataset.invoices)
    assert list(dataset.clients) == sorted(dataset.clients)
    assert list(dataset.entries) == sorted(dataset.entries, key=int)


def test_dates_are_within_history_and_cover_periods(dataset: DemoDataset) -> None:
    today = dataset.today
    issue = [i.issue_date for i in dataset.invoices.values()]
    assert min(issue) >= today - timedelta(days=940) and max(issue) <= today
    assert sum(d >= today.replace(day=1) for d in issue) >= 20
    orders = [o.order_date for o in dataset.orders.values()]
    assert sum(d >= today.replace(day=1) for d in orders) >= 10
    assert max(e.date for e in dataset.entries.values()) <= today


@pytest.mark.parametrize("today", [date(2026, 1, 1), date(2024, 2, 29)])
def test_this_year_and_same_period_last_year_never_empty(today: date) -> None:
    ds = generate(5, today)
    last = same_day_last_year(today)
    this_year = [i for i in ds.invoices.values() if i.issue_date >= today.replace(month=1, day=1)]
    last_year = [
        i
        for i in ds.invoices.values()
        if today.replace(year=today.year - 1, month=1, day=1) <= i.issue_date <= last
    ]
    assert len(this_year) >= 10 and len(last_year) >= 10
    assert sum(o.order_date.year == today.year for o in ds.orders.values()) >= 10


def test_order_line_and_order_arithmetic(dataset: DemoDataset) -> None:
    for line in dataset.order_lines.values():
        expected = line.quantity * line.unit_price * (1 - line.discount_percent / 100)
        assert line.amount == expected.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert -line.quantity.as_tuple().exponent <= 3  # type: ignore[operator]
        product = dataset.products[line.product]
        assert line.unit_price == product.prices[line.currency]
        assert line.version >= 1
    for order in dataset.orders.values():
        lines = [dataset.order_lines[k] for k in dataset.lines_by_order[order.number]]
        assert order.line_count == len(lines)
        assert order.total_untaxed == sum(ln.amount for ln in lines)
        assert order.tax == (order.total_untaxed * Decimal("0.25")).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
        assert order.total == order.total_untaxed + order.tax
        assert all(ln.currency == order.currency for ln in lines)


def test_old_orders_mostly_invoiced_recent_mostly_not(dataset: DemoDataset) -> None:
    cutoff = dataset.today - timedelta(days=90)
    old = Counter(o.status for o in dataset.orders.values() if o.order_date < cutoff)
    recent = Counter(
        o.status for o in dataset.orders.values() if o.order_date > dataset.today - timedelta(15)
    )
    assert old["invoiced"] > 0.85 * sum(old.values())
    assert old["quoted"] == 0  # a quotation not accepted within two months is cancelled
    assert recent["draft"] + recent["quoted"] + recent["confirmed"] > recent["invoiced"]
    assert set(Counter(o.status for o in dataset.orders.values())) == {
        "draft",
        "quoted",
        "confirmed",
        "processing",
        "invoiced",
        "cancelled",
    }


def _invoices_of_order(dataset: DemoDataset) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for inv in dataset.invoices.values():
        if inv.order is not None and inv.kind == "invoice":
            out.setdefault(inv.order, []).append(inv.number)
    return out


def test_an_order_is_invoiced_once_its_invoice_is_posted_and_processing_while_a_draft(
    dataset: DemoDataset,
) -> None:
    # The ERP's rule: a confirmed order whose invoice is drawn up but not posted is
    # processing; posting the invoice makes it invoiced. No other state has an invoice.
    invoices_of = _invoices_of_order(dataset)
    states: Counter[tuple[str, str]] = Counter()
    for order in dataset.orders.values():
        found = [dataset.invoices[n] for n in invoices_of.get(order.number, [])]
        if order.status in ("invoiced", "processing"):
            (invoice,) = found
            states[(order.status, invoice.status)] += 1
            assert invoice.total == order.total and invoice.customer == order.customer
        else:
            assert found == [], order
    assert set(states) == {
        ("processing", "draft"),
        ("invoiced", "open"),
        ("invoiced", "paid"),
    }
    assert states[("processing", "draft")] >= 20


def test_a_draft_invoice_is_unposted_and_unpaid(dataset: DemoDataset) -> None:
    drafts = [i for i in dataset.invoices.values() if i.status == "draft"]
    assert len(drafts) >= 20
    for inv in drafts:
        assert inv.due_date is None and inv.payments == () and inv.amount_paid == 0
        assert inv.amount_due == inv.total > 0 and not inv.is_overdue(dataset.today)
        assert dataset.orders[inv.order or ""].status == "processing"


def test_quotations_are_recent_and_locked(dataset: DemoDataset) -> None:
    quoted = [o for o in dataset.orders.values() if o.status == "quoted"]
    assert len(quoted) >= 10
    assert all(o.locked and o.order_date > dataset.today - timedelta(days=61) for o in quoted)
    assert [o for o in dataset.orders.values() if not o.locked] == [
        o for o in dataset.orders.values() if o.status == "draft"
    ]


def test_call_off_orders_come_in_batches_of_one_day_numbered_past_nine(
    dataset: DemoDataset,
) -> None:
    by_day: dict[tuple[str, date], list[int]] = {}
    for order in dataset.orders.values():
        if order.number.startswith("CO-"):
            prefix, n = order.number.rsplit("-", 1)
            assert prefix == f"CO-{order.customer}"
            by_day.setdefault((order.customer, order.order_date), []).append(int(n))
    assert len({customer for customer, _ in by_day}) == 3
    for numbers in by_day.values():
        assert 10 <= len(numbers) <= 13
        assert sorted(numbers) == list(range(min(numbers), max(numbers) + 1))
    # one day holds "CO-..-9" and "CO-..-10": plain text would put 10 before 9
    assert any(9 in numbers and 10 in numbers for numbers in by_day.values())


def test_invoice_invariants(dataset: DemoDataset) -> None:
    today = dataset.today
    opened = partial = overdue = 0
    for inv in dataset.invoices.values():
        customer = dataset.customers[inv.customer]
        if inv.status == "draft":
            assert inv.due_date is None
        else:
            assert inv.due_date == inv.issue_date + timedelta(days=customer.payment_terms_days)
        assert inv.total == inv.total_untaxed + inv.tax
        assert inv.tax == (inv.total_untaxed * Decimal("0.25")).quantize(
            Decimal("0.01"), rounding="ROUND_HALF_UP"
        )
        assert inv.amount_paid == sum(p.amount for p in inv.payments)
        if inv.status == "cancelled":
            assert inv.amount_due == 0 and inv.payments == ()
        else:
            assert inv.amount_due == inv.total - inv.amount_paid
        assert (inv.status == "paid") == (inv.amount_due == 0 and inv.status != "cancelled")
        assert all(inv.issue_date <= p.date <= today for p in inv.payments)
        assert [p.date for p in inv.payments] == sorted(p.date for p in inv.payments)
        assert (inv.total < 0) == (inv.kind == "credit_note")
        if inv.order is not None and inv.kind == "invoice":
            assert dataset.orders[inv.order].status in ("invoiced", "processing")
            assert dataset.orders[inv.order].total == inv.total
        if inv.project is not None:
            assert dataset.projects[inv.project].customer == inv.customer
        if inv.status == "open" and inv.kind == "invoice":
            opened += 1
            partial += inv.amount_paid > 0
            overdue += inv.is_overdue(today)
    assert partial >= 20
    assert overdue >= 0.3 * opened
    assert any(i.project for i in dataset.invoices.values())
    cancelled = [i for i in dataset.invoices.values() if i.status == "cancelled"]
    assert cancelled and all(i.order is None and i.project is None for i in cancelled)


def test_credit_notes_correct_a_posted_invoice_and_are_never_overdue(
    dataset: DemoDataset,
) -> None:
    today = dataset.today
    notes = [i for i in dataset.invoices.values() if i.kind == "credit_note"]
    assert len(notes) >= 50
    states = Counter((n.status, n.due_date is not None and n.due_date < today) for n in notes)
    # refunded or allocated ones, and open ones both before and past their due date
    assert states[("paid", True)] and states[("open", True)] and states[("open", False)]
    for note in notes:
        credited = dataset.invoices[note.credited_invoice or ""]
        assert credited.kind == "invoice" and credited.status in ("open", "paid")
        assert (note.customer, note.currency, note.order, note.project) == (
            credited.customer,
            credited.currency,
            credited.order,
            credited.project,
        )
        assert credited.issue_date <= note.issue_date <= today
        share = -note.total_untaxed / credited.total_untaxed
        assert Decimal("0.0999") < share <= 1  # 10 % to all of it (rounded to cents)
        assert note.number > credited.number  # one series, numbered by date
        assert note.amount_due <= 0 and not note.is_overdue(today)
    allocated = [n for n in notes if any(p.allocation for p in n.payments)]
    assert allocated
    for note in allocated:
        (entry,) = note.payments
        invoice = dataset.invoices[entry.allocation or ""]
        assert invoice.number == note.credited_invoice
        assert [(p.date, p.amount) for p in invoice.payments if p.allocation == note.number] == [
            (entry.date, -entry.amount)
        ]


def test_products(dataset: DemoDataset) -> None:
    units = Counter(p.unit for p in dataset.products.values())
    assert set(units) == {"pcs", "h", "kg"}
    for p in dataset.products.values():
        if p.on_hand > 0:
            assert p.available_from is None
    assert any(p.on_hand == 0 and p.available_from for p in dataset.products.values())


def test_time_entries(dataset: DemoDataset) -> None:
    today = dataset.today
    rates = {e.id: e.cost_rate for e in dataset.employees.values()}
    for e in dataset.entries.values():
        assert e.hours % Decimal("0.25") == 0 and e.hours > 0
        project = dataset.ts_projects[e.project]
        assert project.client == e.client and project.currency == e.currency
        assert e.employee in rates
        assert not (e.invoiced and not e.billable)
    old = [e for e in dataset.entries.values() if e.billable and e.date < today - timedelta(60)]
    new = [e for e in dataset.entries.values() if e.billable and e.date > today - timedelta(10)]
    assert sum(e.invoiced for e in old) > 0.85 * len(old)
    assert sum(e.invoiced for e in new) < 0.3 * len(new)
    eur = next(e for e in dataset.entries.values() if e.currency == "EUR")
    assert eur.cost_amount == (eur.hours * rates[eur.employee]).quantize(Decimal("0.01"))


def test_correspondence_counts(dataset: DemoDataset) -> None:
    customers = [e for e in dataset.entities if e.kind == "customer"]
    no_crm = [e for e in customers if "erp" in e.keys and "crm" not in e.keys]
    prospects = [e for e in customers if "erp" not in e.keys]
    no_ts = [e for e in customers if "erp" in e.keys and "timesheet" not in e.keys]
    assert (len(no_crm), len(prospects), len(no_ts)) == (5, 5, 5)
    assert len([e for e in dataset.entities if not e.linked]) == 3
    assert dataset.entities[22].keys == {"erp": "10023", "crm": "A-1043", "timesheet": "ACME"}
    # every key of the truth exists in its system, and every record has exactly one entity
    seen: Counter[tuple[str, str]] = Counter()
    for e in dataset.entities:
        for system, key in e.keys.items():
            seen[(system, key)] += 1
    assert all(n == 1 for n in seen.values())
    assert {k for s, k in seen if s == "crm"} == set(dataset.accounts)
    assert {k for s, k in seen if s == "timesheet"} == set(dataset.clients) | set(
        dataset.ts_projects
    )
    assert {k for s, k in seen if s == "erp"} == (
        set(dataset.customers) | set(dataset.suppliers) | set(dataset.projects)
    )


def test_systems_do_not_know_each_others_keys(dataset: DemoDataset) -> None:
    erp_keys = set(dataset.customers) | set(dataset.projects)
    crm_text = repr(list(dataset.accounts.values()) + list(dataset.contacts.values()))
    ts_text = repr(list(dataset.clients.values()) + list(dataset.ts_projects.values()))
    for key in erp_keys:
        assert f"'{key}'" not in crm_text and f"'{key}'" not in ts_text
    erp_text = repr(list(dataset.customers.values()) + list(dataset.projects.values()))
    for acc in dataset.accounts:
        assert f"'{acc}'" not in erp_text
