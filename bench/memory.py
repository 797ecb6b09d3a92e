"""Memory of one gateway worker after 1,000 and after 100,000 requests.

    .venv/bin/python bench/memory.py [--requests 100000] [--no-pin]

Starts the demo upstreams (no added latency) and one ``keylink serve`` worker with the
in-memory read and response caches, then sends every demo customer's overview and
64 different 50-customer lists round robin from 32 keep-alive clients (a mix of cache hits,
misses and expiries). Prints the worker's resident memory (VmRSS) after the first 1,000
requests and after all of them, and their ratio. Figures only; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]  # run as a script from anywhere

from overview import Bench, aiohttp_load, machine, queries  # noqa: E402

WARM_UP = 1_000
CONCURRENCY = 32


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def main() -> int:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    args = parser.parse_args()
    bench = Bench(argparse.Namespace(quick=True, no_pin=args.no_pin, loadgen="aiohttp"))
    print(f"Machine: {machine()}")
    print(f"Pinning: {bench.pin()}")
    try:
        bench.start_upstreams()
        with httpx.Client(timeout=5) as client:
            for url in bench.upstream_urls.values():
                client.put(f"{url}/_knobs", json={"latency_ms": 0}).raise_for_status()
        linkmap_url, customers = bench.seed_links()
        gateway, base, _ = bench.start_gateway(linkmap_url, {"url": "memory://"}, None)
        url = f"{base}/graphql"
        bodies = [body for query in queries(customers, bench.today) for body in query.distinct]
        print(f"{len(bodies)} distinct request bodies, {CONCURRENCY} clients")
        started = time.perf_counter()
        first = asyncio.run(aiohttp_load(url, bodies, CONCURRENCY, count=WARM_UP))
        after_first = rss_mib(gateway.pid)
        rest = asyncio.run(aiohttp_load(url, bodies, CONCURRENCY, count=args.requests - WARM_UP))
        after_all = rss_mib(gateway.pid)
        elapsed = time.perf_counter() - started
        failed = first.failed + rest.failed
        print(f"requests: {first.done + rest.done} in {elapsed:.0f} s ({failed} failed)")
        if failed:
            print(f"first failure: {first.first_error or rest.first_error}")
        print(f"RSS after {WARM_UP:,} requests: {after_first:.1f} MiB")
        print(f"RSS after {first.done + rest.done:,} requests: {after_all:.1f} MiB")
        print(f"ratio: {after_all / after_first:.3f} (goal: <= 1.2)")
    finally:
        bench.procs.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
