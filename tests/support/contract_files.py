"""The contract suite's business facts written as an ERP's exported files, for the file
source: as CSV files (the way a German or Norwegian export writes them: ';', a byte-order
mark, decimal comma, '.' between thousands, day-first dates) and as one Excel workbook
(Excel's own numbers and dates, one sheet per table).

The facts are the ones the demo ERP's loader makes (tests/support/contract_demo.py), as
rows of the legacy ERP's tables with its numeric status codes
(tests/support/contract_sql.py ``legacy_rows``); the spec written beside the files maps
them as demo/legacy_erp/spec.yaml maps the database. What the file source reads back is
then held to the same checks as every other adapter.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml

from demo.files.xlsx import Cell, write_xlsx
from sources.files import FilesConfig, FileSource
from tests.support.contract import Seeded
from tests.support.contract_demo import business_facts
from tests.support.contract_sql import legacy_rows

FileKind = Literal["csv", "xlsx"]

COLUMNS: dict[str, dict[str, str]] = {
    "cust": {
        "cust_no": "text",
        "cust_name": "text",
        "curr": "text",
        "credit_lim": "decimal",
        "country": "text",
        "vat_no": "text",
        "disc_pct": "decimal",
        "pay_days": "integer",
    },
    "ord_hdr": {
        "ord_no": "text",
        "cust_no": "text",
        "ord_stat": "integer",
        "ord_dt": "date",
        "net_amt": "decimal",
        "gross_amt": "decimal",
        "curr": "text",
        "line_cnt": "integer",
        "rev_no": "text",
    },
    "ord_line": {
        "line_id": "text",
        "ord_no": "text",
        "item_no": "text",
        "descr": "text",
        "qty": "decimal",
        "unit_price": "decimal",
        "disc_pct": "decimal",
        "line_amt": "decimal",
        "dlv_dt": "date",
        "rev_no": "text",
        "curr": "text",
    },
    "inv_hdr": {
        "inv_no": "text",
        "cust_no": "text",
        "ord_no": "text",
        "proj_no": "text",
        "inv_dt": "date",
        "due_dt": "date",
        "gross_amt": "decimal",
        "net_amt": "decimal",
        "open_amt": "decimal",
        "curr": "text",
        "inv_stat": "integer",
    },
}
"""Each exported table's columns and their types."""
KEYS = {"cust": "cust_no", "ord_hdr": "ord_no", "ord_line": "line_id", "inv_hdr": "inv_no"}

_INVOICE = {
    "key": "inv_no",
    "number": "inv_no",
    "customer_key": "cust_no",
    "order_key": "ord_no",
    "project_key": "proj_no",
    "issue_date": "inv_dt",
    "due_date": "due_dt",
    "total": {"amount": "gross_amt", "currency": "curr"},
    "total_untaxed": {"amount": "net_amt", "currency": "curr"},
    "amount_due": {"amount": "open_amt", "currency": "curr"},
    "status": {
        "path": "inv_stat",
        "map": {10: "DRAFT", 20: "OPEN", 30: "OPEN", 70: "PAID", 90: "CANCELLED"},
    },
    "status_raw": "inv_stat",
}
_ORDER = {
    "key": "ord_no",
    "number": "ord_no",
    "customer_key": "cust_no",
    "status": {
        "path": "ord_stat",
        "map": {
            10: "DRAFT",
            20: "QUOTED",
            30: "CONFIRMED",
            40: "CONFIRMED",
            70: "INVOICED",
            90: "CANCELLED",
        },
    },
    "status_raw": "ord_stat",
    "order_date": "ord_dt",
    "total_untaxed": {"amount": "net_amt", "currency": "curr"},
    "total": {"amount": "gross_amt", "currency": "curr"},
    "line_count": "line_cnt",
    "version": "rev_no",
}
_LINE = {
    "key": "line_id",
    "order_key": "ord_no",
    "product_key": "item_no",
    "description": "descr",
    "quantity": "qty",
    "unit_price": {"amount": "unit_price", "currency": "curr"},
    "discount_percent": "disc_pct",
    "amount": {"amount": "line_amt", "currency": "curr"},
    "delivery_date": "dlv_dt",
    "version": "rev_no",
}
OPERATIONS: dict[str, dict[str, Any]] = {
    "customers": {
        "table": "cust",
        "fields": {
            "key": "cust_no",
            "name": "cust_name",
            "currency": "curr",
            "credit_limit": {"amount": "credit_lim", "currency": "curr"},
            "country": "country",
            "vat_id": "vat_no",
            "discount_percent": "disc_pct",
            "payment_terms_days": "pay_days",
        },
    },
    "invoices": {"table": "inv_hdr", "fields": _INVOICE},
    "project_invoices": {"table": "inv_hdr", "fields": _INVOICE},
    "invoices_by_key": {"table": "inv_hdr", "fields": _INVOICE},
    "orders": {"table": "ord_hdr", "fields": _ORDER},
    "sales_orders": {"table": "ord_hdr", "fields": _ORDER},
    "order_lines": {"table": "ord_line", "fields": _LINE},
    "order_lines_by_key": {"table": "ord_line", "fields": _LINE},
}
UNSUPPORTED_READS = frozenset(
    {
        "products",
        "projects",
        "customer_projects",
        "suppliers",
        "purchase_orders",
        "purchase_order_lines",
        "payables",
    }
)
"""What the exported files do not hold: the source answers NOT_SUPPORTED for them."""
UNSUPPORTED_FIGURES = frozenset({"credit_used", "line_unit", "project_hours"})
"""The export holds no credit used, no units on order lines and no timesheets."""


