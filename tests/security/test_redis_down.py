"""Redis is a cache and a limiter, not a source of truth (issue 16, O1): with Redis down,
requests are served, limits count per process (the outage logged once), and ``/readyz``
reports the degradation as data. Covers the read cache, the response cache, the rate limit
and the failed-login limit, with Redis stopped from the start and with Redis going away
after start and coming back.

"Redis down" is a loopback port where nothing listens, or a Redis server this module
starts on a free port behind a small TCP link it can cut and restore (the machine's own
Redis is never touched).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from tests.support.gateways import demo_gateway, fully_linked_crm_key
from tests.support.secret_scan import RecordKeeper

QUERY = 'query($k: String!) { customer(system: "crm", key: $k) { account { name } } }'
OUTAGE_LOGGED = "Redis unreachable"
RECOVERY_LOGGED = "Redis reachable again"


def free_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A throw-away redis-server on a free loopback port, without persistence."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        """Stop this server (only the process started here)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class TcpLink:
    """A TCP proxy on loopback to ``target``: :meth:`cut` drops every connection and closes
    new ones at once (Redis "goes away"); :meth:`restore` forwards again."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self._up = True
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tcp-link")
        self._thread.start()
        self._started.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}

    def _call(self, action: Any) -> None:
        done = threading.Event()

        def run() -> None:
            action()
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    def cut(self) -> None:
        """Drop every connection; new ones are closed as soon as they open."""

        def cut() -> None:
            self._up = False
            for writer in list(self._open):
                writer.transport.abort()

        self._call(cut)

    def restore(self) -> None:
        """Forward new connections again."""

        def restore() -> None:
            self._up = True

        self._call(restore)

    def close(self) -> None:
        """Stop the proxy's loop and thread."""
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture(scope="module")
async def keys(demo_linkmap_url: str) -> dict[str, str]:
    engine = create_engine(demo_linkmap_url)
    store = ApiKeyStore(engine)
    try:
        _, crm = await store.create("crm-redis-down", ["sales"], actor="test")
    finally:
        await engine.dispose()
    return {"crm": crm, "wrong": crm[:-2] + ("xx" if not crm.endswith("xx") else "yy")}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@contextlib.contextmanager
def gateway_on(
    upstreams: DemoUpstreams, linkmap_url: str, redis_url: str, **rate_limit: Any
) -> Iterator[str]:
    """An enforcing gateway whose cache, response cache and limits are in ``redis_url``."""
    with demo_gateway(
        upstreams,
        linkmap_url,
        cache_url=redis_url,
        rate_limit={"enabled": True, **rate_limit},
        extra={"auth": {"mode": "enforce"}},
    ) as url:
        yield url


