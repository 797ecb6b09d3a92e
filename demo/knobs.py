"""Latency and fault injection plus request statistics for the demo upstreams.

One ``Knobs`` object belongs to one app. It is mutable at runtime from Python (the object
passed to ``create_app``) and over HTTP (``GET/PUT/PATCH /_knobs``, ``GET /_stats``,
``POST /_stats/reset``). ``KnobsGate`` is the ASGI layer that applies it: it sits outside
FastAPI's own middleware so that it sees the server's raw ``send`` (needed to drop a
connection). Paths starting with ``/_`` and requests carrying ``x-demo-probe: 1`` (the
runner's readiness probe) are never delayed, faulted or counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import orjson
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal[
    "500",
    "503",
    "429",
    "timeout",
    "bad_json",
    "404",
    "reset",
    "apply_then_timeout",
    "apply_then_reset",
]
"""``apply_then_*``: the request is served (a write is applied) but its answer is lost:
held until the client gives up (``timeout``) or the connection is dropped (``reset``)."""
PROBE_HEADER = b"x-demo-probe"
FAKE_HOST = "db-internal-7.example"
FAKE_TRACEBACK = f"""Traceback (most recent call last):
  File "/srv/app/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1967, in _exec_single_context
    self.dialect.do_execute(
  File "/srv/app/upstream/repository.py", line 212, in fetch_rows
    rows = await conn.execute(stmt)
psycopg.OperationalError: connection to server at "{FAKE_HOST}" (10.7.0.17), port 5432 failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections
"""  # noqa: E501


class KnobSettings(BaseModel):
    """The knob values of one app; ``paths=None`` means every non-underscore path."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0, le=600_000, description="Added to every request.")
    fault: FaultKind | None = Field(None, description="Fault to inject, or null.")
    fault_rate: float = Field(1.0, ge=0.0, le=1.0, description="Probability of the fault.")
    paths: list[str] | None = Field(None, description="Paths the fault applies to (prefix).")
    retry_after: int | None = Field(
        None, ge=0, le=3600, description="Retry-After seconds sent with 429/503 faults."
    )


class StatsOut(BaseModel):
    """Requests counted per path since the last reset, and their total."""

    requests: dict[str, int]
    total: int


class Knobs:
    """Runtime-mutable latency/fault settings and per-path request counters of one app.

    Thread-safe: tests mutate it from their own thread while the app runs in another.
    The fault RNG is seeded, so a given request sequence faults the same way every run.
    ``timeout_seconds`` is how long the ``"timeout"`` fault stalls (60 s by default).
    """

    def __init__(self, seed: int = 0, *, timeout_seconds: float = 60.0) -> None:
        """Create knobs at their defaults (no latency, no fault) with a fault RNG ``seed``."""
        self._seed = seed
        self._lock = threading.Lock()
        self._settings = KnobSettings()
        self._rng = random.Random(seed)
        self._counts: dict[str, int] = {}
        self.timeout_seconds = timeout_seconds
        self._stall_epoch = 0

    # -- settings
    @property
    def settings(self) -> KnobSettings:
        """The current settings (an immutable snapshot)."""
        return self._settings

    def replace(self, settings: KnobSettings) -> KnobSettings:
        """Set all knobs at once (what ``PUT /_knobs`` does)."""
        with self._lock:
            self._settings = settings
        return settings

    def update(self, **changes: Any) -> KnobSettings:
        """Change only the given knobs, validated (``update(fault="503", paths=["/x"])``)."""
        with self._lock:
            merged = {**self._settings.model_dump(), **changes}
            self._settings = KnobSettings.model_validate(merged)
            return self._settings

    @property
    def latency_ms(self) -> int:
        """Milliseconds added to every non-underscore request."""
        return self._settings.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        self.update(latency_ms=value)

    @property
    def fault(self) -> FaultKind | None:
        """The fault injected into matching requests, or None."""
        return self._settings.fault

    @fault.setter
    def fault(self, value: FaultKind | None) -> None:
        self.update(fault=value)

    @property
    def fault_rate(self) -> float:
        """Probability (0..1) that a matching request gets the fault."""
        return self._settings.fault_rate

    @fault_rate.setter
    def fault_rate(self, value: float) -> None:
        self.update(fault_rate=value)

    @property
    def paths(self) -> list[str] | None:
        """Path prefixes the fault applies to; None = all."""
        return self._settings.paths

    @paths.setter
    def paths(self, value: list[str] | None) -> None:
        self.update(paths=value)

    @property
    def stall_epoch(self) -> int:
        """Changes whenever ``release_stalled`` is called."""
        return self._stall_epoch

    def release_stalled(self) -> None:
        """End every request the ``timeout`` fault is holding by dropping its connection.

        The runner calls this before stopping an app, so a stop never waits on a stall.
        """
        with self._lock:
            self._stall_epoch += 1

    def reset(self) -> None:
        """Back to defaults: no latency, no fault, RNG re-seeded, counters cleared."""
        with self._lock:
            self._settings = KnobSettings()
            self._rng = random.Random(self._seed)
            self._counts = {}

    # -- faults
    def draw_fault(self, path: str) -> FaultKind | None:
        """The fault to apply to a request for ``path`` now, if any (consumes the RNG)."""
        s = self._settings
        if s.fault is None or not _matches(path, s.paths):
            return None
        if s.fault_rate >= 1.0:
            return s.fault
        with self._lock:
            hit = self._rng.random() < s.fault_rate
        return s.fault if hit else None

    # -- stats
    def record(self, path: str) -> None:
        """Count one request for ``path``."""
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1

    def stats(self) -> StatsOut:
        """Counters per path since the last reset."""
        with self._lock:
            counts = dict(sorted(self._counts.items()))
        return StatsOut(requests=counts, total=sum(counts.values()))

    def count(self, path: str) -> int:
        """Requests counted for exactly ``path``."""
        with self._lock:
            return self._counts.get(path, 0)

    def reset_stats(self) -> None:
        """Clear the request counters."""
        with self._lock:
            self._counts = {}


def _matches(path: str, paths: list[str] | None) -> bool:
    if paths is None:
        return True
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in paths)


