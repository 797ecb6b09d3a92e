"""Keylink beside GraphQL Hive Gateway configured as an expert would, over the same demo ERP.

    .venv/bin/python bench/peer.py [--quick] [--latency-ms 50] [--no-pin] [--naive]

Two queries, cache off on both gateways: 50 customers and, for each, their sales orders
(number, status, total), and the same for one customer. Keylink answers them as
``customersByKey`` (one batched upstream call per system and operation). Hive Gateway
serves a supergraph composed by ``@graphql-mesh/compose-cli`` and ``@omnigraph/openapi``
from the demo ERP's own OpenAPI document, run the way an expert runs it: the ``/orders``
``customer`` parameter is declared as an array (``style: form, explode: false``: one request
carries many customers) and ``CustomerOut.orders`` is an ``additionalResolvers`` field whose
per-request DataLoader calls the in-context SDK once per batch and reads every page
(``bench/peer/gateway-batched.ts``). ``--naive`` adds, as an extra labelled row, the plain
``@resolveTo`` composition that calls ``/orders?customer=`` once per customer (the 1+N).
Before anything is timed, every window of every query is checked: both gateways must
return the same orders.

Hive Gateway is installed by this script into ``.cache/peer`` (``npm ci`` from
``bench/peer/``, again only when the pinned package files change); it is not a dependency
of Keylink or of CI. Each gateway runs alone on CPU 0; the demo upstreams and the load
generator (Debian's ``wrk``, else aiohttp) on CPU 1. Requests cycle through 64 different
windows, so that no two concurrent requests are identical (Keylink's single-flight cannot
share work across them). Upstream calls per query are counted by the demo upstreams
(``/_stats``). Prints figures and ratios; nothing passes or fails.
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
from dataclasses import dataclass
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
WINDOWS = 64
PER_PAGE = 500  # the demo ERP's largest page (demo/API.md)

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
        source: './SOURCE',
        endpoint: 'ENDPOINT',
      }),
    },
  ],
  additionalTypeDefs: /* GraphQL */ `EXTENSION`,
});
"""

NAIVE_ORDERS = """
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
"""


@dataclass(frozen=True)
class Peer:
    """One way of running Hive Gateway: its label, and how it is composed and configured."""

    label: str
    batched: bool

    @property
    def name(self) -> str:
        """A file-name-safe short name."""
        return "batched" if self.batched else "naive"


BATCHED = Peer("Hive Gateway (batched: array param + DataLoader, all pages)", batched=True)
NAIVE = Peer("Hive Gateway (naive @resolveTo, 1+N; extra)", batched=False)


@dataclass(frozen=True)
class Query:
    """One query of the bench: its label and the request bodies, one per window."""

    label: str
    windows: list[list[str]]

    def keylink_bodies(self) -> list[bytes]:
        """Keylink's request bodies, one per window."""
        return [
            orjson.dumps({"query": KEYLINK_QUERY, "variables": {"keys": w}}) for w in self.windows
        ]

    def hive_bodies(self) -> list[bytes]:
        """Hive Gateway's request bodies, one per window."""
        return [
            orjson.dumps({"query": HIVE_QUERY, "variables": {"ids": ",".join(w)}})
            for w in self.windows
        ]


def install_peer() -> None:
    """Install Hive Gateway, Mesh Compose and DataLoader into .cache/peer (again only when
    the pinned package files change)."""
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


def erp_document(erp_url: str, *, batched: bool) -> dict[str, Any]:
    """The demo ERP's OpenAPI document with only the success responses (so every operation
    returns its page type, not a union); ``batched``: ``/orders``' ``customer`` declared as
    an array sent comma-separated (``style: form, explode: false``), as the ERP reads it."""
    document: dict[str, Any] = httpx.get(f"{erp_url}/openapi.json", timeout=10).json()
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            operation["responses"] = {k: v for k, v in responses.items() if k.startswith("2")}
    if batched:
        for parameter in document["paths"]["/orders"]["get"]["parameters"]:
            if parameter["name"] == "customer":
                parameter["schema"] = {"type": "array", "items": {"type": "string"}}
                parameter["style"] = "form"
                parameter["explode"] = False
    return document


def compose_supergraph(erp_url: str, peer: Peer) -> Path:
    """The Hive supergraph for the demo ERP at ``erp_url``, composed the ``peer``'s way."""
    source = f"erp-openapi-{peer.name}.json"
    (PEER_DIR / source).write_text(json.dumps(erp_document(erp_url, batched=peer.batched)))
    config = (
        MESH_CONFIG.replace("SOURCE", source)
        .replace("ENDPOINT", erp_url)
        .replace("EXTENSION", "" if peer.batched else NAIVE_ORDERS)
    )
    (PEER_DIR / "mesh.config.ts").write_text(config)
    output = f"supergraph-{peer.name}.graphql"
    subprocess.run(
        [str(PEER_DIR / "node_modules" / ".bin" / "mesh-compose"), "-o", output],
        cwd=PEER_DIR,
        check=True,
        capture_output=True,
    )
    return PEER_DIR / output


