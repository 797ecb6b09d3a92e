"""The shipped ERP workbook (demo/files/erp.xlsx) is what its script writes: anyone can
regenerate it from the rows in demo/files/make_erp_workbook.py and get the same file."""

from __future__ import annotations

from pathlib import Path

from demo.files import ERP_WORKBOOK
from demo.files.make_erp_workbook import write_workbook


def test_the_shipped_workbook_is_reproducible(tmp_path: Path) -> None:
    written = write_workbook(tmp_path / "erp.xlsx")
    assert written.read_bytes() == ERP_WORKBOOK.read_bytes(), (
        "demo/files/erp.xlsx differs from its script's output: "
        "run python -m demo.files.make_erp_workbook"
    )
