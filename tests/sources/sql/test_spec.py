"""What a SQL spec and a ``systems:`` entry may say: keys only ever bound as ``:keys``, a
SELECT and nothing else, record fields that exist, no password in the URL; and the
adapter is found by ``adapter: sql`` like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from demo.legacy_erp import SPEC
from sources.registry import build_source, load_adapters
from sources.sql import SqlConfig, SqlSource, SqlSpec

FIELDS = {"key": "cust_no", "name": "cust_name", "currency": "curr"}


def spec(select: str, fields: dict[str, Any] | None = None, name: str = "customers") -> SqlSpec:
    return SqlSpec.model_validate(
        {"operations": {name: {"select": select, "fields": fields or FIELDS}}}
    )


def test_the_shipped_spec_reads() -> None:
    shipped = SqlSpec.from_file(SPEC)
    assert {"customers", "invoices", "orders", "order_lines", "payables"} <= set(shipped.operations)
    # numeric codes in YAML are read as text, as the database's values are compared
    status = shipped.operations["orders"].fields.fields["status"]
    assert status.map is not None and status.map["40"] == "CONFIRMED"


@pytest.mark.parametrize(
    ("select", "complaint"),
    [
        ("SELECT cust_no, cust_name, curr FROM cust", "exactly one bind parameter"),
        ("SELECT * FROM cust WHERE cust_no = :key", "exactly one bind parameter"),
        ("SELECT * FROM cust WHERE cust_no IN :keys AND curr = :curr", "exactly one"),
        ("DELETE FROM cust WHERE cust_no IN :keys", "must be a SELECT"),
        ("-- harmless\nUPDATE cust SET curr = 'X' WHERE cust_no IN :keys", "must be a SELECT"),
        ("/* x */ INSERT INTO cust SELECT * FROM cust WHERE cust_no IN :keys", "SELECT"),
    ],
)
def test_a_statement_that_is_not_a_keyed_select_is_refused(select: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        spec(select)


def test_a_keyed_select_after_comments_and_a_cte_is_taken() -> None:
    taken = spec(
        "-- customers\nWITH c AS (SELECT * FROM cust) SELECT * FROM c WHERE cust_no IN :keys"
    )
    assert set(taken.operations) == {"customers"}


def test_fields_must_fit_the_record() -> None:
    select = "SELECT * FROM cust WHERE cust_no IN :keys"
    with pytest.raises(ValidationError, match="must be mapped"):
        spec(select, {"key": "cust_no", "name": "cust_name"})
    with pytest.raises(ValidationError, match="unknown fields"):
        spec(select, {**FIELDS, "colour": "c"})
    with pytest.raises(ValidationError, match="unknown operation"):
        spec(select, name="customer")
    with pytest.raises(ValidationError, match="unknown operation"):
        spec(select, name="overdue_invoices")  # a search takes no keys


def test_a_password_in_the_url_is_refused() -> None:
    with pytest.raises(ValidationError, match="password_env"):
        SqlConfig(
            kind="erp",
            adapter="sql",
            url="postgresql+asyncpg://erp:hunter2@127.0.0.1/erp",
            spec=SPEC,
        )


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = SqlConfig(
        kind="erp",
        adapter="sql",
        url="postgresql+asyncpg://erp@127.0.0.1/erp",
        password_env="LEGACY_ERP_PASSWORD",
        spec=SPEC,
    )
    monkeypatch.setenv("LEGACY_ERP_PASSWORD", "from-env")
    assert config.database_url().password == "from-env"
    monkeypatch.delenv("LEGACY_ERP_PASSWORD")
    with pytest.raises(ValueError, match="LEGACY_ERP_PASSWORD"):
        config.database_url()


async def test_adapter_sql_is_registered(tmp_path: Path) -> None:
    adapters = load_adapters()
    assert "sql" in adapters
    config = adapters["sql"].config_model.model_validate(
        {
            "kind": "erp",
            "adapter": "sql",
            "url": f"sqlite+aiosqlite:///{tmp_path / 'erp.db'}",
            "spec": str(SPEC),
        }
    )
    source = build_source("legacy", config)
    try:
        assert isinstance(source, SqlSource) and source.name == "legacy"
        assert source.write_operations == frozenset()
    finally:
        await source.aclose()
