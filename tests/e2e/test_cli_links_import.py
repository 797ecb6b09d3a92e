"""``keylink links import`` and ``keylink links export`` as a user runs them, on SQLite and
PostgreSQL: a dry-run report by line, one-transaction apply, and export -> import changing
nothing."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from tests.support.postgres import create_pg_database, drop_pg_database

KEYLINK = [sys.executable, "-m", "gateway.cli.main"]
SPEC_DIR = Path(__file__).resolve().parents[2] / "demo" / "specs"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def linkmap_server(request: pytest.FixtureRequest) -> URL | None:
    """None for SQLite, the PostgreSQL admin URL for PostgreSQL."""
    if request.param == "sqlite":
        return None
    url: URL = request.getfixturevalue("postgres_server")
    return url


@pytest.fixture
async def config(linkmap_server: URL | None, tmp_path: Path) -> AsyncIterator[Path]:
    """A configuration with systems erp, crm and timesheet (never called by ``links``) and
    a migrated, empty link map."""
    database = None
    if linkmap_server is None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    else:
        database = await create_pg_database(linkmap_server)
        url = database.render_as_string(hide_password=False)
    lines = [f"linkmap: {{url: '{url}'}}", "systems:"]
    for port, name in enumerate(("erp", "crm", "timesheet"), start=1):
        lines.append(
            f"  {name}: {{kind: {name}, adapter: rest, url: 'http://127.0.0.1:{port}', "
            f"spec: '{SPEC_DIR / (name + '.yaml')}'}}"
        )
    path = tmp_path / "keylink.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    await upgrade_async(url)
    try:
        yield path
    finally:
        if database is not None:
            assert linkmap_server is not None
            await drop_pg_database(linkmap_server, database)


def keylink(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEYLINK, *args, "--config", str(config)], capture_output=True, text=True, timeout=120
    )


def link_file(tmp_path: Path, body: str, name: str = "links.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


async def link_map(config: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the link tables: the whole link map."""
    store = LinkStore.from_url(load_settings(config).linkmap.url)
    try:
        async with store.engine.connect() as conn:
            return {
                table: [
                    tuple(r) for r in await conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))
                ]
                for table in ("entities", "entity_keys", "link_history")
            }
    finally:
        await store.close()


async def seed(config: Path, kind: str, keys: dict[str, list[str]]) -> int:
    async with LinkStore.from_url(load_settings(config).linkmap.url) as store:
        return (await store.create_entity(kind, keys, actor="seed")).id


GOOD = (
    "kind,erp,crm,timesheet\n"
    "customer,10023,A-1043,ACME\n"
    "customer,10024|10025,A-1044,\n"
    "project,P-1,,TP-1\n"
    "supplier,S-7,,\n"
    "order,SO-1,OPP-1,\n"
)


async def test_dry_run_reports_each_conflict_by_line_and_writes_nothing(
    config: Path, tmp_path: Path
) -> None:
    owner = await seed(config, "customer", {"erp": ["10023"]})
    before = await link_map(config)
    path = link_file(
        tmp_path,
        "kind,erp,crm\n"
        "customer,10023,A-1\n"  # 10023 belongs to an entity without A-1
        "customer,2,B\n"
        "customer,3,B\n"  # B is also on line 3
        "customer,4,C\n",
    )
    run = keylink(config, "links", "import", str(path))
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.splitlines() == [
        "4 rows: 2 new, 0 unchanged, 2 conflicting, 0 invalid",
        f"line 2: conflict: erp key '10023' is already linked to customer {owner}, which does "
        "not hold crm key 'A-1' (an import never adds keys to an existing entity)",
        "line 4: conflict: crm key 'B' is also on line 3",
    ]
    assert "dry run: nothing was written" in run.stderr and "Traceback" not in run.stderr
    assert await link_map(config) == before


async def test_unknown_systems_and_kinds_are_refused_with_the_valid_names(
    config: Path, tmp_path: Path
) -> None:
    header = keylink(config, "links", "import", str(link_file(tmp_path, "kind,erp,crn\n")))
    assert header.returncode == 2, header.stdout + header.stderr
    assert "unknown system 'crn' in the header; configured systems: erp, crm, timesheet" in (
        header.stderr
    )
    assert "nothing was written" in header.stderr

    rows = link_file(
        tmp_path, "kind,erp,crm,timesheet\ncustomr,1,,\nproject,P-1,P-1,\nsupplier,S,,\n", "k.csv"
    )
    kinds = keylink(config, "links", "import", str(rows), "--apply", "--skip-conflicts")
    assert kinds.returncode == 1
    assert kinds.stdout.splitlines() == [
        "3 rows: 1 new, 0 unchanged, 0 conflicting, 2 invalid",
        "line 2: invalid: unknown kind 'customr'; expected one of customer, supplier, project, "
        "order",
        "line 3: invalid: system 'crm' (kind crm) cannot hold project keys; it holds customer "
        "and order keys",
    ]
    assert "nothing was written" in kinds.stderr
    assert await link_map(config) == {"entities": [], "entity_keys": [], "link_history": []}


async def test_a_bom_is_accepted_and_utf16_refused(config: Path, tmp_path: Path) -> None:
    bom = keylink(config, "links", "import", str(link_file(tmp_path, "\ufeff" + GOOD)))
    assert bom.returncode == 0, bom.stdout + bom.stderr
    assert bom.stdout.startswith("5 rows: 5 new, 0 unchanged, 0 conflicting, 0 invalid")

    utf16 = link_file(tmp_path, GOOD, "excel.csv", encoding="utf-16")
    refused = keylink(config, "links", "import", str(utf16), "--apply")
    assert refused.returncode == 2
    assert "the file is UTF-16-encoded; save it as UTF-8" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (await link_map(config))["entities"] == []


