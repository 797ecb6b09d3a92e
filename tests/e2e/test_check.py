"""A spec that does not fit its database is found before anything is served: by
``keylink check`` (each missing table or column named, exit 1) and by the gateway's own
start-up (a ``ConfigError`` naming them); a database out of reach is reported, and only
logged at start-up, since it may come back."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from demo.legacy_erp import SPEC, install_legacy_erp
from gateway.errors import ConfigError
from gateway.runtime import build_runtime
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async

KEYLINK = [str(Path(sys.executable).with_name("keylink"))]
REST_SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "erp.yaml"


async def legacy_database(path: Path) -> str:
    """A SQLite file holding the legacy ERP's tables and rows; its URL."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_async_engine(url)
    try:
        await install_legacy_erp(engine)
    finally:
        await engine.dispose()
    return url


def spec_with(tmp_path: Path, column: str, instead: str) -> Path:
    """The shipped spec with one column name in the customers SELECT replaced."""
    data = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    select = data["operations"]["customers"]["select"]
    assert column in select
    data["operations"]["customers"]["select"] = select.replace(column, instead)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def write_config(tmp_path: Path, legacy_url: str, spec: Path) -> Path:
    """keylink.yaml with the SQL system ``legacy`` and a REST ERP (not checkable)."""
    links = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(links)
    config = {
        "linkmap": {"url": links, "migrate_on_start": False},
        "cache": {"url": "none"},
        "systems": {
            "legacy": {"kind": "erp", "adapter": "sql", "url": legacy_url, "spec": str(spec)},
            "erp": {
                "kind": "erp",
                "adapter": "rest",
                "url": "http://127.0.0.1:9",
                "spec": str(REST_SPEC),
            },
        },
    }
    path = tmp_path / "keylink.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def keylink_check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEYLINK, "check", "--config", str(config)], capture_output=True, text=True, timeout=120
    )


async def test_a_spec_that_fits_is_ok(tmp_path: Path) -> None:
    config = await write_config(tmp_path, await legacy_database(tmp_path / "erp.db"), SPEC)
    done = keylink_check(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "legacy: ok" in done.stderr
    assert "erp: not checkable" in done.stderr


async def test_a_missing_column_is_named_by_check_and_stops_start_up(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, "c.cust_name", "c.cust_nam")
    config = await write_config(tmp_path, await legacy_database(tmp_path / "erp.db"), spec)
    done = keylink_check(config)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "legacy: customers:" in done.stderr and "cust_nam" in done.stderr

    with pytest.raises(ConfigError) as refused:
        await build_runtime(load_settings(config))
    assert "legacy: customers:" in str(refused.value) and "cust_nam" in str(refused.value)


async def test_a_missing_table_is_named(tmp_path: Path) -> None:
    spec = spec_with(tmp_path, "FROM cust c", "FROM customer_master c")
    config = await write_config(tmp_path, await legacy_database(tmp_path / "erp.db"), spec)
    done = keylink_check(config)
    assert done.returncode == 1
    assert "customer_master" in done.stderr


async def test_a_database_out_of_reach_is_reported_and_only_logged_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'erp.db'}"
    config = await write_config(tmp_path, gone, SPEC)
    done = keylink_check(config)
    assert done.returncode == 1
    assert "legacy: cannot reach the database" in done.stderr

    caplog.set_level(logging.WARNING, logger="gateway.runtime")
    runtime = await build_runtime(load_settings(config))
    try:
        assert "legacy" in runtime.systems.sources
    finally:
        await runtime.aclose()
    assert any("cannot reach the database" in r.getMessage() for r in caplog.records)
