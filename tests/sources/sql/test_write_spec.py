"""A spec's ``writes:`` section is refused when it would bind anything but its declared
parameters, write without a version guard, or run the wrong kind of statement; the shipped
spec is accepted. No database needed: the spec is refused when it is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sources.sql.spec import SqlSpec
from tests.sources.sql.conftest import shipped_spec


def _read(spec: dict[str, Any], tmp_path: Path) -> SqlSpec:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return SqlSpec.from_file(path)


def _with(place: str, value: Any) -> dict[str, Any]:
    spec = shipped_spec()
    spec["writes"][place] = value
    return spec


def test_the_shipped_spec_declares_guarded_writes(tmp_path: Path) -> None:
    spec = _read(shipped_spec(), tmp_path)
    assert spec.writes is not None
    assert spec.writes.editable_states == frozenset({"10"})
    assert spec.writes.version_column == "rev_no"


@pytest.mark.parametrize(
    ("place", "statement", "named"),
    [
        (
            "change",
            ["UPDATE ord_line SET qty = :qty WHERE line_id = :line AND rev_no = :expected"],
            "qty",
        ),
        (
            "remove",
            [
                "DELETE FROM ord_line WHERE line_id = :line AND rev_no = :expected "
                "AND ord_no = :customer"
            ],
            "customer",
        ),
        (
            "lock_order",
            "SELECT o.ord_stat AS state FROM ord_hdr o WHERE o.ord_no = :order "
            "AND o.cust_no = :who",
            "who",
        ),
        (
            "price",
            "SELECT p.price AS unit_price FROM item_price p WHERE p.item_no = :product "
            "AND p.curr = :currency",
            "currency",
        ),
    ],
)
def test_a_statement_binding_an_undeclared_parameter_is_refused(
    tmp_path: Path, place: str, statement: Any, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        _read(_with(place, statement), tmp_path)


def test_a_change_without_the_version_guard_is_refused(tmp_path: Path) -> None:
    unguarded = ["UPDATE ord_line SET descr = :description WHERE line_id = :line"]
    with pytest.raises(ValueError, match="expected"):
        _read(_with("change", unguarded), tmp_path)


@pytest.mark.parametrize(
    ("place", "statement"),
    [
        ("change", ["SELECT 1 FROM ord_line WHERE line_id = :line AND rev_no = :expected"]),
        ("remove", ["DROP TABLE ord_line"]),
        ("lock_line", "DELETE FROM ord_line WHERE line_id = :line"),
        ("price", "UPDATE item_price SET price = 0 WHERE item_no = :product"),
    ],
)
def test_a_statement_of_the_wrong_kind_is_refused(
    tmp_path: Path, place: str, statement: Any
) -> None:
    with pytest.raises(ValueError, match="must be a"):
        _read(_with(place, statement), tmp_path)


def test_row_hash_versions_bind_no_expected_version(tmp_path: Path) -> None:
    spec = shipped_spec()
    spec["writes"]["version"] = {"hash": ["qty", "descr"]}
    for name in ("order_lines", "order_lines_by_key"):
        spec["operations"][name]["fields"] = {
            **spec["operations"][name]["fields"],
            "version": "row_hash",
        }
    with pytest.raises(ValueError, match="row hashes"):
        _read(spec, tmp_path)


def test_line_versions_must_come_from_the_declared_version(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="version must be read from 'line_amt'"):
        _read(_with("version", {"column": "line_amt"}), tmp_path)


def test_writes_need_the_reads_an_edit_answers_with(tmp_path: Path) -> None:
    spec = shipped_spec()
    del spec["operations"]["order_lines_by_key"]
    with pytest.raises(ValueError, match="order_lines_by_key"):
        _read(spec, tmp_path)


def test_adding_lines_needs_a_new_line_key(tmp_path: Path) -> None:
    spec = shipped_spec()
    del spec["writes"]["new_line_key"]
    with pytest.raises(ValueError, match="new_line_key"):
        _read(spec, tmp_path)
