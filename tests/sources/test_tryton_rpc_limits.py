"""Tryton's JSON-RPC goes through the one HTTP layer (``sources.http``): an answer over the
10 MiB limit (R8) is refused as SOURCE_UNAVAILABLE without being read whole, and Tryton's
own semantics hold (401 -> one re-login, HTTP 200 with ``error`` -> ``TrytonFault``, writes
never repeated). A small fake Tryton answers over real loopback HTTP and counts what it sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from resolvers.errors import code_for
from sources.errors import SourceTimeout, SourceUnavailable
from sources.http import MAX_RESPONSE_BYTES, make_client
from sources.transport import upstream_transport
from sources.tryton.rpc import TrytonFault, TrytonRpc
from tests.support.servers import ServerThread

MiB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)
CAP = 64 * MiB
"""The endless answer stops here, so a client that reads everything still ends."""


class FakeTryton:
    """A raw ASGI app speaking just enough of Tryton's JSON-RPC: ``common.db.login`` and
    ``get_preferences`` answer; every other method answers as ``mode`` says. ``sent`` counts
    the body bytes handed to the server for the last big answer."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.sent = 0
        self.finished = threading.Event()  # set by the server's thread when it stops sending
        self.calls: list[str] = []
        self.expire_next = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await self._answer(send, 200, b"ok")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        call = json.loads(body)
        method = call["method"]
        self.calls.append(method)
        if method == "common.db.login":
            await self._result(send, [1, "token"])
        elif method == "model.res.user.get_preferences":
            await self._result(send, {"company": 1, "language": "en"})
        elif self.expire_next:
            self.expire_next = False
            await self._answer(send, 401, b"")
        elif self.mode == "ok":
            await self._result(send, [{"id": 1}])
        elif self.mode == "fault":
            error = ["UserError", ["The sale is confirmed.", ""]]
            await self._answer(send, 200, json.dumps({"id": call["id"], "error": error}).encode())
        elif self.mode == "500":
            await self._answer(send, 500, b"Traceback (most recent call last): db-7")
        elif self.mode == "slow":
            await asyncio.sleep(2)
            await self._result(send, [])
        else:
            await self._big(receive, send, call["id"])

    async def _answer(self, send: Any, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _result(self, send: Any, result: Any) -> None:
        await self._answer(send, 200, json.dumps({"id": 1, "result": result}).encode())

    async def _big(self, receive: Any, send: Any, call_id: int) -> None:
        """A string result of ``size`` bytes (endless: up to ``CAP``), streamed in 64 KiB
        chunks until the client hangs up; ``sent`` counts what was handed over."""
        sizes = {"endless": CAP, "11mib": 11 * MiB, "declared": 11 * MiB, "at_limit": 0}
        head = b'{"id": %d, "result": "' % call_id
        tail = b'"}'
        size = sizes[self.mode] or MAX_RESPONSE_BYTES
        headers = [(b"content-type", b"application/json")]
        if self.mode in ("declared", "at_limit"):
            headers.append((b"content-length", str(size).encode()))
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        self.sent = 0
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": head, "more_body": True})
        self.sent = len(head)
        filler = size - len(head) - len(tail)
        while filler > 0 and not gone.is_set():
            piece = CHUNK[: min(len(CHUNK), filler)]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            self.sent += len(piece)
            filler -= len(piece)
            await asyncio.sleep(0)  # let the disconnect be noticed
        if not gone.is_set():
            await send({"type": "http.response.body", "body": tail})
            self.sent += len(tail)
        watcher.cancel()
        self.finished.set()


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeTryton, str]]:
    app = FakeTryton()
    server = ServerThread(app)
    server.start("/healthz")
    try:
        yield app, server.url
    finally:
        server.stop()


