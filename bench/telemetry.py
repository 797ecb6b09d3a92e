"""What telemetry costs: req/s of one customer's overview through three gateways in one run.

    .venv/bin/python bench/telemetry.py [--seconds 8] [--rounds 3] [--concurrency 16] [--cold]

- ``not installed``: the gateway without any telemetry (no request-id layer, no schema
  extension, no call or batch watchers): what Keylink cost before telemetry existed;
- ``tracing off``: the default (request ids, metrics, explain on request; no spans);
- ``tracing on``: spans for every operation, batch and upstream call (sampled, no
  exporter: the cost of making them, not of shipping them).

Each gateway runs in its own process over the same demo upstreams (in this process) and
the same SQLite link map, with the read cache warm (``--cold``: cache off, every query
reads upstream) and the response cache off, so every request runs the GraphQL operation.
The gateways are measured in turn, round after round, and the median of the rounds is
printed with each one's cost against ``not installed``. Figures only: nothing passes or
fails; the machine is small and noisy, so compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]  # run as a script from anywhere

from demo.links import demo_links  # noqa: E402
from demo.queries import CUSTOMER  # noqa: E402
from demo.runner import DemoUpstreams  # noqa: E402
from gateway.demo_mode import demo_systems, seed_demo_links  # noqa: E402

MODES = ("not installed", "tracing off", "tracing on")


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(mode: str, overrides: dict[str, Any], port: int) -> None:
    """Run one gateway in this (child) process until it is terminated."""
    import uvicorn

    import gateway.app as gateway_app
    from gateway.settings import load_settings
    from gateway.telemetry.observers import uninstall_observers
    from gateway.telemetry.state import AppTelemetry

    if mode == "tracing on":
        overrides = {**overrides, "telemetry": {"tracing": {"enabled": True, "exporter": "none"}}}
    if mode == "not installed":
        build = gateway_app.build_schema

        def without_telemetry(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("outer_extensions", None)
            return build(*args, **kwargs)

        gateway_app.build_schema = without_telemetry  # type: ignore[assignment]
        gateway_app.add_request_layer = lambda app, telemetry: None  # type: ignore[assignment]
        gateway_app.app_telemetry = lambda app, settings: AppTelemetry(settings)  # type: ignore[assignment]
    app = gateway_app.create_app(load_settings(overrides=overrides))
    if mode == "not installed":
        uninstall_observers()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def load(url: str, bodies: list[bytes], seconds: float, concurrency: int) -> float:
    """Requests per second answered 200 without errors over ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds
    headers = {"content-type": "application/json"}

    async def worker(session: aiohttp.ClientSession, offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < deadline:
            async with session.post(f"{url}/graphql", data=bodies[i % len(bodies)]) as answer:
                body = await answer.read()
                if answer.status != 200 or b'"errors"' in body:
                    raise RuntimeError(f"bad answer {answer.status}: {body[:300]!r}")
            done += 1
            i += concurrency

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        await asyncio.gather(*(worker(session, n) for n in range(concurrency)))
    return done / (time.perf_counter() - started)


def main() -> None:
    """Start the upstreams and the three gateways, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--cold", action="store_true", help="read cache off")
    args = parser.parse_args()
    spawn = multiprocessing.get_context("spawn")
    with DemoUpstreams() as upstreams, tempfile.TemporaryDirectory() as tmp:
        linkmap = f"sqlite+aiosqlite:///{tmp}/keylink.db"
        asyncio.run(seed_demo_links(linkmap, upstreams.dataset))
        overrides = {
            "linkmap": {"url": linkmap, "migrate_on_start": False},
            "cache": {"url": "none"}
            if args.cold
            else {"url": "memory://", "ttl": 3600, "master_data_ttl": 3600, "response_ttl": 0},
            "rate_limit": {"enabled": False},
            "systems": demo_systems(upstreams.urls),
        }
        keys = [
            link.keys["crm"][0]
            for link in demo_links(upstreams.dataset)
            if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
        ][:40]
        bodies = [
            httpx.Request(
                "POST",
                "http://x",
                json={"query": CUSTOMER, "variables": {"system": "crm", "key": k}},
            ).read()
            for k in keys
        ]
        gateways: dict[str, tuple[Any, str]] = {}
        try:
            for mode in MODES:
                port = free_port()
                process = spawn.Process(target=serve, args=(mode, overrides, port), daemon=True)
                process.start()
                gateways[mode] = (process, f"http://127.0.0.1:{port}")
            for _, url in gateways.values():
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise SystemExit(f"gateway at {url} did not start")
                    time.sleep(0.1)
                asyncio.run(load(url, bodies, 1.0, args.concurrency))  # warm up, prime cache
            rates: dict[str, list[float]] = {mode: [] for mode in MODES}
            for _ in range(args.rounds):
                for mode, (_, url) in gateways.items():
                    rates[mode].append(
                        asyncio.run(load(url, bodies, args.seconds, args.concurrency))
                    )
        finally:
            for process, _ in gateways.values():
                process.terminate()
                process.join(10)
    base = statistics.median(rates["not installed"])
    cache = "cache off (cold)" if args.cold else "read cache warm"
    print(
        f"one customer's overview, {cache}, {args.concurrency} concurrent, "
        f"{args.rounds} rounds of {args.seconds:g} s (median req/s)"
    )
    for mode in MODES:
        rate = statistics.median(rates[mode])
        rounds = ", ".join(f"{r:.0f}" for r in rates[mode])
        cost = "" if mode == "not installed" else f"  cost {(1 - rate / base) * 100:+.1f} %"
        print(f"  {mode:<14} {rate:8.1f} req/s  [{rounds}]{cost}")


if __name__ == "__main__":
    main()
