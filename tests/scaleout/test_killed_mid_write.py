"""Issue 16: a gateway process killed (SIGKILL) between the ERP write and the completion of
its idempotency record. Two ``keylink serve`` processes share one PostgreSQL link map; the
demo ERP applies the write of process A and holds its answer (knob
``apply_then_timeout``), and the test kills A as soon as the ERP has logged the write.
A retry with the same key through process B, once A's lease has run out, returns the
applied result without a second ERP write, and the audit trail shows the edit once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from sqlalchemy.engine import URL

from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems, seed_demo_links
from tests.scaleout.test_two_processes import free_port
from tests.support.postgres import create_pg_database, drop_pg_database
from tests.writes.queries import ADD, AUDIT, REMOVE, UPDATE

pytestmark = [pytest.mark.postgres]

LEASE = 2.0
"""Seconds of a write's lease in both processes (the default is 60)."""
DEADLINE = 10.0
"""Whole-request deadline of both processes; B must settle the edit well within it."""

T = TypeVar("T")


@contextlib.contextmanager
def gateway_process(config: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``keylink serve -c config`` in its own process with a short write lease (set by the
    environment): its base URL and the process, until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLINK_")}
    env["KEYLINK_WRITE_LEASE"] = str(LEASE)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway.cli.main",
                "serve",
                "-c",
                str(config),
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"gateway exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@pytest.fixture(scope="module")
async def shared_config(
    postgres_server: URL, live_upstreams: DemoUpstreams, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Path]:
    """A ``keylink.yaml`` for processes sharing one new PostgreSQL link map."""
    database = await create_pg_database(postgres_server)
    linkmap_url = database.render_as_string(hide_password=False)
    try:
        await seed_demo_links(linkmap_url, live_upstreams.dataset)
        systems = demo_systems(live_upstreams.urls)
        systems["erp"]["timeout"] = 30  # A waits on the ERP until it is killed
        config = tmp_path_factory.mktemp("killed") / "keylink.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "linkmap": {"url": linkmap_url, "migrate_on_start": False},
                    "cache": {"url": "none"},
                    "rate_limit": {"enabled": False},
                    "request_deadline": DEADLINE,
                    "systems": systems,
                }
            )
        )
        yield config
    finally:
        await drop_pg_database(postgres_server, database)


@pytest.fixture(scope="module")
def gateway_b(shared_config: Path) -> Iterator[str]:
    """The process that outlives the killed ones."""
    with gateway_process(shared_config, shared_config.parent / "b.log") as (url, _):
        yield url


@pytest.fixture
def gateway_a(
    shared_config: Path, live_upstreams: DemoUpstreams, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A process of its own for each test (the test kills it)."""
    erp = live_upstreams.urls["erp"]
    try:
        with gateway_process(shared_config, tmp_path / "a.log") as started:
            yield started
    finally:
        live_upstreams.knobs["erp"].reset()
        httpx.post(f"{erp}/_reset-data", timeout=10)


def post(url: str, query: str, variables: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, timeout=DEADLINE + 20
    )


def writes_with(erp: str, key: str) -> list[dict[str, Any]]:
    """The demo ERP's applied writes that carried idempotency key ``key``."""
    log: list[dict[str, Any]] = httpx.get(f"{erp}/_writes", timeout=5).json()["writes"]
    return [w for w in log if w["idempotency_key"] == key]


def eventually(probe: Callable[[], T], seconds: float) -> T:
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)
    return found


def draft_order_with_two_lines(erp: str) -> tuple[dict[str, Any], dict[str, Any]]:
    orders = httpx.get(f"{erp}/orders", params={"status": "draft", "per_page": "500"}).json()
    for order in orders["items"]:
        lines = httpx.get(f"{erp}/order-lines", params={"order": order["number"]}).json()
        if len(lines["items"]) >= 2:
            return order, lines["items"][0]
    raise AssertionError("no draft order with two lines in the demo data")


