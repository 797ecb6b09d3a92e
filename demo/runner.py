"""Run the three demo upstreams (ERP, CRM, timesheet) on free loopback ports, in-process.

Each upstream is a uvicorn ``Server`` running in **its own thread with its own event loop**,
so a test whose event loop is blocked (or slow) never stalls the upstreams, and an upstream
stalled by the ``timeout`` fault never stalls the others. ``stop(name)``/``start(name)``
restart a single upstream on the same port. ``DemoUpstreams`` works as a sync context
manager (``with``), an async one (``async with``; blocking work is moved to a thread), or
through ``start()``/``stop()`` from e.g. a pytest session fixture.

``python -m demo.runner`` prints the URLs and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Literal, Self

import httpx
import uvicorn
from fastapi import FastAPI

from demo import crm, erp, timesheet
from demo.data import generate
from demo.erp_writes import ErpWrites, erp_writes
from demo.knobs import PROBE_HEADER, Knobs
from demo.records import DemoDataset

SystemName = Literal["erp", "crm", "timesheet"]
SYSTEMS: tuple[SystemName, ...] = ("erp", "crm", "timesheet")
HOST = "127.0.0.1"
_FACTORIES = {"erp": erp.create_app, "crm": crm.create_app, "timesheet": timesheet.create_app}


@dataclass
class _Running:
    server: uvicorn.Server
    thread: threading.Thread


def _bind(port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class DemoUpstreams:
    """The three demo upstreams on ``127.0.0.1``; ``urls[name]`` is each base URL.

    The dataset is generated once (or passed in). Ports are chosen free on first start and
    kept for the lifetime of the object, so a restarted upstream has the same URL. Each app
    keeps its ``Knobs`` across restarts.
    """

    def __init__(
        self,
        seed: int = 42,
        today: date | None = None,
        *,
        dataset: DemoDataset | None = None,
        ports: dict[str, int] | None = None,
        ready_timeout: float = 10.0,
    ) -> None:
        """Prepare (not start) the upstreams; ``ports`` pins ports (default: free ones)."""
        self.seed = seed
        self.today = today
        self._dataset = dataset
        self._ports: dict[str, int] = dict(ports or {})
        self._ready_timeout = ready_timeout
        self._running: dict[str, _Running] = {}
        self._apps: dict[str, FastAPI] = {}
        self.knobs: dict[str, Knobs] = {name: Knobs(seed=i) for i, name in enumerate(SYSTEMS)}
        self._lock = threading.Lock()

    # -- properties
    @property
    def dataset(self) -> DemoDataset:
        """The dataset served by all three apps (generated on first use).

        It always holds the generated data: the ERP serves its own copies of the orders and
        lines, which writes change (see ``erp_writes``).
        """
        if self._dataset is None:
            self._dataset = generate(self.seed, self.today)
        return self._dataset

    @property
    def urls(self) -> dict[str, str]:
        """Base URL per system ("erp", "crm", "timesheet") once its port is known."""
        return {name: f"http://{HOST}:{port}" for name, port in self._ports.items()}

    @property
    def ports(self) -> dict[str, int]:
        """Port per system once known."""
        return dict(self._ports)

    @property
    def erp_writes(self) -> ErpWrites:
        """The ERP's writable state: ``write_log()``, ``reset_log()``, ``reset_data()``, ...

        The same object serves ``GET /_writes``, ``POST /_writes/reset`` and
        ``POST /_reset-data``; it lives as long as the ERP app (across restarts).
        """
        return erp_writes(self.app("erp"))

    def is_running(self, name: str) -> bool:
        """Whether upstream ``name`` is currently serving."""
        return name in self._running

    def app(self, name: SystemName) -> FastAPI:
        """The ASGI app of ``name`` (created on first use, kept across restarts)."""
        if name not in self._apps:
            self._apps[name] = _FACTORIES[name](self.dataset, self.knobs[name])
        return self._apps[name]

    # -- lifecycle
    def start(self, name: SystemName | None = None) -> None:
        """Start ``name`` (or every stopped upstream) and wait until it answers ``/healthz``.

        A restarted upstream binds the port it had before.
        """
        for system in (name,) if name else SYSTEMS:
            with self._lock:
                if system not in self._running:
                    self._start_one(system)

    def stop(self, name: SystemName | None = None) -> None:
        """Stop ``name`` (or all): close its port and wait for its thread to end."""
        for system in (name,) if name else SYSTEMS:
            with self._lock:
                running = self._running.pop(system, None)
            if running is not None:
                self.knobs[system].release_stalled()
                running.server.should_exit = True
                running.thread.join(timeout=10)

    def _start_one(self, name: SystemName) -> None:
        app = self.app(name)
        sock = _bind(self._ports.get(name, 0))
        self._ports[name] = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=self._serve, args=(server, sock), name=f"demo-{name}", daemon=True
        )
        thread.start()
        try:
            self._wait_ready(name, server, thread)
        except BaseException:
            server.should_exit = True
            thread.join(timeout=10)
            raise
        self._running[name] = _Running(server, thread)

    @staticmethod
    def _serve(server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        finally:
            sock.close()

    def _wait_ready(self, name: str, server: uvicorn.Server, thread: threading.Thread) -> None:
        deadline = time.monotonic() + self._ready_timeout
        url = f"{self.urls[name]}/healthz"
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if not thread.is_alive():
                    raise RuntimeError(f"demo upstream {name} exited during start-up")
                if server.started:
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(url, headers={PROBE_HEADER.decode(): "1"}).is_success:
                            return
                time.sleep(0.02)
        raise TimeoutError(f"demo upstream {name} did not answer {url}")

    # -- context managers
    def __enter__(self) -> Self:
        """Start all upstreams."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop all upstreams."""
        self.stop()

    async def __aenter__(self) -> Self:
        """Start all upstreams without blocking the running event loop."""
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop all upstreams without blocking the running event loop."""
        await asyncio.to_thread(self.stop)


def main(argv: list[str] | None = None) -> int:
    """Command line: start the upstreams, print their URLs, serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m demo.runner", description=__doc__)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="reference date YYYY-MM-DD (default: today)",
    )
    for name in SYSTEMS:
        parser.add_argument(f"--{name}-port", type=int, default=0, help=f"{name} port (0=free)")
    args = parser.parse_args(argv)
    ports: dict[str, int] = {
        n: getattr(args, f"{n}_port") for n in SYSTEMS if getattr(args, f"{n}_port")
    }
    upstreams = DemoUpstreams(args.seed, args.today, ports=ports)
    with upstreams:
        for system, url in upstreams.urls.items():
            sys.stdout.write(f"{system:<10} {url}\n")
        sys.stdout.write("Serving; press Ctrl-C to stop.\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
