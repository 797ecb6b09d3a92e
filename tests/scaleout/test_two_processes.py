"""Two gateway processes sharing one PostgreSQL link map and one Redis: an edit through one
is seen by the other's next read, and rate limits are counted once for both."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.engine import URL

from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems, seed_demo_links
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.cache.test_read_cache import redis_reachable
from tests.support.postgres import create_pg_database, drop_pg_database
from tests.writes.queries import ORDER_LINES, UPDATE

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REDIS_DB = 7  # this test's own Redis database, emptied before use
PER_MINUTE = 6


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def gateway_process(config: Path, log: Path) -> Iterator[str]:
    """``keylink serve -c config`` in its own process; its base URL until the block ends."""
    port = free_port()
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
            env={k: v for k, v in os.environ.items() if not k.startswith("KEYLINK_")},
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def shared_redis() -> str:
    if not redis_reachable():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis unreachable and CI=true")
        pytest.skip("Redis on 127.0.0.1:6379 unreachable")
    import redis

    client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}")
    client.flushdb()
    client.close()
    return f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture
async def two_gateways(
    postgres_server: URL, live_upstreams: DemoUpstreams, shared_redis: str, tmp_path: Path
) -> Any:
    database = await create_pg_database(postgres_server)
    linkmap_url = database.render_as_string(hide_password=False)
    try:
        await seed_demo_links(linkmap_url, live_upstreams.dataset)
        engine = create_engine(linkmap_url)
        try:
            store = ApiKeyStore(engine)
            _, editor = await store.create("crm-backend", ["sales"], actor="test")
            _, limited = await store.create("report-script", ["analyst"], actor="test")
        finally:
            await engine.dispose()
        config = tmp_path / "keylink.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "linkmap": {"url": linkmap_url, "migrate_on_start": False},
                    "cache": {"url": shared_redis, "ttl": 300, "master_data_ttl": 300},
                    "rate_limit": {"per_minute": PER_MINUTE},
                    "auth": {"mode": "enforce"},
                    "systems": demo_systems(live_upstreams.urls),
                }
            )
        )
        with (
            gateway_process(config, tmp_path / "a.log") as a,
            gateway_process(config, tmp_path / "b.log") as b,
        ):
            yield a, b, editor, limited
    finally:
        httpx.post(f"{live_upstreams.urls['erp']}/_reset-data", timeout=10)
        await drop_pg_database(postgres_server, database)


def ask(
    url: str, key: str, query: str, variables: dict[str, Any], **headers: str
) -> httpx.Response:
    return httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"X-API-Key": key, **headers},
        timeout=30,
    )


def draft_order_with_lines(erp: str) -> tuple[dict[str, Any], dict[str, Any]]:
    orders = httpx.get(f"{erp}/orders", params={"status": "draft", "per_page": "500"}).json()
    for order in orders["items"]:
        lines = httpx.get(f"{erp}/order-lines", params={"order": order["number"]}).json()
        if lines["items"]:
            return order, lines["items"][0]
    raise AssertionError("no draft order with lines in the demo data")


def quantity_seen(url: str, key: str, customer: str, line_key: str) -> Decimal:
    body = ask(url, key, ORDER_LINES, {"key": customer}).json()
    assert "errors" not in body, body
    lines = {ln["key"]: ln for o in body["data"]["customer"]["orders"] for ln in o["lines"]}
    return Decimal(lines[line_key]["quantity"])


def test_an_edit_through_one_process_shows_in_the_other_and_limits_are_shared(
    two_gateways: Any, live_upstreams: DemoUpstreams
) -> None:
    a, b, editor, limited = two_gateways
    order, line = draft_order_with_lines(live_upstreams.urls["erp"])
    customer, line_key = order["customer"], str(line["id"])
    before = quantity_seen(b, editor, customer, line_key)
    assert before == Decimal(line["quantity"])
    # B now holds that read in the shared cache: a second read costs the ERP nothing
    erp_stats = f"{live_upstreams.urls['erp']}/_stats"
    httpx.post(f"{erp_stats}/reset")
    assert quantity_seen(b, editor, customer, line_key) == before
    assert httpx.get(erp_stats).json()["total"] == 0

    new_quantity = before + 3
    edit = {
        "order": {"system": "erp", "key": order["number"]},
        "line": line_key,
        "expectedVersion": str(line["version"]),
        "quantity": str(new_quantity),
    }
    saved = ask(a, editor, UPDATE, {"input": edit, "key": f"two-{uuid.uuid4().hex}"}).json()
    assert saved["data"]["updateOrderLine"]["__typename"] == "OrderLineSaved", saved

    # B's very next read is fresh: A's write dropped the shared entries before answering
    assert quantity_seen(b, editor, customer, line_key) == new_quantity

    # one bucket for both processes: PER_MINUTE operations in all, whichever is asked
    statuses = [ask(url, limited, "{ __typename }", {}).status_code for url in [a, b] * PER_MINUTE]
    assert statuses[:PER_MINUTE] == [200] * PER_MINUTE
    assert set(statuses[PER_MINUTE:]) == {429}