def knobs_router(knobs: Knobs) -> APIRouter:
    """Routes ``/_knobs`` and ``/_stats`` operating on ``knobs`` (kept out of the OpenAPI doc)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/_knobs")
    async def get_knobs() -> KnobSettings:
        """The current knob settings."""
        return knobs.settings

    @router.put("/_knobs")
    async def put_knobs(settings: KnobSettings) -> KnobSettings:
        """Replace all knobs (missing fields take their defaults)."""
        return knobs.replace(settings)

    @router.patch("/_knobs")
    async def patch_knobs(changes: dict[str, Any]) -> KnobSettings:
        """Change only the knobs given; 400 on invalid values."""
        try:
            return knobs.update(**changes)
        except ValidationError as exc:
            raise HTTPException(400, str(exc)) from exc

    @router.post("/_knobs/reset")
    async def reset_knobs() -> KnobSettings:
        """Defaults again, RNG re-seeded, statistics cleared."""
        knobs.reset()
        return knobs.settings

    @router.get("/_stats")
    async def get_stats() -> StatsOut:
        """Requests counted per path."""
        return knobs.stats()

    @router.post("/_stats/reset")
    async def reset_stats() -> StatsOut:
        """Clear the request counters."""
        knobs.reset_stats()
        return knobs.stats()

    return router


# --------------------------------------------------------------------------- ASGI gate

NextApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class KnobsGate:
    """ASGI wrapper applying ``knobs`` (count, delay, fault) before calling ``app``."""

    def __init__(self, app: ASGIApp | NextApp, knobs: Knobs) -> None:
        """Wrap ``app``; ``knobs`` is read on every request, so changes apply at once."""
        self.app = app
        self.knobs = knobs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call: pass through, or count/delay/fault an HTTP request."""
        if scope["type"] != "http" or scope["path"].startswith("/_") or _is_probe(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        self.knobs.record(path)
        latency = self.knobs.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        fault = self.knobs.draw_fault(path)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault in ("500", "503", "404", "429"):
            await _send_error(send, int(fault), self.knobs.settings.retry_after)
        elif fault == "bad_json":
            await self._truncated(scope, receive, send)
        elif fault == "timeout":
            await self._stall(scope, receive, send)
        elif fault in ("apply_then_timeout", "apply_then_reset"):
            await self._apply_then_lose(scope, receive, send, hold=fault == "apply_then_timeout")
        else:
            await _drop_connection(send)

    async def _apply_then_lose(
        self, scope: Scope, receive: Receive, send: Send, *, hold: bool
    ) -> None:
        async def discard(_message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        if hold:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.knobs.timeout_seconds
            epoch = self.knobs.stall_epoch
            waiter = asyncio.ensure_future(receive())
            try:
                while (remaining := deadline - loop.time()) > 0:
                    done, _ = await asyncio.wait({waiter}, timeout=min(remaining, 0.05))
                    if done and waiter.result().get("type") == "http.disconnect":
                        return  # the client gave up waiting
                    if done:
                        waiter = asyncio.ensure_future(receive())
                    if self.knobs.stall_epoch != epoch:
                        break
            finally:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await waiter
        await _drop_connection(send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        cut = body[: max(len(body) // 2, 1)].decode("utf-8", "ignore").encode("utf-8")
        await _send_raw(send, 200, cut)

    async def _stall(self, scope: Scope, receive: Receive, send: Send) -> None:
        buffered: list[Message] = []

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                buffered.append(message)

        watcher = asyncio.ensure_future(watch())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.knobs.timeout_seconds
        epoch = self.knobs.stall_epoch
        try:
            while (remaining := deadline - loop.time()) > 0:
                done, _ = await asyncio.wait({watcher}, timeout=min(remaining, 0.05))
                if done:
                    return  # the client gave up; nobody to answer
                if self.knobs.stall_epoch != epoch:  # released: the server is stopping
                    await _drop_connection(send)
                    return
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


def _is_probe(scope: Scope) -> bool:
    return any(k == PROBE_HEADER for k, _ in scope.get("headers", ()))


async def _send_raw(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_error(send: Send, status: int, retry_after: int | None = None) -> None:
    headers = []
    if retry_after is not None and status in (429, 503):
        headers.append((b"retry-after", str(retry_after).encode()))
    if status == 404:
        payload = {"error": "not_found", "detail": "Not Found"}
    elif status == 429:
        payload = {"error": "too_many_requests", "detail": "Rate limit exceeded"}
    else:
        error = "internal_error" if status == 500 else "service_unavailable"
        payload = {"error": error, "detail": FAKE_TRACEBACK, "host": FAKE_HOST}
    await _send_raw(send, status, orjson.dumps(payload), headers)


async def _drop_connection(send: Send) -> None:
    """Close the TCP connection without any response bytes.

    Under uvicorn ``send`` is bound to the request cycle, which holds the transport; it is
    aborted, so the client sees the peer close with no response (httpx raises a
    ``RemoteProtocolError``). Elsewhere (e.g. an in-process ASGI transport) an exception is
    raised instead.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise ConnectionResetError("demo fault: connection reset")
    transport.abort()
    for _ in range(3):  # let connection_lost run so the server knows the client is gone
        await asyncio.sleep(0)
