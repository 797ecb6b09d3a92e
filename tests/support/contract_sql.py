"""The contract suite's business facts loaded into the legacy ERP's schema
(demo/legacy_erp), for the SQL source on SQLite, PostgreSQL and MariaDB.

The facts are the ones the demo ERP's loader makes (tests/support/contract_demo.py: the
same orders, lines, invoices, supplier, purchases and project, by the same rules: tax
25 %, amount due = total - paid, a processing order's invoice a draft without due date);
here they are written as the legacy ERP keeps them: rows with its own numeric status
codes. What the SQL source reads
back is then held to the same checks as every other adapter.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from demo.legacy_erp import SPEC, install_legacy_erp
from demo.records import DemoDataset
from sources.sql import SqlConfig, SqlSource
from tests.support.contract import Seeded
from tests.support.contract_demo import business_facts

ORDER_CODES = {
    "draft": 10,
    "quoted": 20,
    "confirmed": 30,
    "processing": 40,
    "invoiced": 70,
    "cancelled": 90,
}
"""The legacy ERP's order codes (demo/legacy_erp/schema.sql) for the demo ERP's states."""
PURCHASE_CODES = {"open": 10, "received": 50, "cancelled": 90}
PROJECT_CODES = {"open": 1, "closed": 9}
UNSUPPORTED_READS = frozenset({"products", "purchase_order_lines", "invoices_by_key"})
"""The legacy ERP keeps no product table and no purchase lines (the SQL source declares
no such read), and its shipped spec reads no invoices by number: null with
NOT_SUPPORTED."""
UNSUPPORTED_FIGURES = frozenset({"credit_used", "line_unit", "project_hours"})
"""The legacy ERP keeps no credit used, no units on order lines and no timesheets."""


def _invoice_code(status: str, amount_paid: Decimal) -> int:
    if status == "draft":
        return 10
    if status == "paid":
        return 70
    if status == "cancelled":
        return 90
    return 30 if amount_paid else 20  # posted; 30 when partly paid


def legacy_rows(dataset: DemoDataset) -> dict[str, list[dict[str, Any]]]:
    """The facts as rows of the legacy ERP's tables, by table."""
    customers = [
        {
            "cust_no": c.number,
            "cust_name": c.name,
            "curr": c.currency,
            "credit_lim": c.credit_limit,
            "country": c.country,
            "vat_no": c.vat_id,
            "disc_pct": c.discount_percent,
            "pay_days": c.payment_terms_days,
        }
        for c in dataset.customers.values()
    ]
    orders = [
        {
            "ord_no": o.number,
            "cust_no": o.customer,
            "ord_stat": ORDER_CODES[o.status],
            "ord_dt": o.order_date,
            "net_amt": o.total_untaxed,
            "gross_amt": o.total,
            "curr": o.currency,
            "line_cnt": o.line_count,
            "rev_no": o.version,
            "tax_pct": Decimal(25),  # the demo ERP's rule (contract_demo: tax 25 %)
        }
        for o in dataset.orders.values()
    ]
    lines = [
        {
            "line_id": int(line.id),
            "ord_no": line.order,
            "item_no": line.product,
            "descr": line.description,
            "qty": line.quantity,
            "unit_price": line.unit_price,
            "disc_pct": line.discount_percent,
            "line_amt": line.amount,
            "dlv_dt": line.delivery_date,
            "rev_no": line.version,
        }
        for line in dataset.order_lines.values()
    ]
    invoices = [
        {
            "inv_no": i.number,
            "cust_no": i.customer,
            "ord_no": i.order,
            "proj_no": i.project,
            "inv_dt": i.issue_date,
            "due_dt": i.due_date,
            "gross_amt": i.total,
            "net_amt": i.total_untaxed,
            "open_amt": i.amount_due,
            "curr": i.currency,
            "inv_stat": _invoice_code(i.status, i.amount_paid),
        }
        for i in dataset.invoices.values()
    ]
    suppliers = [
        {"supp_no": x.number, "supp_name": x.name, "curr": x.currency, "country": x.country}
        for x in dataset.suppliers.values()
    ]
    purchases = [
        {
            "po_no": po.number,
            "supp_no": po.supplier,
            "po_stat": PURCHASE_CODES[po.status],
            "po_dt": po.order_date,
            "exp_dt": po.expected_date,
            "total": po.total,
            "curr": po.currency,
        }
        for po in dataset.purchase_orders.values()
    ]
    projects = [
        {
            "proj_no": x.number,
            "cust_no": x.customer,
            "proj_name": x.name,
            "budget": x.budget,
            "phase": PROJECT_CODES[x.status],
            "start_dt": x.start_date,
        }
        for x in dataset.projects.values()
    ]
    return {
        "cust": customers,
        "supp": suppliers,
        "proj": projects,
        "ord_hdr": orders,
        "ord_line": lines,
        "inv_hdr": invoices,
        "po_hdr": purchases,
    }


def _for_driver(value: Any, backend: str) -> Any:
    """SQLite's driver binds neither Decimal nor (without a deprecated adapter) date."""
    if backend == "sqlite" and isinstance(value, Decimal | date):
        return str(value)
    return value


async def seed_facts(url: URL, today: date) -> Seeded:
    """Create the legacy ERP's tables in the empty database ``url``, write the facts
    into them, and report what was made."""
    dataset, made = business_facts(today)
    engine = create_async_engine(url)
    backend = url.get_backend_name()
    try:
        await install_legacy_erp(engine, seed=False)
        async with engine.begin() as connection:
            for table, rows in legacy_rows(dataset).items():
                if not rows:
                    continue
                columns = list(rows[0])
                insert = text(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})"
                )
                await connection.execute(
                    insert,
                    [{k: _for_driver(v, backend) for k, v in row.items()} for row in rows],
                )
    finally:
        await engine.dispose()
    return Seeded.from_json(made)


def sql_adapter(url: URL, name: str = "legacy-erp", spec: Path = SPEC) -> SqlSource:
    """A SQL source over the facts' database, with the shipped legacy ERP spec and a user
    that may write (``read_only: false``), so its order-line edits are offered."""
    config = SqlConfig(
        kind="erp",
        adapter="sql",
        url=url.render_as_string(hide_password=False),
        spec=spec,
        read_only=False,
    )
    return SqlSource(name, config)


def gateway_system(url: URL, spec: Path = SPEC) -> dict[str, Any]:
    """The ``systems:`` entry of a Keylink reading the facts' database."""
    return {
        "kind": "erp",
        "adapter": "sql",
        "url": url.render_as_string(hide_password=False),
        "spec": str(spec),
        "read_only": False,
    }


def is_write(_request: httpx.Request) -> bool:
    """The SQL source sends no HTTP at all, so no request is ever a write."""
    return False
