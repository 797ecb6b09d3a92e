"""Keylink beside GraphQL Hive Gateway on the same 1+N query, over the same demo ERP.

    .venv/bin/python bench/peer.py [--quick] [--latency-ms 50] [--no-pin]

The query: 50 customers and, for each, their sales orders (number, status, total).
Keylink answers it as ``customersByKey`` (one batched upstream call per system and
operation); Hive Gateway serves a supergraph composed by ``@graphql-mesh/compose-cli`` and
``@omnigraph/openapi`` from the demo ERP's own OpenAPI document, with ``CustomerOut.orders``
added by ``@resolveTo`` (one ``/orders?customer=`` call per customer: the 1+N). Both
answers are checked to hold the same orders before anything is timed.

Hive Gateway is installed by this script into ``.cache/peer`` (``npm ci`` from
``bench/peer/``); it is not a dependency of Keylink or of CI. Each gateway runs alone on CPU
0; the demo upstreams and the load generator (Debian's ``wrk``, else aiohttp) on CPU 1.
Requests cycle through 64 different 50-customer windows, so that no two concurrent
requests are identical (Keylink's single-flight cannot share work across them). Cold:
Keylink's cache off. Warm: Keylink's memory caches beside Hive's response cache plugin.
Prints figures and ratios; nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]  # run as a script from anywhere

from overview import (  # noqa: E402
    HOST,
    Bench,
    StartError,
    aiohttp_load,
    free_port,
    machine,
    percentile,
)

PEER_SOURCE = REPO / "bench" / "peer"
PEER_DIR = REPO / ".cache" / "peer"
LIST_SIZE = 50
WINDOWS = 64

KEYLINK_QUERY = """
query Orders($keys: [String!]!) {
  customersByKey(system: "erp", keys: $keys) {
    erp { key name }
    orders { key status total { amount currency } }
  }
}
"""

HIVE_QUERY = """
query Orders($ids: String!) {
  list_customers_customers_get(ids: $ids, per_page: 100) {
    items { number name orders { number status total currency } }
  }
}
"""

MESH_CONFIG = """\
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('ERP', {
        source: './erp-openapi.json',
        endpoint: 'ENDPOINT',
      }),
    },
  ],
  additionalTypeDefs: /* GraphQL */ `
    extend type CustomerOut {
      orders: [OrderOut]
        @resolveTo(
          sourceName: "ERP"
          sourceTypeName: "Query"
          sourceFieldName: "list_orders_orders_get"
          requiredSelectionSet: "{ number }"
          sourceArgs: { customer: "{root.number}", per_page: 500 }
          result: "items"
        )
    }
  `,
});
"""

GATEWAY_CONFIG = """\
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  responseCaching: { session: () => null, ttl: 300_000 },
});
"""


def install_peer() -> None:
    """Install Hive Gateway and Mesh Compose into .cache/peer (again only when the pinned
    package files change)."""
    if shutil.which("npm") is None:
        raise SystemExit("bench/peer.py needs node and npm (Debian: apt-get install nodejs npm)")
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    wanted = b"".join((PEER_SOURCE / n).read_bytes() for n in ("package.json", "package-lock.json"))
    stamp = PEER_DIR / ".installed"
    if stamp.exists() and stamp.read_bytes() == wanted:
        return
    for name in ("package.json", "package-lock.json"):
        shutil.copy(PEER_SOURCE / name, PEER_DIR / name)
    print("Installing GraphQL Hive Gateway into .cache/peer (npm ci) ...", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True
    )
    stamp.write_bytes(wanted)


def compose_supergraph(erp_url: str) -> Path:
    """The Hive supergraph for the demo ERP at ``erp_url`` (its OpenAPI document, with only
    the success responses so every operation returns its page type, not a union)."""
    document = httpx.get(f"{erp_url}/openapi.json", timeout=10).json()
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            operation["responses"] = {k: v for k, v in responses.items() if k.startswith("2")}
    (PEER_DIR / "erp-openapi.json").write_text(json.dumps(document))
    (PEER_DIR / "mesh.config.ts").write_text(MESH_CONFIG.replace("ENDPOINT", erp_url))
    subprocess.run(
        [str(PEER_DIR / "node_modules" / ".bin" / "mesh-compose"), "-o", "supergraph.graphql"],
        cwd=PEER_DIR,
        check=True,
        capture_output=True,
    )
    return PEER_DIR / "supergraph.graphql"


def start_hive(bench: Bench, supergraph: Path, cached: bool) -> tuple[Any, str]:
    """Hive Gateway serving ``supergraph`` (response cache on when ``cached``), pinned like
    Keylink."""
    port = free_port()
    binary = PEER_DIR / "node_modules" / ".bin" / "hive-gateway"
    cmd = [str(binary), "supergraph", str(supergraph), "--host", HOST, "--port", str(port)]
    if cached:
        config = PEER_DIR / "gateway.ts"
        config.write_text(GATEWAY_CONFIG)
        cmd += ["--config-path", str(config)]
    log = bench.tmp / f"hive-{port}.log"
    env = {**os.environ, "NODE_ENV": "production"}
    proc = bench.procs.start("hive", cmd, log, bench.gateway_cpus, env)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # Hive answers /healthcheck once it is ready
        try:
            if httpx.get(f"{url}/healthcheck", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise StartError("Hive Gateway did not come up", log)


def orders_of_keylink(body: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    """(customer, order, status, total, currency) of every order in Keylink's answer."""
    return {
        (
            row["erp"]["key"],
            o["key"],
            o["status"].lower(),
            o["total"]["amount"],
            o["total"]["currency"],
        )
        for row in body["data"]["customersByKey"]
        for o in row["orders"]
    }


