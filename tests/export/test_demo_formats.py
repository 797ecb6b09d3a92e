"""``keylink query`` over real HTTP: every demo customer with overview fields, exported to
CSV, JSONL and Parquet, read back by duckdb / pyarrow / the csv module and checked cell by
cell against figures computed from the demo upstreams' raw JSON."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.export.conftest import OVERVIEW_DOCUMENT
from tests.export.rows import COLUMNS, check_rows

KEYLINK = [sys.executable, "-m", "gateway.cli.main"]


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``keylink`` as a user runs it, with a clean environment plus ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KEYLINK_")}
    return subprocess.run(
        [*KEYLINK, *args],
        cwd=cwd,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("doc") / "overview.graphql"
    path.write_text(OVERVIEW_DOCUMENT, encoding="utf-8")
    return path


def export(
    gateway_url: str, document: Path, keys: list[str], fmt: str, out: Path
) -> subprocess.CompletedProcess[str]:
    done = run_cli(
        [
            "query",
            str(document),
            "--var",
            f"keys={json.dumps(keys)}",
            "--format",
            fmt,
            "--output",
            str(out),
            "--url",
            gateway_url,
        ],
        cwd=out.parent,
        KEYLINK_API_KEY="not-needed-in-dev-mode",
    )
    assert done.returncode == 0, done.stderr
    assert f"exported {len(keys)} rows" in done.stderr
    return done


def test_csv_export_reads_back_with_every_customer(
    gateway_url: str,
    document: Path,
    customer_keys: dict[str, Any],
    expected_rows: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    out = tmp_path / "customers.csv"
    export(gateway_url, document, list(customer_keys), "csv", out)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    check_rows(rows, expected_rows)
    # duckdb reads the same file as a table, with the right row count
    count = duckdb.sql(f"SELECT count(*) FROM read_csv('{out}', header=true)").fetchall()[0]
    assert count == (len(expected_rows),)
    assert not list(tmp_path.glob(".*partial")), "no temporary file is left behind"


def test_parquet_export_reads_back_with_pyarrow_and_duckdb(
    gateway_url: str,
    document: Path,
    customer_keys: dict[str, Any],
    expected_rows: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    out = tmp_path / "customers.parquet"
    export(gateway_url, document, list(customer_keys), "parquet", out)
    table = pq.read_table(out)
    assert table.column_names == COLUMNS
    assert table.num_rows == len(expected_rows)
    # decimals are exact strings, counts are integers
    assert str(table.schema.field("erp.creditLimit.amount").type) == "string"
    assert str(table.schema.field("financialOverview.overdueCount").type) == "int64"
    check_rows(table.to_pylist(), expected_rows)
    total = duckdb.sql(
        f"SELECT count(*), sum(\"financialOverview.overdueCount\") FROM '{out}'"
    ).fetchall()[0]
    assert total == (
        len(expected_rows),
        sum(r["overdueCount"] for r in expected_rows.values()),
    )


def test_jsonl_export_keeps_lists_as_json(
    gateway_url: str,
    document: Path,
    customer_keys: dict[str, Any],
    expected_rows: dict[str, dict[str, Any]],
    tmp_path: Path,
) -> None:
    out = tmp_path / "customers.jsonl"
    export(gateway_url, document, list(customer_keys), "jsonl", out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert list(rows[0]) == COLUMNS
    assert all(isinstance(r["financialOverview.openBalance"], list) for r in rows)
    check_rows(rows, expected_rows)
