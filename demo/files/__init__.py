"""Shipped examples of the file source (``adapter: files``): a timesheet system's CSV
exports (``timesheet.yaml``, ``timesheet/``) and an ERP's Excel export (``erp.yaml``,
``erp.xlsx``, written by ``make_erp_workbook.py``)."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
TIMESHEET_SPEC = FOLDER / "timesheet.yaml"
ERP_SPEC = FOLDER / "erp.yaml"
ERP_WORKBOOK = FOLDER / "erp.xlsx"

__all__ = ["ERP_SPEC", "ERP_WORKBOOK", "FOLDER", "TIMESHEET_SPEC"]
