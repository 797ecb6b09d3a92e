"""What a list page, a lookup, an exported row and an imported link cost as the link map grows.

    .venv/bin/python bench/scale.py [--sizes 1000,10000,100000] [--million]
                                    [--backends sqlite,postgres] [--pages 100] [--lookups 300]

For each link-map backend and size: writes a links file of N customers with three keys each
(ERP, CRM, timesheet), loads it with ``keylink links import --apply`` (seconds and the
importer's peak memory), starts one ``keylink serve`` worker on that link map (the demo
upstreams behind it; the queries below read only the link map), then measures the
worker's CPU time per request from ``/proc``:

* list page: ``customers(first: 50)`` followed page by page through ``endCursor``
  (``id``, ``keys``, ``cursor``), from the start of the list and from its middle;
* lookup: ``customer(system: "erp", key: ...)`` of random keys;
* export: ``POST /export?format=csv`` of the whole list, keys only (rows per second, wall);

and the worker's peak memory (VmHWM). The response cache is off, so a repeated page or
lookup costs its work, not a cache hit. Prints one table per backend with the ratios to the
smallest size. Figures only; nothing passes or fails. PostgreSQL comes from
``KEYLINK_BENCH_POSTGRES_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``;
a throwaway database is created and dropped); ``--million`` adds 1,000,000 customers.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import yaml
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]  # run as a script from anywhere

from overview import SYSTEMS, Bench, cpu_seconds, machine  # noqa: E402

from gateway.demo_mode import SPEC_DIR  # noqa: E402

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PAGE = 50

PAGE_QUERY = f"""
query Page($after: String) {{
  customers(first: {PAGE}, after: $after) {{
    edges {{ cursor node {{ id keys {{ system key }} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

LOOKUP_QUERY = """
query Lookup($key: String!) {
  customer(system: "erp", key: $key) { id keys { system key } }
}
"""

EXPORT_QUERY = """
query Export($after: String) {
  customers(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id keys { system key } } }
  }
}
"""


def erp_key(i: int) -> str:
    """The ERP number of generated customer ``i``."""
    return f"C{i:07d}"


def links_rows(size: int) -> Iterator[list[str]]:
    """The links file's rows: a header, then one customer with three keys per row."""
    yield ["kind", "erp", "crm", "timesheet"]
    for i in range(1, size + 1):
        yield ["customer", erp_key(i), f"A-{i:07d}", f"T{i:07d}"]


def peak_rss_mib(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``cmd``; its wall seconds, its peak resident memory in MiB and its output tail.

    The command runs under a small Python wrapper whose only child it is, so the
    wrapper's ``RUSAGE_CHILDREN`` high-water mark is the command's own."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "w = time.perf_counter() - t\n"
        "print(p.returncode, w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stdout.write((p.stdout + p.stderr)[-2000:])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env, check=True
    )
    first, _, tail = done.stdout.partition("\n")
    code, wall, rss_kib = first.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd[:4])} failed ({code}):\n{tail}")
    return float(wall), int(rss_kib) / 1024, tail


def vm_hwm_mib(pid: int) -> float:
    """Peak resident memory of process ``pid`` so far, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Row:
    """The figures of one link-map size on one backend."""

    size: int
    import_s: float
    import_mib: float
    page_ms: float
    deep_page_ms: float
    lookup_ms: float
    export_rows_s: float
    gateway_mib: float


class LinkMapDb:
    """A throwaway link-map database on one backend."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.admin = make_url(os.environ.get("KEYLINK_BENCH_POSTGRES_URL", PG_DEFAULT))
        self.url = ""

    def create(self, size: int) -> str:
        """A new, empty database's URL."""
        if self.backend == "sqlite":
            path = self.tmp / f"links-{size}.db"
            path.unlink(missing_ok=True)
            self.url = f"sqlite+aiosqlite:///{path}"
        else:
            name = f"keylink_scale_{uuid.uuid4().hex[:10]}"
            asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
            self.url = self.admin.set(database=name).render_as_string(hide_password=False)
        return self.url

    def drop(self) -> None:
        """Remove the database."""
        if self.backend == "postgres" and self.url:
            name = make_url(self.url).database
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        elif self.url:
            Path(self.url.removeprefix("sqlite+aiosqlite:///")).unlink(missing_ok=True)

    async def _admin(self, statement: str) -> None:
        dsn = self.admin.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()


def config_file(bench: Bench, linkmap_url: str, path: Path) -> Path:
    """A keylink.yaml naming the link map and the demo upstreams."""
    config: dict[str, Any] = {
        "linkmap": {"url": linkmap_url, "migrate_on_start": False},
        "systems": {
            name: {
                "kind": name,
                "adapter": "rest",
                "url": bench.upstream_urls[name],
                "spec": str(SPEC_DIR / f"{name}.yaml"),
            }
            for name in SYSTEMS
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def per_request_ms(pid: int, run: Callable[[], int]) -> float:
    """CPU milliseconds of process ``pid`` per request of ``run`` (returns the count)."""
    before = cpu_seconds(pid)
    count = run()
    return 1000 * float(cpu_seconds(pid) - before) / max(count, 1)


def walk_pages(client: httpx.Client, url: str, start: str | None, pages: int) -> int:
    """Follow ``pages`` pages from cursor ``start``; the number of pages read."""
    after, done = start, 0
    for _ in range(pages):
        body = {"query": PAGE_QUERY, "variables": {"after": after}}
        answer = client.post(url, json=body).json()
        if answer.get("errors"):
            raise RuntimeError(f"list page failed: {answer['errors'][0]}")
        connection = answer["data"]["customers"]
        done += 1
        if len(connection["edges"]) != PAGE and connection["pageInfo"]["hasNextPage"]:
            raise RuntimeError("a full page was expected")
        if not connection["pageInfo"]["hasNextPage"]:
            after = None
            continue
        after = connection["pageInfo"]["endCursor"]
    return done


def middle_cursor(client: httpx.Client, url: str, size: int) -> str | None:
    """The cursor of the row in the middle of the list (found through ``keys``)."""
    key = erp_key(size // 2)
    body = {"query": LOOKUP_QUERY, "variables": {"key": key}}
    entity = client.post(url, json=body).json()["data"]["customer"]
    # the first page after an id-ordered cursor: ask the list for the page holding it
    answer = client.post(
        url,
        json={
            "query": (
                'query($k: [String!]!) { customers(filter: {keys: {system: "erp", keys: $k}})'
                " { edges { cursor } } }"
            ),
            "variables": {"k": [key]},
        },
    ).json()
    edges = answer["data"]["customers"]["edges"]
    return edges[0]["cursor"] if edges and entity else None


def measure(bench: Bench, db: LinkMapDb, size: int, args: argparse.Namespace) -> Row:
    """All figures of one size on one backend."""
    url = db.create(size)
    try:
        cfg = config_file(bench, url, bench.tmp / f"scale-{db.backend}-{size}.yaml")
        keylink = str(Path(sys.executable).with_name("keylink"))
        env = bench.child_env()
        migrate = [keylink, "migrate", "-c", str(cfg)]
        subprocess.run(migrate, check=True, env=env, capture_output=True)
        links = bench.tmp / f"links-{size}.csv"
        with links.open("w", newline="") as handle:
            csv.writer(handle).writerows(links_rows(size))
        import_s, import_mib, _ = peak_rss_mib(
            [keylink, "links", "import", str(links), "--apply", "-c", str(cfg)], env
        )
        links.unlink()
        # no response cache: a repeated page or lookup must cost its work, not a cache hit
        cache = {"url": "memory://", "response_ttl": 0}
        gateway, base, _ = bench.start_gateway(url, cache, None)
        try:
            graphql = f"{base}/graphql"
            rng = random.Random(size)
            with httpx.Client(timeout=120) as client:
                walk_pages(client, graphql, None, 5)  # warm-up
                page_ms = per_request_ms(
                    gateway.pid, lambda: walk_pages(client, graphql, None, args.pages)
                )
                middle = middle_cursor(client, graphql, size)
                deep_ms = per_request_ms(
                    gateway.pid, lambda: walk_pages(client, graphql, middle, args.pages)
                )

                def lookups() -> int:
                    for _ in range(args.lookups):
                        key = erp_key(rng.randint(1, size))
                        body = {"query": LOOKUP_QUERY, "variables": {"key": key}}
                        answer = client.post(graphql, json=body).json()
                        if not answer["data"]["customer"]:
                            raise RuntimeError(f"lookup of {key} found nothing")
                    return int(args.lookups)

                lookup_ms = per_request_ms(gateway.pid, lookups)
                started = time.perf_counter()
                rows = 0
                with client.stream(
                    "POST", f"{base}/export?format=csv", json={"query": EXPORT_QUERY}
                ) as answer:
                    answer.raise_for_status()
                    for line in answer.iter_lines():
                        rows += 1 if line else 0
                rows -= 1  # the header
                export_s = time.perf_counter() - started
                if rows != size:
                    raise RuntimeError(f"export gave {rows} rows, not {size}")
            return Row(
                size,
                import_s,
                import_mib,
                page_ms,
                deep_ms,
                lookup_ms,
                rows / export_s,
                vm_hwm_mib(gateway.pid),
            )
        finally:
            bench.procs.stop(gateway)
    finally:
        db.drop()


def print_table(backend: str, rows: list[Row]) -> None:
    """One backend's figures, with each column's ratio to the first row."""
    base = rows[0]
    print(f"\n{backend}: CPU ms per request of the gateway worker (ratio to {base.size:,})")
    print(
        f"{'customers':>10} | {'list page':>14} | {'page in middle':>14} | {'lookup':>13} | "
        f"{'export rows/s':>15} | {'import s':>13} | {'import MiB':>10} | {'gateway MiB':>11}"
    )
    for row in rows:
        print(
            f"{row.size:>10,} | {row.page_ms:6.2f} ({row.page_ms / base.page_ms:4.2f}×) | "
            f"{row.deep_page_ms:6.2f} ({row.deep_page_ms / base.deep_page_ms:4.2f}×) | "
            f"{row.lookup_ms:5.2f} ({row.lookup_ms / base.lookup_ms:4.2f}×) | "
            f"{row.export_rows_s:7.0f} ({row.export_rows_s / base.export_rows_s:4.2f}×) | "
            f"{row.import_s:6.1f} ({row.import_s / base.import_s:5.1f}×) | "
            f"{row.import_mib:10.0f} | {row.gateway_mib:11.0f}"
        )


def main() -> int:
    """Measure every size on every backend and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 customers")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pages", type=int, default=100, help="list pages per measurement")
    parser.add_argument("--lookups", type=int, default=300, help="lookups per measurement")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    bench = Bench(argparse.Namespace(quick=True, no_pin=True, loadgen="aiohttp"))
    print(f"Machine: {machine()}")
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    try:
        bench.start_upstreams()
        for backend in args.backends.split(","):
            db = LinkMapDb(backend, bench.tmp)
            rows = []
            for size in sizes:
                row = measure(bench, db, size, args)
                rows.append(row)
                print(f"  {backend} {size:,}: done", flush=True)
            print_table(backend, rows)
    finally:
        bench.procs.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