def orders_of_hive(body: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    """(customer, order, status, total, currency) of every order in Hive's answer."""
    return {
        (c["number"], o["number"], o["status"].lower(), o["total"], o["currency"])
        for c in body["data"]["list_customers_customers_get"]["items"]
        for o in c["orders"]
    }


def run_gateway(
    bench: Bench, name: str, proc: Any, url: str, bodies: list[bytes], duration: float
) -> dict[str, float]:
    """Latency at 1 connection, req/s and CPU ms/request at 1 and 32, upstream calls."""
    bench.reset_stats()
    one = asyncio.run(aiohttp_load(url, bodies[:1], 1, count=1))
    calls = bench.stats_total()
    latency = bench.load(proc, url, bodies, 1, count=10 if bench.quick else 30)
    asyncio.run(aiohttp_load(url, bodies, 32, duration=1.0))  # warm-up, not measured
    at1 = bench.load(proc, url, bodies, 1, duration=duration)
    at32 = bench.load(proc, url, bodies, 32, duration=duration)
    for run in (one, latency, at1, at32):
        if run.failed:
            bench.notes.append(f"{name}: {run.failed} failed answers; first: {run.first_error}")
    return {
        "p50": 1000 * percentile(latency.latencies, 50) if latency.latencies else math.nan,
        "rps1": at1.rate,
        "rps32": at32.rate,
        "cpu1": at1.cpu_ms_per_request,
        "cpu32": at32.cpu_ms_per_request,
        "calls": float(calls),
    }


def check_same_answers(keylink: str, hive: str, keys: list[str]) -> int:
    """Both gateways' orders for ``keys``; exits when they differ. Returns the order count."""
    ours = httpx.post(
        keylink, json={"query": KEYLINK_QUERY, "variables": {"keys": keys}}, timeout=60
    )
    theirs = httpx.post(
        hive, json={"query": HIVE_QUERY, "variables": {"ids": ",".join(keys)}}, timeout=60
    )
    a, b = ours.json(), theirs.json()
    if a.get("errors") or b.get("errors"):
        raise SystemExit(f"an answer has errors: keylink {a.get('errors')} hive {b.get('errors')}")
    if orders_of_keylink(a) != orders_of_hive(b):
        raise SystemExit("Keylink and Hive Gateway answered with different orders")
    return len(orders_of_keylink(a))


def main() -> int:
    """Run both gateways, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s load runs instead of 10 s")
    parser.add_argument("--latency-ms", type=int, default=50, help="added upstream latency")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    args = parser.parse_args()
    bench = Bench(argparse.Namespace(quick=args.quick, no_pin=args.no_pin, loadgen="auto"))
    print("Keylink vs GraphQL Hive Gateway (figures only; compare ratios within one run)")
    print(f"Machine: {machine()}")
    print(f"Pinning: {bench.pin()}")
    print(f"Load generator: {'wrk ' + bench.wrk if bench.wrk else 'aiohttp (wrk not found)'}")
    install_peer()
    results: dict[str, dict[str, float]] = {}
    try:
        bench.start_upstreams()
        with httpx.Client(timeout=5) as client:
            for upstream in bench.upstream_urls.values():
                client.put(f"{upstream}/_knobs", json={"latency_ms": args.latency_ms})
        linkmap_url, customers = bench.seed_links()
        erp_keys = [c["erp"] for c in customers]
        windows = [
            [erp_keys[(i * 37 + j) % len(erp_keys)] for j in range(LIST_SIZE)]
            for i in range(WINDOWS)
        ]
        keylink_bodies = [
            orjson.dumps({"query": KEYLINK_QUERY, "variables": {"keys": w}}) for w in windows
        ]
        hive_bodies = [
            orjson.dumps({"query": HIVE_QUERY, "variables": {"ids": ",".join(w)}}) for w in windows
        ]
        supergraph = compose_supergraph(bench.upstream_urls["erp"])
        duration = bench.duration
        print(
            f"Upstreams: demo ERP, {args.latency_ms} ms added latency; query: {LIST_SIZE} "
            "customers and their orders, 64 windows round robin"
        )
        for scenario, cache in (
            ("cold", {"url": "none"}),
            ("warm", {"url": "memory://", "ttl": 300}),
        ):
            keylink, keylink_url, _ = bench.start_gateway(linkmap_url, cache, None)
            hive, hive_url = start_hive(bench, supergraph, cached=scenario == "warm")
            count = check_same_answers(f"{keylink_url}/graphql", f"{hive_url}/graphql", windows[0])
            print(f"{scenario}: both answers hold the same {count} orders for the first window")
            results[f"Keylink {scenario}"] = run_gateway(
                bench, "Keylink", keylink, f"{keylink_url}/graphql", keylink_bodies, duration
            )
            bench.procs.stop(keylink)
            results[f"Hive Gateway {scenario}"] = run_gateway(
                bench, "Hive", hive, f"{hive_url}/graphql", hive_bodies, duration
            )
            bench.procs.stop(hive)
    finally:
        bench.procs.stop_all()
    print_table(results, args.latency_ms)
    for note in bench.notes:
        print(f"NOTE: {note}")
    flags = " --quick" if args.quick else ""
    print(f"Rerun: .venv/bin/python bench/peer.py{flags} --latency-ms {args.latency_ms}")
    return 0


def print_table(results: dict[str, dict[str, float]], latency_ms: int) -> None:
    """The Markdown table and the req/s and CPU ratios."""
    print(f"\n## Keylink vs Hive Gateway ({latency_ms} ms upstream latency)\n")
    print(
        "| gateway | p50 ms @1 | req/s @1 | req/s @32 | CPU ms/req @1 / @32 "
        "| upstream calls/query |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['p50']:.1f} | {r['rps1']:.1f} | {r['rps32']:.1f} | "
            f"{r['cpu1']:.2f} / {r['cpu32']:.2f} | {r['calls']:.0f} |"
        )
    for scenario in ("cold", "warm"):
        ours, theirs = results.get(f"Keylink {scenario}"), results.get(f"Hive Gateway {scenario}")
        if ours and theirs and theirs["rps32"]:
            print(
                f"{scenario}: Keylink req/s @32 / Hive req/s @32 = "
                f"{ours['rps32'] / theirs['rps32']:.2f}; CPU ms/req @32 Keylink "
                f"{ours['cpu32']:.2f} vs Hive {theirs['cpu32']:.2f}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