class Counting(httpx.AsyncBaseTransport):
    """``inner`` with a count of the response body bytes the client actually read."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.read = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        inner: httpx.AsyncByteStream = stream

        counter = self

        class Counted(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                async for chunk in inner:
                    counter.read += len(chunk)
                    yield chunk

            async def aclose(self) -> None:
                await inner.aclose()

        response.stream = Counted()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def inner_transport(kind: str) -> httpx.AsyncBaseTransport:
    return upstream_transport(10) if kind == "aiohttp" else httpx.AsyncHTTPTransport()


@pytest.fixture(params=["httpx", "aiohttp"])
async def rpc(
    request: pytest.FixtureRequest, fake: tuple[FakeTryton, str]
) -> AsyncIterator[tuple[TrytonRpc, FakeTryton, Counting]]:
    app, url = fake
    app.mode, app.expire_next = "ok", False
    app.calls.clear()
    transport = Counting(inner_transport(request.param))
    client = make_client(url, timeout=5, transport=transport)
    try:
        yield TrytonRpc("erp", client, "keylink", "admin", "secret"), app, transport
    finally:
        await client.aclose()


async def until_finished(app: FakeTryton) -> None:
    """Wait (bounded) until the fake noticed the hang-up and stopped sending."""
    for _ in range(200):
        if app.finished.is_set():
            return
        await asyncio.sleep(0.02)


async def refused(rpc: TrytonRpc, app: FakeTryton, mode: str) -> tuple[SourceUnavailable, int]:
    await rpc.call("model.sale.sale.search_read", [[]])  # log in first: only the answer is big
    app.mode, app.finished = mode, threading.Event()
    tracemalloc.start()
    try:
        with pytest.raises(SourceUnavailable) as caught:
            await rpc.call("model.sale.sale.search_read", [[]])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await until_finished(app)
    return caught.value, peak


async def test_an_endless_answer_is_refused_at_the_limit_without_reading_on(
    rpc: tuple[TrytonRpc, FakeTryton, Counting],
) -> None:
    client, app, counting = rpc
    error, peak = await refused(client, app, "endless")
    # the client read the limit and at most a few chunks more, then hung up
    assert MAX_RESPONSE_BYTES < counting.read <= MAX_RESPONSE_BYTES + 512 * 1024
    # the server stopped well short of the whole answer (beyond what was read: the
    # loopback socket buffers, several MiB on Linux)
    assert app.sent < CAP // 2
    assert peak < MAX_RESPONSE_BYTES + 8 * MiB
    assert not isinstance(error, TrytonFault)
    assert code_for(error) == "SOURCE_UNAVAILABLE"
    assert "exceeds" in error.detail and "search_read" in error.detail
    assert not error.maybe_applied  # a read


async def test_an_11_mib_answer_is_refused_without_being_read_whole(
    rpc: tuple[TrytonRpc, FakeTryton, Counting],
) -> None:
    client, app, counting = rpc
    error, peak = await refused(client, app, "11mib")
    assert code_for(error) == "SOURCE_UNAVAILABLE"
    assert counting.read <= MAX_RESPONSE_BYTES + 512 * 1024 < 11 * MiB
    assert peak < MAX_RESPONSE_BYTES + 8 * MiB


async def test_a_declared_oversized_answer_is_refused_before_its_body_is_read(
    rpc: tuple[TrytonRpc, FakeTryton, Counting],
) -> None:
    client, app, counting = rpc
    error, peak = await refused(client, app, "declared")
    assert code_for(error) == "SOURCE_UNAVAILABLE"
    assert counting.read < 1 * MiB
    assert peak < 8 * MiB


async def test_an_answer_of_exactly_the_limit_is_read(
    rpc: tuple[TrytonRpc, FakeTryton, Counting],
) -> None:
    client, app, _ = rpc
    await client.call("model.sale.sale.search_read", [[]])
    app.mode, app.finished = "at_limit", threading.Event()
    result = await client.call("model.sale.sale.search_read", [[]])
    assert isinstance(result, str)
    assert MAX_RESPONSE_BYTES - 64 < len(result) < MAX_RESPONSE_BYTES  # the body is the limit


async def test_an_oversized_answer_to_a_write_may_have_been_applied_and_is_sent_once(
    rpc: tuple[TrytonRpc, FakeTryton, Counting],
) -> None:
    client, app, _ = rpc
    await client.call("model.sale.sale.search_read", [[]])
    app.mode, app.finished = "endless", threading.Event()
    app.calls.clear()
    with pytest.raises(SourceUnavailable) as caught:
        await client.call("model.sale.line.write", [[1], {"quantity": 2}], write=True)
    await until_finished(app)
    assert caught.value.maybe_applied
    assert app.calls == ["model.sale.line.write"]


async def test_tryton_semantics_hold_through_the_http_layer(
    rpc: tuple[TrytonRpc, FakeTryton, Counting],
) -> None:
    client, app, _ = rpc
    assert await client.call("model.sale.sale.search_read", [[]]) == [{"id": 1}]
    assert client.logins == 1

    app.expire_next = True  # 401: log in again once, then repeat the call
    assert await client.call("model.sale.sale.search_read", [[]]) == [{"id": 1}]
    assert client.logins == 2

    app.mode = "fault"  # HTTP 200 with an error member
    with pytest.raises(TrytonFault) as fault:
        await client.call("model.sale.line.write", [[1], {}], write=True)
    assert fault.value.fault == "UserError"
    assert fault.value.tryton_message == "The sale is confirmed."

    app.mode = "500"  # a failed write: sent once, may have been applied, not retryable
    app.calls.clear()
    with pytest.raises(SourceUnavailable) as failed:
        await client.call("model.sale.line.write", [[1], {}], write=True)
    assert app.calls == ["model.sale.line.write"]
    assert failed.value.maybe_applied and not failed.value.retryable
    assert not isinstance(failed.value, TrytonFault)


async def test_timeouts_and_refusals_are_mapped_by_the_http_layer(
    fake: tuple[FakeTryton, str],
) -> None:
    app, url = fake
    app.mode, app.expire_next = "ok", False
    async with make_client(url, timeout=0.5) as http:
        rpc = TrytonRpc("erp", http, "keylink", "admin", "secret")
        await rpc.call("model.sale.sale.search_read", [[]])
        app.mode = "slow"
        with pytest.raises(SourceTimeout) as slow:
            await rpc.call("model.sale.line.write", [[1], {}], write=True)
        assert slow.value.maybe_applied and not slow.value.retryable
        app.mode = "ok"
    async with make_client("http://127.0.0.1:9", timeout=0.5) as closed:
        rpc = TrytonRpc("erp", closed, "keylink", "admin", "secret")
        with pytest.raises(SourceUnavailable) as refused_:
            await rpc.call("model.sale.sale.search_read", [[]])
        assert refused_.value.retryable and not refused_.value.maybe_applied
        assert code_for(refused_.value) == "SOURCE_UNAVAILABLE"
