"""Checks of exported demo rows against the independently computed expectations."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MONEY_COLUMNS = (
    "openBalance",
    "overdueAmount",
    "revenueYearToDate",
    "revenueSamePeriodLastYear",
    "openOrdersValue",
)

COLUMNS = [
    "erp.key",
    "erp.name",
    "erp.currency",
    "erp.creditLimit.amount",
    "erp.creditLimit.currency",
    *(f"financialOverview.{name}" for name in MONEY_COLUMNS[:2]),
    "financialOverview.overdueCount",
    *(f"financialOverview.{name}" for name in MONEY_COLUMNS[2:]),
    "financialOverview.hoursThisMonth",
    "financialOverview.unbilledHours",
]
"""The columns the overview document must give, in document order."""


def _money(cell: Any) -> list[tuple[Decimal, str]]:
    items = json.loads(cell) if isinstance(cell, str) else cell
    return [(Decimal(m["amount"]), m["currency"]) for m in items]


def check_rows(rows: list[dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    """Every expected customer exactly once, each cell equal to the raw-data figure."""
    assert len(rows) == len(expected)
    assert sorted(str(r["erp.key"]) for r in rows) == sorted(expected)
    for row in rows:
        want = expected[str(row["erp.key"])]
        where = f"customer {row['erp.key']}"
        assert row["erp.name"] == want["name"], where
        assert row["erp.currency"] == want["currency"], where
        assert Decimal(str(row["erp.creditLimit.amount"])) == Decimal(want["creditLimit"]), where
        assert row["erp.creditLimit.currency"] == want["currency"], where
        for name in MONEY_COLUMNS:
            got = _money(row[f"financialOverview.{name}"])
            assert got == [(Decimal(m["amount"]), m["currency"]) for m in want[name]], (
                where,
                name,
            )
        assert int(row["financialOverview.overdueCount"]) == want["overdueCount"], where
        for name in ("hoursThisMonth", "unbilledHours"):
            assert Decimal(str(row[f"financialOverview.{name}"])) == want[name], (where, name)