def start_hive(bench: Bench, supergraph: Path, peer: Peer) -> tuple[Any, str]:
    """Hive Gateway serving ``supergraph`` without a response cache, configured the
    ``peer``'s way, pinned like Keylink."""
    port = free_port()
    binary = PEER_DIR / "node_modules" / ".bin" / "hive-gateway"
    cmd = [str(binary), "supergraph", str(supergraph), "--host", HOST, "--port", str(port)]
    if peer.batched:
        config = PEER_DIR / "gateway-batched.ts"
        shutil.copy(PEER_SOURCE / "gateway-batched.ts", config)
        cmd += ["--config-path", str(config)]
    log = bench.tmp / f"hive-{peer.name}-{port}.log"
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


Orders = set[tuple[str, str, str, str, str]]
KEYLINK_STATUS = {"processing": "confirmed"}
"""The ERP states Keylink reports under another name (demo/specs/erp.yaml: CONFIRMED is
``confirmed`` or ``processing``); Hive Gateway passes the ERP's own state through."""


def orders_of_keylink(body: dict[str, Any]) -> Orders:
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


def orders_of_hive(body: dict[str, Any]) -> Orders:
    """(customer, order, status, total, currency) of every order in Hive's answer."""
    return {
        (
            c["number"],
            o["number"],
            KEYLINK_STATUS.get(o["status"].lower(), o["status"].lower()),
            o["total"],
            o["currency"],
        )
        for c in body["data"]["list_customers_customers_get"]["items"]
        for o in c["orders"]
    }


def answer(url: str, body: bytes) -> dict[str, Any]:
    """One gateway's JSON answer to ``body``; exits on GraphQL errors."""
    response = httpx.post(
        url, content=body, headers={"content-type": "application/json"}, timeout=60
    )
    data: dict[str, Any] = response.json()
    if response.status_code != 200 or data.get("errors"):
        raise SystemExit(f"{url} answered {response.status_code}: {str(data)[:600]}")
    return data


def compare_answers(keylink: str, hive: str, query: Query) -> tuple[int, int, int]:
    """Both gateways' orders on every window of ``query``: (orders in Keylink's answers,
    orders only Keylink returned, orders only Hive returned); exits when no window holds
    any order (nothing would be compared)."""
    checked = only_ours = only_theirs = 0
    for ours, theirs in zip(query.keylink_bodies(), query.hive_bodies(), strict=True):
        a, b = orders_of_keylink(answer(keylink, ours)), orders_of_hive(answer(hive, theirs))
        checked, only_ours, only_theirs = (
            checked + len(a),
            only_ours + len(a - b),
            only_theirs + len(b - a),
        )
    if not checked:
        raise SystemExit(f"{query.label}: no orders at all in any window; nothing compared")
    return checked, only_ours, only_theirs


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


def make_queries(erp_keys: list[str], list_size: int) -> list[Query]:
    """The bench's queries: ``list_size`` customers, and one customer, 64 windows each."""
    many = [
        [erp_keys[(i * 37 + j) % len(erp_keys)] for j in range(list_size)] for i in range(WINDOWS)
    ]
    one = [[erp_keys[(i * 37) % len(erp_keys)]] for i in range(WINDOWS)]
    return [Query(f"{list_size} customers", many), Query("1 customer", one)]