def _tables(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The legacy rows with each order line carrying its order's currency (an export
    writes it on the line; the database joins it)."""
    currency = {o["ord_no"]: o["curr"] for o in rows["ord_hdr"]}
    lines = [{**line, "curr": currency[line["ord_no"]]} for line in rows["ord_line"]]
    return {**rows, "ord_line": lines}


def _csv_cell(value: Any, kind: str) -> str:
    """A value as the export writes it: decimal comma, '.' between thousands, day first."""
    if value is None:
        return ""
    if kind == "decimal":
        grouped = format(Decimal(value), ",")
        return grouped.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if kind == "date":
        assert isinstance(value, date)
        return value.strftime("%d.%m.%Y")
    text = str(value)
    if any(c in text for c in ';"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(folder: Path, table: str, rows: list[dict[str, Any]]) -> None:
    columns = COLUMNS[table]
    lines = [";".join(columns)]
    lines += [";".join(_csv_cell(row.get(c), kind) for c, kind in columns.items()) for row in rows]
    (folder / f"{table}.csv").write_bytes(
        b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8")
    )


def _xlsx_cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | Decimal | date):
        return value
    return str(value)


def write_facts(folder: Path, today: date, kind: FileKind) -> tuple[Path, Seeded]:
    """Write the facts into ``folder`` as CSV files or one workbook, with the spec reading
    them; return the spec's path and what was made."""
    dataset, made = business_facts(today)
    rows = _tables(legacy_rows(dataset))
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Any] = {}
    sheets: dict[str, list[list[Cell]]] = {}
    for table, columns in COLUMNS.items():
        declared: dict[str, Any] = {"key": KEYS[table], "columns": columns}
        if kind == "csv":
            _write_csv(folder, table, rows[table])
            declared.update(
                file=f"{table}.csv",
                delimiter=";",
                decimal_separator=",",
                thousands_separator=".",
                date_format="%d.%m.%Y",
            )
        else:
            header: list[Cell] = list(columns)
            sheets[table] = [header] + [
                [_xlsx_cell(row.get(c)) for c in columns] for row in rows[table]
            ]
            declared.update(file="erp.xlsx", sheet=table)
        tables[table] = declared
    if kind == "xlsx":
        write_xlsx(folder / "erp.xlsx", sheets)
    spec = folder / "spec.yaml"
    spec.write_text(
        yaml.safe_dump({"tables": tables, "operations": OPERATIONS}, sort_keys=False),
        encoding="utf-8",
    )
    return spec, Seeded.from_json(made)


def file_adapter(spec: Path, name: str) -> FileSource:
    """A file source over the facts' files."""
    return FileSource(name, FilesConfig(kind="erp", adapter="files", spec=spec))


def gateway_system(spec: Path) -> dict[str, Any]:
    """The ``systems:`` entry of a Keylink reading the facts' files."""
    return {"kind": "erp", "adapter": "files", "spec": str(spec)}


def is_write(_request: httpx.Request) -> bool:
    """The file source sends no HTTP at all, so no request is ever a write."""
    return False
