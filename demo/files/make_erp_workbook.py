"""Write demo/files/erp.xlsx: an ERP's Excel export of customers, invoices, orders and
order lines, with the awkward states FIGURES.md holds every source to (a draft, a
cancelled invoice, a credit note, a partly paid invoice, an order and an invoice in a
state code the spec does not translate).

Run ``python -m demo.files.make_erp_workbook`` after changing the rows below; the same
rows always give the same bytes, so the committed workbook can be checked against it.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from demo.files.xlsx import Cell, write_xlsx

WORKBOOK = Path(__file__).resolve().parent / "erp.xlsx"

D = Decimal

CUSTOMERS: list[list[Cell]] = [
    ["Customer", "Name", "Currency", "Credit limit", "Country", "VAT id", "Payment days"],
    ["K-100", "Alpenblick AG", "EUR", D("50000"), "AT", "ATU12345678", 30],
    ["K-200", "Seeblick GmbH", "CHF", None, "CH", "CHE-123.456.789", 10],
]

# status codes of this ERP: E draft (Entwurf), B booked, T partly paid, P paid,
# S cancelled (storniert); X9 is a code the spec does not know
INVOICES: list[list[Cell]] = [
    ["Invoice", "Customer", "Order", "Date", "Due", "Gross", "Net", "Open", "Currency", "Status"],
    [
        "RE-5001",
        "K-100",
        "AU-7004",
        date(2026, 10, 1),
        date(2026, 10, 31),
        D("1190.00"),
        D("1000.00"),
        D("1190.00"),
        "EUR",
        "B",
    ],
    [
        "RE-5002",
        "K-100",
        None,
        date(2026, 11, 2),
        date(2026, 11, 16),
        D("2380.00"),
        D("2000.00"),
        D("1000.00"),
        "EUR",
        "T",
    ],
    [
        "RE-5003",
        "K-100",
        "AU-7003",
        date(2026, 12, 1),
        None,
        D("595.00"),
        D("500.00"),
        D("595.00"),
        "EUR",
        "E",
    ],
    [
        "RE-5004",
        "K-100",
        None,
        date(2026, 9, 15),
        date(2026, 10, 15),
        D("238.00"),
        D("200.00"),
        D("0"),
        "EUR",
        "S",
    ],
    [
        "GS-5005",
        "K-100",
        None,
        date(2026, 11, 20),
        date(2026, 11, 20),
        D("-595.00"),
        D("-500.00"),
        D("-595.00"),
        "EUR",
        "B",
    ],
    [
        "RE-5006",
        "K-100",
        None,
        date(2026, 8, 3),
        date(2026, 9, 2),
        D("476.00"),
        D("400.00"),
        D("0"),
        "EUR",
        "P",
    ],
    [
        "RE-5007",
        "K-100",
        None,
        date(2026, 12, 2),
        date(2027, 1, 1),
        D("119.00"),
        D("100.00"),
        D("119.00"),
        "EUR",
        "X9",
    ],
    [
        "RE-6001",
        "K-200",
        None,
        date(2026, 11, 5),
        date(2026, 11, 15),
        D("3240.00"),
        D("3000.00"),
        D("3240.00"),
        "CHF",
        "B",
    ],
]

# order codes: ENT draft, ANG quoted (Angebot), AB confirmed, LI delivered (still
# confirmed to Keylink: not invoiced), FA invoiced, ST cancelled; Q7 is unknown to the spec
ORDERS: list[list[Cell]] = [
    ["Order", "Customer", "Date", "Net", "Gross", "Currency", "Status", "Lines", "Revision"],
    ["AU-7001", "K-100", date(2026, 12, 3), D("80.00"), D("95.20"), "EUR", "ENT", 1, 1],
    ["AU-7002", "K-100", date(2026, 11, 28), D("550.00"), D("654.50"), "EUR", "ANG", 1, 2],
    ["AU-7003", "K-100", date(2026, 11, 25), D("500.00"), D("595.00"), "EUR", "LI", 1, 3],
    ["AU-7004", "K-100", date(2026, 9, 30), D("1000.00"), D("1190.00"), "EUR", "FA", 1, 4],
    ["AU-7005", "K-100", date(2026, 9, 1), D("110.00"), D("130.90"), "EUR", "ST", 1, 1],
    ["AU-7006", "K-100", date(2026, 12, 4), D("40.00"), D("47.60"), "EUR", "Q7", 1, 1],
    ["AU-8001", "K-200", date(2026, 11, 1), D("3000.00"), D("3240.00"), "CHF", "FA", 1, 2],
]

LINES: list[list[Cell]] = [
    [
        "Line",
        "Order",
        "Item",
        "Text",
        "Qty",
        "Price",
        "Discount",
        "Amount",
        "Currency",
        "Delivery",
        "Revision",
    ],
    [
        1,
        "AU-7001",
        "P-1",
        "Wanderschuh",
        D("2"),
        D("40.00"),
        D("0"),
        D("80.00"),
        "EUR",
        date(2026, 12, 17),
        1,
    ],
    [
        2,
        "AU-7002",
        "P-2",
        "Zelt",
        D("5"),
        D("110.00"),
        D("0"),
        D("550.00"),
        "EUR",
        date(2026, 12, 12),
        2,
    ],
    [
        3,
        "AU-7003",
        "P-3",
        "Rucksack",
        D("10"),
        D("55.00"),
        D("9.0909"),
        D("500.00"),
        "EUR",
        None,
        3,
    ],
    [
        4,
        "AU-7004",
        "P-2",
        "Zelt",
        D("10"),
        D("100.00"),
        D("0"),
        D("1000.00"),
        "EUR",
        date(2026, 10, 14),
        4,
    ],
    [5, "AU-7005", "P-2", "Zelt", D("1"), D("110.00"), D("0"), D("110.00"), "EUR", None, 1],
    [6, "AU-7006", "P-1", "Wanderschuh", D("1"), D("40.00"), D("0"), D("40.00"), "EUR", None, 1],
    [7, "AU-8001", "P-9", "Beratung", D("20"), D("150.00"), D("0"), D("3000.00"), "CHF", None, 2],
]


def write_workbook(path: Path = WORKBOOK) -> Path:
    """Write the ERP's export to ``path`` (the shipped workbook by default)."""
    return write_xlsx(
        path,
        {"Customers": CUSTOMERS, "Invoices": INVOICES, "Orders": ORDERS, "Order lines": LINES},
    )


if __name__ == "__main__":
    sys.stdout.write(f"{write_workbook()}\n")