def main() -> int:
    """Run both gateways on both queries, print the table and the ratios."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s load runs instead of 10 s")
    parser.add_argument("--latency-ms", type=int, default=50, help="added upstream latency")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument(
        "--naive", action="store_true", help="also run the naive 1+N composition (extra row)"
    )
    parser.add_argument("--list-size", type=int, default=50, help="customers in the big query")
    args = parser.parse_args()
    bench = Bench(argparse.Namespace(quick=args.quick, no_pin=args.no_pin, loadgen="auto"))
    peers = [BATCHED, NAIVE] if args.naive else [BATCHED]
    print("Keylink vs GraphQL Hive Gateway (figures only; compare ratios within one run)")
    print(f"Machine: {machine()}")
    print(f"Pinning: {bench.pin()}")
    print(f"Load generator: {'wrk ' + bench.wrk if bench.wrk else 'aiohttp (wrk not found)'}")
    print(
        "Hive Gateway: composed from the demo ERP's OpenAPI document (@omnigraph/openapi); "
        "/orders `customer` declared as an array (style: form, explode: false); "
        "CustomerOut.orders by a per-request DataLoader in additionalResolvers calling the "
        f"in-context SDK once per batch, reading every page ({PER_PAGE} per page); "
        "no response cache. Keylink: cache off."
        + (" Extra row: naive @resolveTo, one /orders call per customer." if args.naive else "")
    )
    install_peer()
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        bench.start_upstreams()
        with httpx.Client(timeout=5) as client:
            for upstream in bench.upstream_urls.values():
                client.put(f"{upstream}/_knobs", json={"latency_ms": args.latency_ms})
        linkmap_url, customers = bench.seed_links()
        queries = make_queries([c["erp"] for c in customers], args.list_size)
        supergraphs = {p: compose_supergraph(bench.upstream_urls["erp"], p) for p in peers}
        print(
            f"Upstreams: demo upstreams, {args.latency_ms} ms added latency; "
            f"{WINDOWS} windows per query, round robin"
        )
        keylink, keylink_url, _ = bench.start_gateway(linkmap_url, {"url": "none"}, None)
        hives = {p: start_hive(bench, supergraphs[p], p) for p in peers}
        for query in queries:
            for peer, (_, hive_url) in hives.items():
                count, only_ours, only_theirs = compare_answers(
                    f"{keylink_url}/graphql", f"{hive_url}/graphql", query
                )
                same = not only_ours and not only_theirs
                verdict = (
                    f"return the same orders on all {WINDOWS} windows ({count} orders)"
                    if same
                    else f"differ: {only_ours} of Keylink's {count} orders missing from "
                    f"Hive's answers, {only_theirs} only in Hive's"
                )
                print(f"{query.label}: Keylink and {peer.label} {verdict}")
                if not same and peer.batched:
                    raise SystemExit("the batched Hive Gateway must return Keylink's orders")
                if not same:
                    bench.notes.append(
                        f"{peer.label} on {query.label}: {verdict} (@resolveTo reads one page "
                        f"of {PER_PAGE} orders per customer)"
                    )
        for hive, _ in hives.values():  # each gateway alone on its CPU while timed
            bench.procs.stop(hive)
        for query in queries:
            results[query.label] = {
                "Keylink": run_gateway(
                    bench,
                    "Keylink",
                    keylink,
                    f"{keylink_url}/graphql",
                    query.keylink_bodies(),
                    bench.duration,
                )
            }
        bench.procs.stop(keylink)
        for peer in peers:
            hive, hive_url = start_hive(bench, supergraphs[peer], peer)
            for query in queries:
                results[query.label][peer.label] = run_gateway(
                    bench,
                    peer.label,
                    hive,
                    f"{hive_url}/graphql",
                    query.hive_bodies(),
                    bench.duration,
                )
            bench.procs.stop(hive)
    finally:
        bench.procs.stop_all()
    print_table(results, args.latency_ms)
    for note in bench.notes:
        print(f"NOTE: {note}")
    flags = (" --quick" if args.quick else "") + (" --naive" if args.naive else "")
    print(f"Rerun: .venv/bin/python bench/peer.py{flags} --latency-ms {args.latency_ms}")
    return 0


def print_table(results: dict[str, dict[str, dict[str, float]]], latency_ms: int) -> None:
    """One Markdown table per query, and Keylink's ratios to the batched Hive Gateway."""
    print(f"\n## Keylink vs Hive Gateway ({latency_ms} ms upstream latency, cache off)")
    print(
        "\nRatios are Keylink / batched Hive: above 1 is better for req/s, below 1 for p50 and CPU."
    )
    for query, rows in results.items():
        print(f"\n### {query} and their orders\n")
        print(
            "| gateway | p50 ms @1 | req/s @1 | req/s @32 | CPU ms/req @1 | CPU ms/req @32 "
            "| upstream calls/query |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in rows.items():
            print(
                f"| {name} | {r['p50']:.1f} | {r['rps1']:.1f} | {r['rps32']:.1f} | "
                f"{r['cpu1']:.2f} | {r['cpu32']:.2f} | {r['calls']:.0f} |"
            )
        ours, theirs = rows.get("Keylink"), rows.get(BATCHED.label)
        if ours and theirs:
            print(
                "| ratio Keylink / Hive (batched) | "
                + " | ".join(
                    f"{ours[k] / theirs[k]:.2f}" if theirs[k] else "n/a"
                    for k in ("p50", "rps1", "rps32", "cpu1", "cpu32", "calls")
                )
                + " |"
            )


if __name__ == "__main__":
    raise SystemExit(main())
