"""Deterministic demo data for the three demo upstreams (ERP, CRM, timesheet).

``generate(seed, today)`` returns a ``DemoDataset``; the same ``(seed, today)`` always gives
identical data, and every date is relative to ``today``. The record classes are re-exported
from ``demo.records``.

Scale (per dataset): 240 ERP customers, 36 suppliers, 46 products, 2,300 sales orders and
~280 call-off orders with ~8,500 lines, ≥ 5,200 invoices (credit notes and drafts among
them), 165 ERP projects, ~240 CRM accounts, ~235 timesheet clients,
~165 timesheet projects, 30 employees, ~22,000 time entries, 1,800 expenses.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date
from typing import TypeVar

from demo.gen_common import Calendar
from demo.gen_money import (
    MIN_INVOICES,
    finish_invoices,
    make_orders,
    make_purchasing,
    project_invoice_drafts,
    standalone_drafts,
)
from demo.gen_parties import (
    Parties,
    make_clients,
    make_crm,
    make_customers,
    make_employees,
    make_products,
    make_suppliers,
)
from demo.gen_work import Work, make_entries, make_expenses, make_projects, make_ts_projects
from demo.records import (
    CrmAccount,
    CrmActivity,
    CrmContact,
    DemoDataset,
    Employee,
    EntityKeys,
    ErpCustomer,
    ErpProject,
    ErpSupplier,
    Expense,
    Invoice,
    OrderLine,
    Payable,
    Payment,
    Product,
    PurchaseOrder,
    SalesOrder,
    TimeEntry,
    TsClient,
    TsProject,
)

__all__ = [
    "CrmAccount",
    "CrmActivity",
    "CrmContact",
    "DemoDataset",
    "Employee",
    "EntityKeys",
    "ErpCustomer",
    "ErpProject",
    "ErpSupplier",
    "Expense",
    "Invoice",
    "OrderLine",
    "Payable",
    "Payment",
    "Product",
    "PurchaseOrder",
    "SalesOrder",
    "TimeEntry",
    "TsClient",
    "TsProject",
    "generate",
]

R = TypeVar("R")


def _by_key(records: Iterable[R], key: str) -> dict[str, R]:
    return {getattr(r, key): r for r in records}


def generate(seed: int = 42, today: date | None = None) -> DemoDataset:
    """Build the whole demo dataset for ``seed`` relative to ``today`` (default: today).

    Deterministic: equal ``(seed, today)`` give equal datasets. Runs in well under 2 s.
    """
    today = today or date.today()
    rng = random.Random(f"keylink-demo/{seed}")
    # The ERP's later documents (quotations, processing orders and their draft invoices,
    # call-off orders, credit notes, cancellations) draw from a second stream, so that
    # everything the first stream made stays exactly as it was before they were added.
    side = random.Random(f"keylink-demo/{seed}/documents")
    cal = Calendar(today)

    parties = make_customers(rng)
    suppliers = make_suppliers()
    products = make_products(rng, today)
    accounts, contacts, activities = make_crm(rng, cal, parties)
    clients = make_clients(rng, parties)
    employees = make_employees(rng)

    work = make_projects(rng, cal, parties)
    make_ts_projects(rng, cal, parties, work)
    make_entries(rng, cal, work, employees)
    make_expenses(rng, work)

    orders, lines, drafts = make_orders(rng, side, cal, parties, products)
    drafts += project_invoice_drafts(rng, cal, work)
    first_stream = sum(1 for d in drafts if d.posted and not d.side)
    drafts += standalone_drafts(rng, cal, parties, max(1_200, MIN_INVOICES - first_stream))
    invoices = finish_invoices(rng, side, cal, parties, drafts)
    purchase_orders, payables = make_purchasing(rng, cal, suppliers)

    entities = _entities(parties, suppliers, work)
    dataset = DemoDataset(
        seed=seed,
        today=today,
        customers=_by_key(parties.customers, "number"),
        suppliers=_by_key(suppliers, "number"),
        products=_by_key(products, "sku"),
        orders=_by_key(orders, "number"),
        order_lines=_by_key(lines, "id"),
        invoices=_by_key(invoices, "number"),
        projects=_by_key(work.projects, "number"),
        purchase_orders=_by_key(purchase_orders, "number"),
        payables=_by_key(payables, "number"),
        accounts=_by_key(accounts, "id"),
        contacts=_by_key(contacts, "id"),
        activities=_by_key(activities, "id"),
        clients=_by_key(clients, "code"),
        ts_projects=_by_key(work.ts_projects, "code"),
        employees=_by_key(employees, "id"),
        entries=_by_key(work.entries, "id"),
        expenses=_by_key(work.expenses, "id"),
        entities=entities,
    )
    dataset.build_indexes()
    return dataset


def _entities(parties: Parties, suppliers: list[ErpSupplier], work: Work) -> list[EntityKeys]:
    out: list[EntityKeys] = []
    for c in parties.customers:
        keys = {"erp": c.number}
        if c.number in parties.account_of:
            keys["crm"] = parties.account_of[c.number]
        if c.number in parties.client_of:
            keys["timesheet"] = parties.client_of[c.number]
        out.append(EntityKeys("customer", keys, linked=c.number not in parties.unlinked))
    out.extend(EntityKeys("customer", {"crm": acc}) for acc in parties.prospects)
    out.extend(EntityKeys("supplier", {"erp": s.number}) for s in suppliers)
    for p in work.projects:
        keys = {"erp": p.number}
        if p.number in work.ts_of:
            keys["timesheet"] = work.ts_of[p.number]
        out.append(EntityKeys("project", keys, linked=p.number != work.unlinked_project))
    out.extend(EntityKeys("project", {"timesheet": code}) for code in work.presales)
    return out
