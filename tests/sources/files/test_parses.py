"""Batched reads parse each version of a file once: however many reads, keys and
operations ask, and however many ask at the same time, a file is parsed again only when it
changed (``FileSource.parses`` counts the parses)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sources.records import EntryQuery, InvoiceQuery
from tests.sources.files.conftest import file_source


async def test_reads_of_one_version_parse_each_table_once(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    for _ in range(5):
        await erp.invoices(["K-100"], InvoiceQuery())
        await erp.invoices(["K-200", "K-100", "K-300"], InvoiceQuery())
        await erp.orders(["K-100"], None)
        await erp.sales_orders(["AU-7001", "AU-7002"])  # the orders table again
    assert erp.parses == 2  # invoices, orders


async def test_reads_at_the_same_time_share_one_parse(exports: Path) -> None:
    timesheet = file_source(exports / "timesheet.yaml", kind="timesheet")
    reads = [timesheet.time_entries([f"TS-C-{n % 3 + 1}"], EntryQuery()) for n in range(20)]
    reads += [timesheet.project_time_entries(["TS-P-10"], EntryQuery()) for _ in range(20)]
    answers = await asyncio.gather(*reads)
    assert timesheet.parses == 1
    assert len(answers[0]["TS-C-1"]) == 3


async def test_a_changed_file_is_parsed_again_once(exports: Path) -> None:
    erp = file_source(exports / "erp.yaml")
    await erp.customers(["K-100"])
    assert erp.parses == 1
    workbook = exports / "erp.xlsx"
    later = workbook.stat().st_mtime_ns + 5 * 10**9
    os.utime(workbook, ns=(later, later))  # the export was written again
    for _ in range(3):
        await erp.customers(["K-100"])
    assert erp.parses == 2
