"""The file source reads the shipped exports as their specs declare: the ERP's Excel
workbook with its awkward states, the timesheet's CSV files written the Norwegian way
(byte-order mark, ';', decimal comma, day-first dates, ja/nei), the same records from
CSV as from Excel, the newest export of a watched folder, and what it cannot give said
as NOT_SUPPORTED or SOURCE_UNAVAILABLE, never an empty answer."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.files import make_erp_workbook as workbook
from sources.errors import SourceUnavailable, Unsupported
from sources.files import FilesConfig, FileSource
from sources.money import Money
from sources.records import EntryQuery, InvoiceQuery, InvoiceStatus, OrderStatus
from tests.sources.files.conftest import file_source, write_csv, write_spec


async def test_the_erp_workbook_maps_every_awkward_state(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    invoices = {i.key: i for i in (await erp.invoices(["K-100"], InvoiceQuery()))["K-100"]}
    assert invoices["RE-5003"].status is InvoiceStatus.DRAFT
    assert invoices["RE-5004"].status is InvoiceStatus.CANCELLED
    partly = invoices["RE-5002"]
    assert partly.is_open and partly.amount_due == Money(Decimal("1000.00"), "EUR")
    assert partly.total == Money(Decimal("2380.00"), "EUR")
    note = invoices["GS-5005"]
    assert note.is_credit_note and note.is_open and not note.is_overdue(date(2026, 12, 6))
    unmapped = invoices["RE-5007"]
    assert (unmapped.status, unmapped.status_raw) == (InvoiceStatus.UNKNOWN, "X9")
    assert invoices["RE-5001"].due_date == date(2026, 10, 31)
    orders = {o.key: o for o in (await erp.orders(["K-100"], None))["K-100"]}
    assert orders["AU-7003"].status is OrderStatus.CONFIRMED  # delivered, not invoiced
    assert (orders["AU-7006"].status, orders["AU-7006"].status_raw) == (OrderStatus.UNKNOWN, "Q7")
    swiss = (await erp.invoices(["K-200"], InvoiceQuery()))["K-200"]
    assert [(i.key, i.total) for i in swiss] == [("RE-6001", Money(Decimal("3240"), "CHF"))]


async def test_an_unknown_state_is_kept_when_filtering_orders(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    found = await erp.orders(["K-100"], frozenset({OrderStatus.DRAFT}))
    assert {o.key for o in found["K-100"]} == {"AU-7001", "AU-7006"}


async def test_records_by_key_and_unknown_keys(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    orders = await erp.sales_orders(["AU-7001", "AU-9999"])
    assert set(orders) == {"AU-7001"}
    assert orders["AU-7001"].version == "1" and orders["AU-7001"].line_count == 1
    lines = await erp.order_lines(["AU-7003", "AU-9999"])
    assert [line.key for line in lines["AU-7003"]] == ["3"]
    assert lines["AU-9999"] == []
    assert set(await erp.order_lines_by_key(["3", "99"])) == {"3"}
    customers = await erp.customers(["K-100", "K-200"])
    assert customers["K-100"].credit_limit == Money(Decimal(50000), "EUR")
    assert customers["K-200"].credit_limit is None


async def test_decimal_comma_day_first_dates_and_yes_no_words(exports: Path) -> None:
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    entries = (await timesheet.time_entries(["TS-C-1"], EntryQuery()))["TS-C-1"]
    first = next(e for e in entries if e.key == "E-1001")
    assert first.hours == Decimal("7.5") and first.date == date(2026, 12, 1)
    assert first.billable is True and first.invoiced is False
    assert next(e for e in entries if e.key == "E-1004").description == "Support; telefon"
    projects = await timesheet.timesheet_projects(["TS-P-10", "TS-P-20", "TS-P-11"])
    assert projects["TS-P-10"].hourly_rate == Money(Decimal("1250.00"), "NOK")  # 1.250,00
    assert projects["TS-P-20"].budget_hours == Decimal("1200.5")  # 1.200,5
    assert projects["TS-P-11"].budget_hours is None
    by_project = await timesheet.project_time_entries(["TS-P-20"], EntryQuery(invoiced=False))
    assert [e.key for e in by_project["TS-P-20"]] == ["E-1006"]


async def test_a_byte_order_mark_or_none_and_a_declared_encoding(exports: Path) -> None:
    clients = exports / "timesheet" / "clients.csv"
    assert clients.read_bytes().startswith(b"\xef\xbb\xbf")  # the shipped file has one
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    assert (await timesheet.clients(["TS-C-3"]))["TS-C-3"].name == "Bølgen & Co"
    # the same file without its mark reads the same
    clients.write_bytes(clients.read_bytes()[3:])
    assert (await timesheet.clients(["TS-C-3"]))["TS-C-3"].name == "Bølgen & Co"
    # a Windows export, declared as such
    rows = [["client_id", "client_name"], ["TS-C-3", "Bølgen & Co"]]
    write_csv(exports / "win.csv", rows, encoding="cp1252")
    spec = {
        "tables": {
            "clients": {
                "file": "win.csv",
                "delimiter": ";",
                "encoding": "cp1252",
                "key": "client_id",
                "columns": {"client_id": "text", "client_name": "text"},
            }
        },
        "operations": {
            "clients": {"table": "clients", "fields": {"key": "client_id", "name": "client_name"}}
        },
    }
    windows = file_source(write_spec(exports / "win.yaml", spec), kind="timesheet")
    assert (await windows.clients(["TS-C-3"]))["TS-C-3"].name == "Bølgen & Co"


def _as_csv_text(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


async def test_csv_and_excel_give_the_same_records_for_the_same_data(exports: Path) -> None:
    """The ERP's sheets written as CSV files read back as exactly the workbook's records."""
    sheets = {
        "customers": workbook.CUSTOMERS,
        "invoices": workbook.INVOICES,
        "orders": workbook.ORDERS,
        "lines": workbook.LINES,
    }
    spec = yaml.safe_load((exports / "erp.yaml").read_text(encoding="utf-8"))
    for table, rows in sheets.items():
        write_csv(exports / f"{table}.csv", [[_as_csv_text(c) for c in r] for r in rows])
        declared = spec["tables"][table]
        declared.pop("sheet")
        declared.update(file=f"{table}.csv", delimiter=";")
    from_csv = file_source(write_spec(exports / "erp-csv.yaml", spec))
    from_excel = file_source(exports / "erp.yaml")
    customers, orders = ["K-100", "K-200"], ["AU-7001", "AU-7003", "AU-8001"]
    for source in (from_excel, from_csv):
        assert await source.customers(customers)
    reads: list[Callable[[FileSource], Awaitable[Mapping[str, Any]]]] = [
        lambda s: s.customers(customers),
        lambda s: s.invoices(customers, InvoiceQuery()),
        lambda s: s.orders(customers, None),
        lambda s: s.sales_orders(orders),
        lambda s: s.order_lines(orders),
        lambda s: s.order_lines_by_key(["1", "3", "7"]),
    ]
    for read in reads:
        excel = await read(from_excel)
        assert excel and all(excel.values())
        assert await read(from_csv) == excel


def _entries_spec(folder: str, **extra: Any) -> dict[str, Any]:
    return {
        "tables": {
            "entries": {
                "folder": folder,
                "pattern": "entries-*.csv",
                "delimiter": ";",
                "key": "entry_id",
                "columns": {
                    "entry_id": "text",
                    "client_id": "text",
                    "project_id": "text",
                    "hours": "decimal",
                },
                **extra,
            }
        },
        "operations": {
            "time_entries": {
                "table": "entries",
                "fields": {
                    "key": "entry_id",
                    "client_key": "client_id",
                    "project_key": "project_id",
                    "employee": {"const": "someone"},
                    "date": {"const": "2026-12-01"},
                    "hours": "hours",
                    "billable": {"const": True},
                    "invoiced": {"const": False},
                },
            }
        },
    }


def _export(folder: Path, name: str, hours: str, modified: int) -> None:
    rows = [["entry_id", "client_id", "project_id", "hours"], ["E-1", "C-1", "", hours]]
    path = write_csv(folder / name, rows)
    os.utime(path, ns=(modified, modified))


async def _hours(source: Any) -> Decimal:
    entries = (await source.time_entries(["C-1"], EntryQuery()))["C-1"]
    assert len(entries) == 1
    hours: Decimal = entries[0].hours
    return hours


async def test_the_watched_folder_serves_its_newest_export(tmp_path: Path) -> None:
    folder = tmp_path / "daily"
    day = 86_400 * 10**9
    start = 1_790_000_000 * 10**9
    _export(folder, "entries-b.csv", "2", start)
    _export(folder, "entries-a.csv", "3", start + day)  # last modified, first by name
    (folder / "unrelated.csv").write_text("not an export\n", encoding="utf-8")
    source = file_source(write_spec(tmp_path / "spec.yaml", _entries_spec("daily")), "timesheet")
    assert await _hours(source) == Decimal(3)
    _export(folder, "entries-c.csv", "4", start + 2 * day)  # today's export arrives
    assert await _hours(source) == Decimal(4)
    by_name = _entries_spec("daily", newest_by="name")
    named = file_source(write_spec(tmp_path / "named.yaml", by_name), "timesheet")
    _export(folder, "entries-0.csv", "5", start + 3 * day)  # newest, but first by name
    assert await _hours(named) == Decimal(4)
    assert await _hours(source) == Decimal(5)


async def test_no_export_at_all_is_unavailable_not_empty(exports: Path) -> None:
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    for old in (exports / "timesheet" / "entries").iterdir():
        old.unlink()
    with pytest.raises(SourceUnavailable):
        await timesheet.time_entries(["TS-C-1"], EntryQuery())
    (exports / "timesheet" / "clients.csv").unlink()
    with pytest.raises(SourceUnavailable):
        await timesheet.clients(["TS-C-1"])


async def test_a_header_without_a_declared_column_is_unavailable(exports: Path) -> None:
    clients = exports / "timesheet" / "clients.csv"
    write_csv(clients, [["client_id", "name"], ["TS-C-1", "Nordlys AS"]], bom=True)
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    with pytest.raises(SourceUnavailable) as raised:
        await timesheet.clients(["TS-C-1"])
    assert "client_name" in raised.value.detail


async def test_a_read_the_spec_does_not_give_is_unsupported(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    for read in (
        erp.products(["P-1"]),
        erp.projects(["X"]),
        erp.suppliers(["X"]),
        erp.payables(["X"], True),
        erp.clients(["X"]),
    ):
        with pytest.raises(Unsupported):
            await read
    assert erp.write_operations == frozenset()


async def test_the_systems_translation_tables_in_config_extend_the_spec(exports: Path) -> None:
    config = FilesConfig.model_validate(
        {
            "kind": "erp",
            "adapter": "files",
            "spec": str(exports / "erp.yaml"),
            "translations": {"invoice_status": {"X9": "PAID"}, "order_status": {"LI": "INVOICED"}},
        }
    )
    erp = FileSource("erp", config)
    invoices = {i.key: i for i in (await erp.invoices(["K-100"], InvoiceQuery()))["K-100"]}
    assert (invoices["RE-5007"].status, invoices["RE-5007"].status_raw) == (
        InvoiceStatus.PAID,
        "X9",
    )
    assert invoices["RE-5002"].status is InvoiceStatus.OPEN  # the spec's own codes still hold
    orders = {o.key: o for o in (await erp.orders(["K-100"], None))["K-100"]}
    assert orders["AU-7003"].status is OrderStatus.INVOICED
    assert orders["AU-7006"].status is OrderStatus.UNKNOWN