def plan(
    operation: str, upstreams: DemoUpstreams, order: dict[str, Any], line: dict[str, Any]
) -> tuple[str, dict[str, Any], str, str]:
    """The mutation document, its input, the ERP path that applies it, the payload field."""
    ref = {"system": "erp", "key": order["number"]}
    if operation == "add":
        product = next(p for p in upstreams.dataset.products.values() if p.prices)
        body = {"order": ref, "product": product.sku, "quantity": "3"}
        return ADD, body, f"/orders/{order['number']}/lines", "addOrderLine"
    target = {"order": ref, "line": str(line["id"]), "expectedVersion": str(line["version"])}
    if operation == "update":
        quantity = str(Decimal(line["quantity"]) + 2)
        return (
            UPDATE,
            {**target, "quantity": quantity},
            f"/order-lines/{line['id']}",
            ("updateOrderLine"),
        )
    return REMOVE, target, f"/order-lines/{line['id']}", "removeOrderLine"


@pytest.mark.parametrize("operation", ["update", "add", "remove"])
def test_a_gateway_killed_mid_write_is_settled_by_a_retry_through_another_process(
    gateway_a: tuple[str, subprocess.Popen[bytes]],
    gateway_b: str,
    live_upstreams: DemoUpstreams,
    operation: str,
) -> None:
    (a, process_a), b = gateway_a, gateway_b
    erp = live_upstreams.urls["erp"]
    order, line = draft_order_with_two_lines(erp)
    document, edit, write_path, field = plan(operation, live_upstreams, order, line)
    key = f"killed-{operation}-{uuid.uuid4().hex}"
    variables = {"input": edit, "key": key}
    lines_before = httpx.get(f"{erp}/order-lines", params={"order": order["number"]}).json()

    # A sends the write; the ERP applies it and holds the answer; A dies right then
    knobs = live_upstreams.knobs["erp"]
    knobs.update(fault="apply_then_timeout", paths=[write_path])
    with ThreadPoolExecutor(1) as pool:
        lost = pool.submit(post, a, document, variables)
        [applied] = eventually(lambda: writes_with(erp, key), 15)
        os.kill(process_a.pid, signal.SIGKILL)
        process_a.wait(timeout=10)
        with pytest.raises(httpx.HTTPError):
            lost.result(timeout=30)
    knobs.reset()

    # B: same key, after A's lease ran out -> the applied result, no second write
    started = time.monotonic()
    response = post(b, document, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    result = body["data"][field]
    assert body["extensions"]["idempotency"] == [{"path": field, "key": key, "replayed": True}]
    assert time.monotonic() - started < DEADLINE
    assert len(writes_with(erp, key)) == 1
    lines_now = httpx.get(f"{erp}/order-lines", params={"order": order["number"]}).json()
    now = {str(ln["id"]): ln for ln in lines_now["items"]}
    if operation == "remove":
        assert result["__typename"] == "OrderLineRemoved", result
        assert result["removedLine"]["key"] == str(line["id"]) not in now
    else:
        assert result["__typename"] == "OrderLineSaved", result
        assert result["line"]["key"] == applied["line"]
        erp_line = now[applied["line"]]
        assert result["line"]["version"] == str(erp_line["version"])
        assert Decimal(result["line"]["quantity"]) == Decimal(edit["quantity"])
        assert Decimal(erp_line["quantity"]) == Decimal(edit["quantity"])
    expected_count = len(lines_before["items"]) + {"add": 1, "update": 0, "remove": -1}[operation]
    assert len(now) == expected_count

    # every later retry replays the stored outcome
    again = post(b, document, variables).json()
    assert again["data"] == body["data"]
    assert len(writes_with(erp, key)) == 1

    # the audit: the edit once (A's attempt, recorded by B), then B's and the last replay
    trail = post(b, AUDIT, {"order": {"system": "erp", "key": order["number"]}}).json()
    events = [e for e in trail["data"]["auditTrail"] if e["idempotencyKey"] == key]
    assert [(e["outcome"], e["replay"]) for e in reversed(events)] == [
        ("APPLIED", False),
        ("APPLIED", True),
        ("APPLIED", True),
    ]
    first = events[-1]
    assert first["lineKey"] == applied["line"]
    if operation == "update":
        assert first["fields"] == ["quantity"]
        assert Decimal(first["before"]["quantity"]) == Decimal(line["quantity"])
        assert Decimal(first["after"]["quantity"]) == Decimal(edit["quantity"])
    elif operation == "remove":
        assert first["before"]["key"] == str(line["id"]) and first["after"] is None
    else:
        assert first["before"] is None and first["after"]["key"] == applied["line"]