async def test_apply_then_rerun_and_export_round_trip_change_nothing(
    config: Path, tmp_path: Path
) -> None:
    path = link_file(tmp_path, GOOD)
    applied = keylink(config, "links", "import", str(path), "--apply", "--actor", "ana")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "created 5 entities" in applied.stderr
    async with LinkStore.from_url(load_settings(config).linkmap.url) as store:
        e = await store.resolve("customer", "erp", "10025")
        assert e is not None and dict(e.keys) == {"erp": ("10024", "10025"), "crm": ("A-1044",)}
        assert {h.actor for h in await store.history(e.id)} == {"ana"}
    after = await link_map(config)

    rerun = keylink(config, "links", "import", str(path), "--apply")
    assert rerun.returncode == 0
    assert rerun.stdout.startswith("5 rows: 0 new, 5 unchanged, 0 conflicting, 0 invalid")
    assert await link_map(config) == after

    exported = keylink(config, "links", "export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.replace("\r\n", "\n") == GOOD
    out = tmp_path / "out.csv"
    to_file = keylink(config, "links", "export", "-o", str(out))
    assert to_file.returncode == 0 and "exported 5 entities" in to_file.stderr
    back = keylink(config, "links", "import", str(out), "--apply")
    assert back.returncode == 0
    assert back.stdout.startswith("5 rows: 0 new, 5 unchanged, 0 conflicting, 0 invalid")
    assert await link_map(config) == after

    customers = keylink(config, "links", "export", "--kind", "customer")
    assert customers.stdout.replace("\r\n", "\n").splitlines() == GOOD.splitlines()[:3]


async def test_a_conflict_blocks_apply_unless_told_to_skip_it(config: Path, tmp_path: Path) -> None:
    owner = await seed(config, "project", {"timesheet": ["TP-1"]})
    before = await link_map(config)
    path = link_file(tmp_path, GOOD)
    blocked = keylink(config, "links", "import", str(path), "--apply")
    assert blocked.returncode == 1
    assert f"line 4: conflict: timesheet key 'TP-1' is already linked to project {owner}" in (
        blocked.stdout
    )
    assert "nothing was written" in blocked.stderr and "--skip-conflicts" in blocked.stderr
    assert await link_map(config) == before

    skipped = keylink(config, "links", "import", str(path), "--apply", "--skip-conflicts")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert skipped.stdout.startswith("5 rows: 4 new, 0 unchanged, 1 conflicting, 0 invalid")
    assert "created 4 entities, skipped 1 conflicting rows" in skipped.stderr
    rows = await link_map(config)
    assert len(rows["entities"]) == 5 and rows["entities"][0] == before["entities"][0]
    async with LinkStore.from_url(load_settings(config).linkmap.url) as store:
        project = await store.resolve("project", "timesheet", "TP-1")
        assert project is not None and project.id == owner and "erp" not in project.keys


def import_until_killed(config: Path, path: Path, after_rows: int) -> int:
    """Run ``links import --apply`` on terminals (so it shows its progress), kill it with
    SIGKILL once the progress says ``after_rows`` rows are done; return how many it said."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    child = subprocess.Popen(
        [*KEYLINK, "links", "import", str(path), "--apply", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=out_slave,
        stderr=err_slave,
    )
    os.close(out_slave)
    os.close(err_slave)
    seen = b""
    done = 0
    try:
        deadline = time.monotonic() + 300
        while done < after_rows and child.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([out_master, err_master], [], [], 0.2)
            for fd in ready:
                with contextlib.suppress(OSError):
                    chunk = os.read(fd, 65536)
                    if fd == err_master:
                        seen = (seen + chunk)[-4096:]
            counts = re.findall(rb"([\d,]+) rows", seen)
            done = max((int(c.replace(b",", b"")) for c in counts), default=0)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        os.close(out_master)
        os.close(err_master)
    assert child.returncode == -signal.SIGKILL, "the import ended before it was killed"
    return done


async def test_an_import_killed_half_way_leaves_the_link_map_as_it_was(
    config: Path, tmp_path: Path
) -> None:
    await seed(config, "customer", {"erp": ["E-1"], "crm": ["C-1"]})
    before = await link_map(config)
    rows = 40_000
    body = "".join(f"customer,{i},A-{i},T-{i}\n" for i in range(rows))
    path = link_file(tmp_path, "kind,erp,crm,timesheet\n" + body)

    done = import_until_killed(config, path, after_rows=5_000)
    assert 5_000 <= done < rows  # several chunks were written in the open transaction
    assert await link_map(config) == before

    again = keylink(config, "links", "import", str(path), "--apply")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"created {rows} entities" in again.stderr


async def test_export_names_an_entity_the_file_cannot_carry(config: Path) -> None:
    await seed(config, "customer", {"erp": ["10023"]})
    odd = await seed(config, "customer", {"erp": ["A|B"]})
    exported = keylink(config, "links", "export")
    assert exported.returncode == 1
    assert exported.stdout.replace("\r\n", "\n") == "kind,erp,crm,timesheet\ncustomer,10023,,\n"
    assert f"not exported: customer {odd}: key erp:'A|B' holds '|'" in exported.stderr
