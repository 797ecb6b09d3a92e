"""A file spec is checked when the source is built: a mistake in it is named at start-up,
never met mid-request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from demo.files import ERP_SPEC, TIMESHEET_SPEC
from sources.files import FileSpec
from tests.sources.files.conftest import write_spec


def _spec(**table: Any) -> dict[str, Any]:
    declared = {"file": "c.csv", "key": "id", "columns": {"id": "text", "name": "text"}}
    declared.update(table)
    return {
        "tables": {"clients": declared},
        "operations": {"clients": {"table": "clients", "fields": {"key": "id", "name": "name"}}},
    }


def test_the_shipped_specs_are_valid() -> None:
    erp = FileSpec.from_file(ERP_SPEC)
    assert erp.key_of("orders") == "Customer" and erp.key_of("sales_orders") == "Order"
    timesheet = FileSpec.from_file(TIMESHEET_SPEC)
    assert timesheet.key_of("project_time_entries") == "project_id"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"folder": "exports"}, "either 'file' or 'folder'"),
        ({"file": None, "folder": "exports"}, "needs a 'pattern'"),
        ({"key": "number"}, "key column 'number'"),
        ({"file": "c.xlsx"}, "names its 'sheet'"),
        ({"encoding": "klingon"}, "unknown encoding"),
        ({"decimal_separator": ",", "thousands_separator": ","}, "must differ"),
        ({"columns": {"id": "text", "name": "money"}}, "columns.name"),
        ({"columns": {"id": "text"}}, "['name'] are not declared"),
    ],
)
def test_a_wrong_table_is_named(tmp_path: Path, change: dict[str, Any], named: str) -> None:
    path = write_spec(tmp_path / "spec.yaml", _spec(**change))
    with pytest.raises(ValueError, match=r"spec\.yaml") as raised:
        FileSpec.from_file(path)
    assert named in str(raised.value)


def test_an_operation_on_no_table_or_with_unknown_fields_is_named(tmp_path: Path) -> None:
    spec = _spec()
    spec["operations"]["clients"]["table"] = "customers"
    with pytest.raises(ValueError, match="no table 'customers'"):
        FileSpec.from_file(write_spec(tmp_path / "a.yaml", spec))
    spec = _spec()
    spec["operations"]["clients"]["fields"]["colour"] = "name"
    with pytest.raises(ValueError, match="unknown fields"):
        FileSpec.from_file(write_spec(tmp_path / "b.yaml", spec))
    spec = _spec()
    spec["operations"]["overdue_invoices"] = spec["operations"].pop("clients")
    with pytest.raises(ValueError, match="unknown operation"):
        FileSpec.from_file(write_spec(tmp_path / "c.yaml", spec))
