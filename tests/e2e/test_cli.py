"""The ``keylink`` command as a user runs it: demo, serve, schema, links."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import graphql
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from demo.data import generate
from demo.links import demo_links, unlinked
from demo.runner import DemoUpstreams
from gateway.cli.main import ENTITY_KINDS_BY_SYSTEM_KIND, link_problems
from gateway.demo_mode import SPEC_DIR, demo_settings
from gateway.settings import load_settings
from linkmap.db import create_engine
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from resolvers.lists.connections import MASTER_DATA
from sources.base import KINDS
from tests.support.postgres import create_pg_database, drop_pg_database

KEYLINK = [sys.executable, "-m", "gateway.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    url: str, process: subprocess.Popen[str], output: list[str] | None = None, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            printed = "".join(output) if output is not None else process.stdout.read()  # type: ignore[union-attr]
            raise AssertionError(f"process exited: {printed}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        out, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def test_schema_prints_the_sdl() -> None:
    out = subprocess.run(
        [*KEYLINK, "schema"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert 'type Customer @key(fields: "id") @key(fields: "keys { system key }") {' in out
    assert "customersByKey(system: String!, keys: [String!]!): [Customer]!" in out
    assert "type FinancialOverview {" in out


def test_schema_prints_plain_graphql_on_request() -> None:
    out = subprocess.run(
        [*KEYLINK, "schema", "--plain"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "type Customer {" in out
    assert '@key(fields: "' not in out and "schema @link" not in out
    graphql.build_schema(out)  # standalone SDL: every directive it names is defined
    assert "customersByKey(system: String!, keys: [String!]!): [Customer]!" in out


@contextlib.contextmanager
def running_demo(port: int, db: Path) -> Iterator[list[str]]:
    """``keylink demo`` in a subprocess; the list receives its output line by line."""
    process = subprocess.Popen(
        [*KEYLINK, "demo", "--port", str(port), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=db.parent,
    )
    output: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: output.extend(stdout), daemon=True)
    reader.start()
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process, output)
        yield output
    finally:
        stop(process)
        reader.join(timeout=20)


def printed_key(output: list[str], timeout: float = 30) -> str:
    """The API key the demo printed (its banner comes right after start-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(output):
            match = re.search(r"API key\s+(\S+)", line)
            if match:
                return match.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no API key printed: {''.join(output)}")


def test_demo_prints_a_key_and_a_sample_query_that_returns_a_full_overview(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    with running_demo(port, tmp_path / "demo.db") as output:
        key = printed_key(output)
        page = httpx.get(url, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        # authentication is on: no key, no data
        anonymous = httpx.post(url, json={"query": "{ __typename }"}, timeout=30)
        assert anonymous.status_code == 401
    out = "".join(output)
    assert url in out
    match = re.search(r"^\{\n.*?^\}$", out, flags=re.S | re.M)
    assert match, out
    sample = match.group(0)
    assert "financialOverview" in sample
    # run the printed query with the printed key against a fresh demo: the printed text is
    # the interface
    with running_demo(port, tmp_path / "demo.db") as output:
        key = printed_key(output)
        body = httpx.post(
            url, json={"query": sample}, headers={"X-API-Key": key}, timeout=30
        ).json()
    assert "errors" not in body, body
    overview = body["data"]["customer"]["financialOverview"]
    missing = [name for name, value in overview.items() if value is None]
    assert missing == [] or missing == ["creditAvailable"], overview
    assert overview["openBalance"] and overview["revenueYearToDate"]
    assert body["data"]["customer"]["account"]["name"]


@pytest.fixture
def config_file(tmp_path: Path, live_upstreams: DemoUpstreams) -> Iterator[Path]:
    lines = [f"linkmap: {{url: 'sqlite+aiosqlite:///{tmp_path / 'links.db'}'}}", "systems:"]
    for name, url in live_upstreams.urls.items():
        lines.append(
            f"  {name}: {{kind: {name}, adapter: rest, url: '{url}', "
            f"spec: '{SPEC_DIR / (name + '.yaml')}', timeout: 3}}"
        )
    path = tmp_path / "keylink.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    yield path


def test_serve_with_a_config_file_and_links_added_by_the_cli(
    config_file: Path, live_upstreams: DemoUpstreams
) -> None:
    data = live_upstreams.dataset
    erp_key = next(iter(data.customers))
    env = {**os.environ, "KEYLINK_CONFIG": str(config_file)}
    subprocess.run([*KEYLINK, "migrate"], env=env, check=True, timeout=60)
    added = subprocess.run(
        [*KEYLINK, "links", "add", "customer", f"erp={erp_key}", "crm=A-9999", "--actor", "ops"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    clash = subprocess.run(
        [*KEYLINK, "links", "add", "customer", f"erp={erp_key}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clash.returncode == 1 and erp_key in clash.stderr
    shown = subprocess.run(
        [*KEYLINK, "links", "show", "customer", "crm", "A-9999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "ops" in shown.stdout and erp_key in shown.stdout

    port = free_port()
    process = subprocess.Popen(
        [*KEYLINK, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", process)
        body = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={
                "query": 'query($k: String!) { customer(system: "erp", key: $k) { erp { name } } }',
                "variables": {"k": erp_key},
            },
            timeout=30,
        ).json()
    finally:
        stop(process)
    assert body["data"]["customer"]["erp"]["name"] == data.customers[erp_key].name


def test_serve_refuses_a_bad_config_with_the_yaml_path(tmp_path: Path) -> None:
    path = tmp_path / "keylink.yaml"
    path.write_text("systems:\n  erp: {kind: erp, adapter: sap}\n", encoding="utf-8")
    result = subprocess.run(
        [*KEYLINK, "serve", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "systems.erp.adapter: unknown adapter 'sap'" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- links add


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def linkmap_server(request: pytest.FixtureRequest) -> URL | None:
    """None for SQLite, the PostgreSQL admin URL for PostgreSQL (a sync fixture, so that it
    may resolve the async session fixture by name)."""
    if request.param == "sqlite":
        return None
    url: URL = request.getfixturevalue("postgres_server")
    return url


@pytest.fixture
async def links_config(linkmap_server: URL | None, tmp_path: Path) -> AsyncIterator[Path]:
    """A configuration with systems erp, crm and timesheet (nothing listens: ``links``
    never calls them) and a migrated, empty link map on each backend."""
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
        [*KEYLINK, *args, "--config", str(config)], capture_output=True, text=True, timeout=60
    )


async def linkmap_rows(config: Path) -> dict[str, int]:
    """Rows per link-map table of the database ``config`` names."""
    engine = create_engine(load_settings(config).linkmap.url)
    try:
        async with engine.connect() as conn:
            return {
                table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("entities", "entity_keys", "link_history")
            }
    finally:
        await engine.dispose()


NOTHING = {"entities": 0, "entity_keys": 0, "link_history": 0}


async def test_links_add_refuses_a_system_that_is_not_configured_and_writes_nothing(
    links_config: Path,
) -> None:
    typo = keylink(links_config, "links", "add", "customer", "erp=10023", "crn=A-1043")
    assert typo.returncode == 2, typo.stdout + typo.stderr
    assert "unknown system 'crn'; configured systems: erp, crm, timesheet" in typo.stderr
    assert "nothing was written" in typo.stderr
    assert "created" not in typo.stdout and "Traceback" not in typo.stderr
    assert await linkmap_rows(links_config) == NOTHING  # not even the good erp key

    two = keylink(links_config, "links", "add", "order", "ERP=SO-1", "crm=OPP-1", "ts=X")
    assert two.returncode == 2
    assert "unknown system 'ERP'" in two.stderr and "unknown system 'ts'" in two.stderr
    assert await linkmap_rows(links_config) == NOTHING

    fixed = keylink(links_config, "links", "add", "customer", "erp=10023", "crm=A-1043")
    assert fixed.returncode == 0, fixed.stderr
    assert await linkmap_rows(links_config) == {"entities": 1, "entity_keys": 2, "link_history": 3}


async def test_links_add_refuses_a_system_whose_kind_cannot_hold_the_entity_kind(
    links_config: Path,
) -> None:
    supplier = keylink(links_config, "links", "add", "supplier", "erp=S-7", "timesheet=S-7")
    assert supplier.returncode == 2, supplier.stdout + supplier.stderr
    assert (
        "system 'timesheet' (kind timesheet) cannot hold supplier keys; "
        "it holds customer and project keys"
    ) in supplier.stderr
    order = keylink(links_config, "links", "add", "order", "erp=SO-1", "timesheet=SO-1")
    assert order.returncode == 2 and "cannot hold order keys" in order.stderr
    project = keylink(links_config, "links", "add", "project", "crm=P-1")
    assert project.returncode == 2 and "it holds customer and order keys" in project.stderr
    assert await linkmap_rows(links_config) == NOTHING

    # a timesheet system has clients and projects, a CRM accounts and orders
    for kind, pairs in [
        ("customer", ["erp=10023", "crm=A-1043", "timesheet=ACME"]),
        ("project", ["erp=P-1", "timesheet=P-1"]),
        ("supplier", ["erp=S-7"]),
    ]:
        added = keylink(links_config, "links", "add", kind, *pairs)
        assert added.returncode == 0, added.stderr


async def test_an_order_link_is_added_by_the_cli_and_read_back(links_config: Path) -> None:
    usage = keylink(links_config, "links", "add", "--help")
    assert "customer, supplier, project or order" in usage.stdout
    added = keylink(
        links_config, "links", "add", "order", "crm=OPP-2024-117", "erp=SO-10042", "--actor", "rep"
    )
    assert added.returncode == 0, added.stderr
    assert re.fullmatch(r"created order \d+\n", added.stdout)

    shown = keylink(links_config, "links", "show", "order", "crm", "OPP-2024-117")
    assert shown.returncode == 0, shown.stderr
    assert "SO-10042" in shown.stdout and "rep" in shown.stdout

    async with LinkStore.from_url(load_settings(links_config).linkmap.url) as store:
        order = await store.resolve("order", "erp", "SO-10042")
        assert order is not None and order.kind == "order"
        assert dict(order.keys) == {"crm": ("OPP-2024-117",), "erp": ("SO-10042",)}
        assert await store.resolve("customer", "erp", "SO-10042") is None
    again = keylink(links_config, "links", "add", "order", "erp=SO-10042")
    assert again.returncode == 1 and "already linked" in again.stderr


async def test_links_show_refuses_an_unknown_entity_kind_without_a_traceback(
    links_config: Path,
) -> None:
    shown = keylink(links_config, "links", "show", "ordr", "crm", "OPP-1")
    assert shown.returncode == 1
    assert "unknown entity kind 'ordr'" in shown.stderr and "Traceback" not in shown.stderr


def test_every_demo_link_fits_the_demo_systems() -> None:
    dataset = generate()
    settings = demo_settings(dict.fromkeys(KINDS, "http://127.0.0.1:1"), "sqlite://")
    for link in [*demo_links(dataset), *unlinked(dataset)]:
        assert link_problems(link.kind, link.keys, settings) == [], link


def test_a_system_of_several_kinds_holds_what_any_of_its_kinds_holds() -> None:
    settings = load_settings(
        overrides={
            "systems": {
                "tryton": {
                    "kind": ["erp", "timesheet"],
                    "adapter": "tryton",
                    "url": "http://127.0.0.1:1",
                    "database": "keylink",
                    "auth": {"username": "admin", "password_env": "KEYLINK_TRYTON_PASSWORD"},
                },
            }
        }
    )
    for kind in ("customer", "supplier", "project", "order"):
        assert link_problems(kind, ["tryton"], settings) == []
    assert link_problems("order", ["crm"], settings) == [
        "unknown system 'crm'; configured systems: tryton"
    ]


def test_the_system_kind_table_agrees_with_what_the_resolvers_read() -> None:
    read: dict[str, set[str]] = {
        system_kind: {kind for kind, by in MASTER_DATA.items() if system_kind in by}
        for system_kind in KINDS
    }
    assert set(ENTITY_KINDS_BY_SYSTEM_KIND) == set(KINDS)
    for system_kind, kinds in ENTITY_KINDS_BY_SYSTEM_KIND.items():
        assert kinds - {"order"} == read[system_kind]


def test_schema_prints_what_the_configured_gateway_serves(tmp_path: Path) -> None:
    config = tmp_path / "keylink.yaml"
    config.write_text("federation: {hide_mutations: true}\n")
    hidden = subprocess.run(
        [*KEYLINK, "schema", "-c", str(config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    plain = subprocess.run(
        [*KEYLINK, "schema"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "@inaccessible" in hidden
    assert "@inaccessible" not in plain
