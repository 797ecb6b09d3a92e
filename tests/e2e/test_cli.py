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
from collections.abc import Iterator
from pathlib import Path

import graphql
import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.demo_mode import SPEC_DIR

KEYLINK = [sys.executable, "-m", "gateway.cli"]


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
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
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
