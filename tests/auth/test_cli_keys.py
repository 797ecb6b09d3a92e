"""``keylink keys``: create prints the key once (stdout) with a warning (stderr); list and
revoke never print a secret; the created key verifies and the revoked one does not."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.keys import keys_app
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from linkmap.migrate import upgrade

KEY = re.compile(r"kl_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no keylink.yaml here
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("KEYLINK_LINKMAP__URL", url)
    monkeypatch.delenv("KEYLINK_CONFIG", raising=False)
    upgrade(url)
    return url


def verify(url: str, key: str) -> bool:
    async def run() -> bool:
        engine = create_engine(url)
        try:
            return await ApiKeyStore(engine).verify(key) is not None
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_create_list_revoke(db_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        keys_app,
        [
            "create",
            "--name",
            "crm [bold]backend",
            "--role",
            "sales",
            "--role",
            "viewer",
            "--expires-in-days",
            "30",
        ],
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    match = KEY.fullmatch(key)
    assert match, created.stdout
    key_id, secret = match.groups()
    assert "shown only once" in created.stderr and secret not in created.stderr
    assert verify(db_url, key)

    listed = runner.invoke(keys_app, ["list"])
    assert listed.exit_code == 0, listed.output
    assert key_id in listed.stdout and "crm [bold]backend" in listed.stdout
    assert "sales, viewer" in listed.stdout and "active" in listed.stdout
    assert secret not in listed.output and "sha256" not in listed.output

    refused = runner.invoke(keys_app, ["revoke", key])
    assert refused.exit_code == 2 and "key id" in refused.stderr

    revoked = runner.invoke(keys_app, ["revoke", key_id, "--actor", "alice"])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stderr and secret not in revoked.output
    assert not verify(db_url, key)
    assert "revoked" in runner.invoke(keys_app, ["list"]).stdout


def test_bad_input_exits_nonzero(db_url: str) -> None:
    runner = CliRunner()
    unknown_role = runner.invoke(keys_app, ["create", "--name", "x", "--role", "root"])
    assert unknown_role.exit_code == 1 and "unknown roles" in unknown_role.stderr
    no_role = runner.invoke(keys_app, ["create", "--name", "x"])
    assert no_role.exit_code == 2
    missing = runner.invoke(keys_app, ["revoke", "0123456789ab"])
    assert missing.exit_code == 1 and "not found" in missing.stderr
    bad_scope = runner.invoke(
        keys_app, ["create", "--name", "x", "--role", "sales", "--scope", "customer:erp"]
    )
    assert bad_scope.exit_code == 1 and "kind:system:pattern" in bad_scope.stderr


def test_a_key_can_be_limited_to_a_scope(db_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        keys_app,
        ["create", "--name", "partner", "--role", "sales", "--scope", "customer:erp:100*"],
    )
    assert created.exit_code == 0, created.output
    assert "scope customer:erp:100*" in created.stderr
    listed = runner.invoke(keys_app, ["list"]).stdout
    assert "customer:erp:100*" in listed


def test_unmigrated_database_is_reported_without_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KEYLINK_LINKMAP__URL", f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(keys_app, ["list"])
    assert result.exit_code == 1
    assert "keylink migrate" in result.stderr and "new.db" not in result.output