def ask(url: str, key: str, crm_key: str, address: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.post(
            f"{url}/graphql",
            json={"query": QUERY, "variables": {"k": crm_key}},
            headers={"X-API-Key": key},
        )


def lines_with(log_records: RecordKeeper, start: int, text: str) -> list[str]:
    return [line for line in log_records.since(start) if text in line]


def test_with_redis_stopped_queries_answer_and_readyz_says_degraded(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, keys: dict[str, str]
) -> None:
    crm_key = fully_linked_crm_key(live_upstreams)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with gateway_on(live_upstreams, demo_linkmap_url, nowhere) as url:
        for _ in range(3):  # read cache, response cache and limits all without Redis
            answer = ask(url, keys["crm"], crm_key)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert "errors" not in body and body["data"]["customer"]["account"]["name"]
        ready = httpx.get(f"{url}/readyz", timeout=10)  # a probe carries no credentials
    assert ready.status_code == 200, ready.text
    report = ready.json()
    assert report["status"] == "degraded"
    assert (report["linkmap"], report["redis"]) == ("up", "down")
    assert set(report["degraded"]) == {
        "read cache",
        "response cache",
        "rate limit",
        "rate limit per acting user",
        "failed-login limit",
    }
    assert report["degraded"]["rate limit"] == "counted per process"


def test_with_redis_stopped_limits_count_per_process_and_the_outage_is_logged_once(
    live_upstreams: DemoUpstreams,
    demo_linkmap_url: str,
    keys: dict[str, str],
    log_records: RecordKeeper,
) -> None:
    crm_key = fully_linked_crm_key(live_upstreams)
    start = len(log_records.since(0))
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    with gateway_on(
        live_upstreams, demo_linkmap_url, nowhere, per_minute=4, failed_logins_per_minute=2
    ) as url:
        statuses = [ask(url, keys["crm"], crm_key).status_code for _ in range(5)]
        refused = ask(url, keys["crm"], crm_key)
        # failed logins from another address: limited per process too
        wrong = [ask(url, keys["wrong"], crm_key, "127.0.0.2").status_code for _ in range(2)]
        blocked = ask(url, keys["crm"], crm_key, "127.0.0.2")
    assert statuses == [200] * 4 + [429]
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert wrong == [401, 401]
    assert blocked.status_code == 429
    assert blocked.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_FAILED_LOGINS"
    assert len(lines_with(log_records, start, OUTAGE_LOGGED)) == 1


def test_redis_going_away_after_start_and_coming_back(
    live_upstreams: DemoUpstreams,
    demo_linkmap_url: str,
    keys: dict[str, str],
    redis_server: RedisServer,
    log_records: RecordKeeper,
) -> None:
    crm_key = fully_linked_crm_key(live_upstreams, 1)
    link = TcpLink(redis_server.port)
    start = len(log_records.since(0))
    try:
        with gateway_on(
            live_upstreams, demo_linkmap_url, f"redis://127.0.0.1:{link.port}/0", per_minute=500
        ) as url:
            first = ask(url, keys["crm"], crm_key)
            assert first.status_code == 200, first.text
            assert ask(url, keys["crm"], crm_key).headers["x-keylink-cache"] == "hit"

            link.cut()
            during = [ask(url, keys["crm"], crm_key) for _ in range(3)]
            assert [r.status_code for r in during] == [200] * 3, during[-1].text
            assert {r.json()["data"]["customer"]["account"]["name"] for r in during} == {
                first.json()["data"]["customer"]["account"]["name"]
            }
            assert all(r.headers["x-keylink-cache"] == "miss" for r in during)
            assert ask(url, keys["wrong"], crm_key).status_code == 401  # not 500
            ready = httpx.get(f"{url}/readyz", timeout=10).json()
            assert (ready["status"], ready["redis"]) == ("degraded", "down")

            link.restore()
            deadline = time.monotonic() + 10
            while httpx.get(f"{url}/readyz", timeout=10).json()["status"] != "ok":
                assert time.monotonic() < deadline, "readyz never said ok again"
                time.sleep(0.1)
            assert ask(url, keys["crm"], crm_key).status_code == 200
            assert ask(url, keys["crm"], crm_key).headers["x-keylink-cache"] == "hit"
            assert httpx.get(f"{url}/readyz", timeout=10).json() == {
                "status": "ok",
                "linkmap": "up",
                "redis": "up",
            }
    finally:
        link.close()
    assert len(lines_with(log_records, start, OUTAGE_LOGGED)) == 1
    assert len(lines_with(log_records, start, RECOVERY_LOGGED)) == 1
    import redis

    client = redis.Redis(port=redis_server.port)
    try:  # the shared buckets are in use again
        assert client.keys("keylink:rl:*")
    finally:
        client.close()


@pytest.fixture
async def linked_redis(redis_server: RedisServer) -> AsyncIterator[tuple[TcpLink, Any]]:
    """A link to the test's Redis and a health view that retries after 50 ms."""
    from gateway.health import RedisHealth

    link = TcpLink(redis_server.port)
    health = RedisHealth(retry_seconds=0.05)
    try:
        yield link, health
    finally:
        link.close()


async def test_an_invalidation_missed_while_redis_was_away_is_done_before_it_is_read_again(
    redis_server: RedisServer, linked_redis: tuple[TcpLink, Any]
) -> None:
    from gateway.cache import build_cache
    from gateway.settings import CacheSettings
    from sources.config import SystemConfigBase

    class Config(SystemConfigBase):
        pass

    link, health = linked_redis
    settings = CacheSettings(url=f"redis://127.0.0.1:{link.port}/0", ttl=60)
    cache, backend = build_cache(settings, {"erp": Config(kind="erp", adapter="x")}, health)
    assert cache is not None
    key = cache.key("erp", "invoices", (), "10023")
    try:
        await cache.set_many("erp", "invoices", (), {"10023": ["old"]}, datetime.now(UTC))
        assert (await cache.get_many("erp", "invoices", (), ["10023"]))["10023"].value == ["old"]
        link.cut()
        await cache.invalidate([key])  # an edit while Redis is away: no error
        assert await cache.get_many("erp", "invoices", (), ["10023"]) == {}
        link.restore()
        await asyncio.sleep(0.1)
        # the entry from before the edit is never served: the invalidation is done first
        assert await cache.get_many("erp", "invoices", (), ["10023"]) == {}
    finally:
        await backend.close()
    import redis

    direct = redis.Redis(port=redis_server.port)
    try:
        assert direct.exists(key) == 0
    finally:
        direct.close()


async def test_a_generation_bump_missed_while_redis_was_away_is_done_first_on_return(
    linked_redis: tuple[TcpLink, Any],
) -> None:
    from gateway.cache import guard_response_store
    from gateway.http.response_cache import CachedResponse, RedisResponseStore

    link, health = linked_redis
    store = guard_response_store(RedisResponseStore(f"redis://127.0.0.1:{link.port}/0"), health)
    assert store is not None
    answer = CachedResponse(b"application/json", b'{"data":{"x":1}}')
    try:
        await store.put("k", await store.generation(), answer, 60)
        assert await store.get("k") == answer
        link.cut()
        assert await store.get("k") is None  # a miss, not an error
        await store.bump()  # a mutation answered while Redis is away
        link.restore()
        await asyncio.sleep(0.1)
        assert await store.get("k") is None  # the answer from before the edit is gone
        generation = await store.generation()
        await store.put("k", generation, answer, 60)
        assert await store.get("k") == answer
    finally:
        await store.aclose()
