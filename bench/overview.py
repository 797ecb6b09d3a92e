"""Keylink overview benchmark: latency, throughput, CPU and upstream requests per query.

    .venv/bin/python bench/overview.py [--quick] [--transports aiohttp,httpx] [--no-pin]
                                       [--loadgen auto|wrk|aiohttp]

Starts the three demo upstreams (``python -m demo.runner``) and the gateway
(``keylink serve``) as separate processes on free loopback ports, puts a fixed latency of
50 ms on every upstream, and measures two queries (one customer's financial overview; a
50-customer ``customersByKey`` list) cold (cache off) and warm (memory cache, primed), beside
a naive baseline that reads the upstreams directly, one customer after another
(bench/naive.py). Prints figures only: nothing here passes or fails. The machine is
small and noisy, so compare ratios within one run, never figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import math
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]  # run as a script from anywhere

from naive import differences, naive_overview  # noqa: E402

from demo.data import generate  # noqa: E402
from demo.links import demo_links  # noqa: E402
from demo.queries import CUSTOMER, CUSTOMERS_BY_KEY  # noqa: E402
from gateway.demo_mode import SPEC_DIR, seed_demo_links  # noqa: E402
from gateway.settings import Settings  # noqa: E402

HOST = "127.0.0.1"
SYSTEMS = ("erp", "crm", "timesheet")
LATENCY_MS = 50
SEED = 42
LIST_SIZE = 50
DISTINCT_LISTS = 64  # 50-customer windows for the distinct-keys runs
CLK_TCK = os.sysconf("SC_CLK_TCK")
JSON_HEADERS = {"content-type": "application/json"}
PROBE = {"x-demo-probe": "1"}  # readiness probes the upstreams do not count


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _child_setup(cpus: set[int] | None) -> Callable[[], None]:
    """preexec_fn: pin the child to ``cpus`` and have it die with the bench (PDEATHSIG)."""

    def setup() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return setup


class Processes:
    """Every child process the bench starts; ``stop_all`` ends them (also on errors)."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, cmd: list[str], log: Path, cpus: set[int] | None, env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the bench only; it stops them itself
                preexec_fn=_child_setup(cpus),
            )
        self.running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.running = [(n, p) for n, p in self.running if p is not proc]

    def stop_all(self) -> None:
        for _, proc in reversed(list(self.running)):
            with contextlib.suppress(Exception):
                self.stop(proc)


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` and its descendants, from /proc (seconds)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    pids.extend(int(c) for c in (task / "children").read_text().split())
    return total / CLK_TCK


def own_cpu() -> float:
    """CPU seconds of this process plus its waited-for children (wrk)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def drain(pid: int, timeout: float = 120.0) -> None:
    """Wait until process ``pid`` stops using CPU (less than 2 ticks in 0.3 s)."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = cpu_seconds(pid)
        if now - last < 2 / CLK_TCK:
            return
        last = now


def wait_until(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    """Poll ``url`` until it answers 200; fail early when ``proc`` has exited."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StartError(f"{shlex.join(map(str, proc.args))} exited", log)  # type: ignore[arg-type]
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url, headers=PROBE).status_code == 200:
                    return
            time.sleep(0.1)
    raise StartError(f"no answer from {url} within {timeout:.0f} s", log)


class StartError(RuntimeError):
    """A child process did not come up; carries the tail of its log."""

    def __init__(self, message: str, log: Path) -> None:
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        super().__init__(f"{message}\n--- {log} (tail) ---\n{tail}")
        self.tail = tail


# --------------------------------------------------------------------------- load


@dataclass
class Load:
    """Outcome of one load run."""

    tool: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    ok: int = 0
    failed: int = 0
    elapsed: float = 0.0
    first_error: str | None = None
    gateway_cpu: float = 0.0
    upstream_cpu: float = 0.0
    bench_cpu: float = 0.0
    upstream_requests: int = 0

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def rate(self) -> float:
        """Successful answers per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """Gateway CPU per request served (failed answers included)."""
        return 1000 * self.gateway_cpu / self.done if self.done else math.nan


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def graphql_failure(status: int, body: bytes) -> str | None:
    """Why a gateway answer is not a clean success, or None."""
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    if b'"errors"' in body:
        start = body.find(b'"errors"')
        return f"GraphQL errors: {body[start : start + 400]!r}"
    return None


async def aiohttp_load(
    url: str,
    bodies: list[bytes],
    concurrency: int,
    *,
    duration: float | None = None,
    count: int | None = None,
) -> Load:
    """``concurrency`` keep-alive clients POSTing ``bodies`` (round robin) for ``duration`` s
    or ``count`` requests.

    No new request starts after the deadline; the run ends when the last one is answered.
    """
    result = Load("aiohttp", concurrency)
    headers = JSON_HEADERS
    remaining = [count if count is not None else -1]
    sent = [0]
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        deadline = start + duration if duration is not None else math.inf

        async def worker() -> None:
            while time.perf_counter() < deadline:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
                body = bodies[sent[0] % len(bodies)]
                sent[0] += 1
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        data = await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    problem: str | None = f"{type(exc).__name__}: {exc}"
                else:
                    problem = graphql_failure(status, data)
                if problem is None:
                    result.ok += 1
                    result.latencies.append(time.perf_counter() - t0)
                else:
                    result.failed += 1
                    result.first_error = result.first_error or problem

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.elapsed = time.perf_counter() - start
    return result


WRK_LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = { BODIES }
local sent = 0
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[(sent % #bodies) + 1])
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) errs = 0; non200 = 0 end
function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1
  elseif string.find(body, '"errors"', 1, true) then errs = errs + 1 end
end
function done(summary, latency, requests)
  local e, n = 0, 0
  for _, t in ipairs(threads) do e = e + t:get("errs"); n = n + t:get("non200") end
  io.write(string.format("KEYLINK_BENCH errors=%d non200=%d requests=%d duration_us=%d\\n",
    e, n, summary.requests, summary.duration))
end
"""


def wrk_load(
    wrk: str, url: str, bodies: list[bytes], concurrency: int, duration: float, tmp: Path
) -> Load:
    """One wrk run (one thread, ``concurrency`` connections, ``bodies`` round robin);
    counts GraphQL errors too."""
    script = tmp / "keylink-post.lua"
    lua_bodies = ",\n".join(f"[==[{body.decode()}]==]" for body in bodies)
    script.write_text(WRK_LUA.replace("BODIES", lua_bodies))
    cmd = [wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "60s"]
    out = subprocess.run(
        [*cmd, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    result = Load("wrk", concurrency)
    line = next(x for x in out.splitlines() if x.startswith("KEYLINK_BENCH"))
    values = dict(part.split("=") for part in line.split()[1:])
    bad = int(values["errors"]) + int(values["non200"])
    socket_errors = next((x.strip() for x in out.splitlines() if "Socket errors" in x), None)
    result.failed = bad
    result.ok = int(values["requests"]) - bad
    result.elapsed = int(values["duration_us"]) / 1e6
    if bad or socket_errors:
        result.first_error = f"wrk: {bad} failed answers; {socket_errors or 'no socket errors'}"
    return result


# --------------------------------------------------------------------------- the run


@dataclass
class Query:
    name: str
    label: str
    bodies: list[bytes]  # the one fixed request
    upstream_probes: list[tuple[str, str, dict[str, str]]]  # (system, path, params)
    distinct: list[bytes]  # the same query over other customers, sent round robin


@dataclass
class Figures:
    """What one (scenario, query) measured."""

    scenario: str
    query: Query
    latency: Load
    at1: Load
    at32: Load
    at32_distinct: Load | None
    upstream_per_query: float
    slowest_upstream_ms: float


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick: bool = args.quick
        self.n_latency = 15 if self.quick else 50
        self.duration = 3.0 if self.quick else 10.0
        self.n_count = 3 if self.quick else 5
        self.n_upstream = 5 if self.quick else 15
        self.naive_reps = 1
        self.procs = Processes()
        self.tmp = Path(tempfile.mkdtemp(prefix="keylink-bench-"))
        self.wrk = shutil.which("wrk") if args.loadgen != "aiohttp" else None
        if args.loadgen == "wrk" and self.wrk is None:
            raise SystemExit("--loadgen wrk: wrk is not on PATH")
        self.today = date.today()
        self.notes: list[str] = []
        self.gateway_cpus: set[int] | None = None
        self.load_cpus: set[int] | None = None
        self.upstream_pid = 0
        self.upstream_urls: dict[str, str] = {}

    # -- set-up
    def pin(self) -> str:
        if self.args.no_pin:
            return "none (--no-pin)"
        if not hasattr(os, "sched_setaffinity"):
            return "none (os.sched_setaffinity is not available)"
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return f"none (only CPU {cpus} available)"
        self.gateway_cpus, self.load_cpus = {cpus[0]}, {cpus[1]}
        os.sched_setaffinity(0, self.load_cpus)
        return (
            f"gateway on CPU {cpus[0]}; upstreams and load generator "
            f"(this process{', wrk' if self.wrk else ''}) on CPU {cpus[1]}"
        )

    def child_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLINK_")}
        env.update(extra)
        return env

    def start_upstreams(self) -> None:
        ports = {name: free_port() for name in SYSTEMS}
        cmd = [sys.executable, "-m", "demo.runner", "--seed", str(SEED)]
        cmd += ["--today", self.today.isoformat()]
        for name, port in ports.items():
            cmd += [f"--{name}-port", str(port)]
        log = self.tmp / "upstreams.log"
        proc = self.procs.start("upstreams", cmd, log, self.load_cpus, self.child_env())
        self.upstream_pid = proc.pid
        self.upstream_urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
        for url in self.upstream_urls.values():
            wait_until(f"{url}/healthz", proc, log)
        with httpx.Client(timeout=5) as client:
            for url in self.upstream_urls.values():
                client.put(f"{url}/_knobs", json={"latency_ms": LATENCY_MS}).raise_for_status()

    def reset_stats(self) -> None:
        with httpx.Client(timeout=5) as client:
            for url in self.upstream_urls.values():
                client.post(f"{url}/_stats/reset").raise_for_status()

    def stats_total(self) -> int:
        with httpx.Client(timeout=5) as client:
            return sum(
                int(client.get(f"{url}/_stats").json()["total"])
                for url in self.upstream_urls.values()
            )

    def seed_links(self) -> tuple[str, list[dict[str, str]]]:
        dataset = generate(seed=SEED, today=self.today)
        url = f"sqlite+aiosqlite:///{self.tmp / 'links.db'}"
        count = asyncio.run(seed_demo_links(url, dataset))
        print(f"Link map: {count} linked entities in {self.tmp / 'links.db'}")
        customers = [
            {system: keys[0] for system, keys in link.keys.items()}
            for link in demo_links(dataset)
            if link.kind == "customer" and set(SYSTEMS) <= set(link.keys)
        ]
        return url, customers

    def start_gateway(
        self, linkmap_url: str, cache: dict[str, Any], transport: str | None
    ) -> tuple[subprocess.Popen[bytes], str, str | None]:
        """The gateway process, its URL, and the transport it really got (None: default)."""
        config: dict[str, Any] = {
            "linkmap": {"url": linkmap_url, "migrate_on_start": False},
            "cache": cache,
            "systems": {
                name: {
                    "kind": name,
                    "adapter": "rest",
                    "url": self.upstream_urls[name],
                    "spec": str(SPEC_DIR / f"{name}.yaml"),
                }
                for name in SYSTEMS
            },
        }
        if "rate_limit" in Settings.model_fields:
            # the bench measures the gateway's work, not its per-principal request quota
            config["rate_limit"] = {"enabled": False}
        path = self.tmp / f"keylink-{len(self.procs.running)}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        keylink = Path(sys.executable).with_name("keylink")
        port = free_port()
        cmd = [str(keylink), "serve", "-c", str(path), "--host", HOST, "--port", str(port)]
        log = path.with_suffix(".log")
        extra = {"KEYLINK_UPSTREAM_TRANSPORT": transport} if transport else {}
        proc = self.procs.start("gateway", cmd, log, self.gateway_cpus, self.child_env(**extra))
        url = f"http://{HOST}:{port}"
        try:
            wait_until(f"{url}/readyz", proc, log)
        except StartError as exc:
            self.procs.stop(proc)
            if transport and "upstream_transport" in exc.tail.lower():
                self.notes.append(
                    f"the gateway refused KEYLINK_UPSTREAM_TRANSPORT={transport}; "
                    "ran with its default transport instead"
                )
                return self.start_gateway(linkmap_url, cache, None)
            raise
        return proc, url, transport

    # -- measurements
    def time_upstream(self, query: Query) -> tuple[float, str]:
        """p50 (ms) of the slowest of the requests the query needs, timed sequentially."""
        slowest, name = 0.0, ""
        clients = {n: httpx.Client(base_url=u, timeout=30) for n, u in self.upstream_urls.items()}
        try:
            for system, path, params in query.upstream_probes:
                client = clients[system]
                client.get(path, params=params).raise_for_status()  # connection warm
                times = []
                for _ in range(self.n_upstream):
                    t0 = time.perf_counter()
                    client.get(path, params=params).raise_for_status()
                    times.append(time.perf_counter() - t0)
                p50 = 1000 * percentile(times, 50)
                if p50 > slowest:
                    slowest, name = p50, f"{system} {path} ({', '.join(sorted(params))})"
        finally:
            for client in clients.values():
                client.close()
        return slowest, name

    def load(
        self,
        gateway: subprocess.Popen[bytes],
        url: str,
        bodies: list[bytes],
        concurrency: int,
        *,
        duration: float | None = None,
        count: int | None = None,
    ) -> Load:
        """One measured load run with gateway/upstream/bench CPU and upstream requests.

        Fixed-duration runs use wrk when it is installed; counted runs always use aiohttp.
        """
        self.reset_stats()
        before = (cpu_seconds(gateway.pid), cpu_seconds(self.upstream_pid), own_cpu())
        if self.wrk is not None and duration is not None:
            result = wrk_load(self.wrk, url, bodies, concurrency, duration, self.tmp)
            window_cpu = (cpu_seconds(gateway.pid), cpu_seconds(self.upstream_pid), own_cpu())
            # wrk drops the requests still in flight at the deadline; the gateway finishes
            # them anyway: wait for it to go idle so they do not leak into the next run.
            drain(gateway.pid)
            if result.done < 3 * concurrency:
                self.notes.append(
                    f"wrk completed only {result.done} requests at concurrency {concurrency} "
                    f"in {duration:.0f} s: its req/s and CPU ms/req for that run are "
                    "unreliable (rerun with --loadgen aiohttp, which waits for the last answers)"
                )
            result.gateway_cpu = window_cpu[0] - before[0]
            result.upstream_cpu = window_cpu[1] - before[1]
            result.bench_cpu = window_cpu[2] - before[2]
            result.upstream_requests = self.stats_total()
            return result
        result = asyncio.run(aiohttp_load(url, bodies, concurrency, duration=duration, count=count))
        result.gateway_cpu = cpu_seconds(gateway.pid) - before[0]
        result.upstream_cpu = cpu_seconds(self.upstream_pid) - before[1]
        result.bench_cpu = own_cpu() - before[2]
        result.upstream_requests = self.stats_total()
        return result

    def measure(
        self,
        scenario: str,
        gateway: subprocess.Popen[bytes],
        url: str,
        query: Query,
        slowest: float,
        *,
        cold: bool,
    ) -> Figures:
        graphql = f"{url}/graphql"
        fixed = query.bodies
        counted = self.load(gateway, graphql, fixed, 1, count=self.n_count)
        per_query = counted.upstream_requests / counted.done if counted.done else math.nan
        latency = self.load(gateway, graphql, fixed, 1, count=self.n_latency)
        at1 = self.load(gateway, graphql, fixed, 1, duration=self.duration)
        asyncio.run(aiohttp_load(graphql, fixed, 32, duration=1.0))  # warm-up, not measured
        at32 = self.load(gateway, graphql, fixed, 32, duration=self.duration)
        distinct = None
        if cold:  # concurrent identical reads share one upstream call (single-flight)
            distinct = self.load(gateway, graphql, query.distinct, 32, duration=self.duration)
        for run in (counted, latency, at1, at32, distinct):
            if run is None:
                continue
            if run.failed:
                self.notes.append(
                    f"{scenario} / {query.name}: {run.failed} of {run.done} answers failed "
                    f"(concurrency {run.concurrency}); first: {run.first_error}"
                )
        return Figures(scenario, query, latency, at1, at32, distinct, per_query, slowest)


def queries(customers: list[dict[str, str]], today: date) -> list[Query]:
    one = customers[0]
    many = customers[:LIST_SIZE]
    page = {"per_page": "500"}

    def batch(system: str, keys: list[dict[str, str]]) -> str:
        return ",".join(c[system] for c in keys)

    def probes(keys: list[dict[str, str]]) -> list[tuple[str, str, dict[str, str]]]:
        erp, crm, ts = batch("erp", keys), batch("crm", keys), batch("timesheet", keys)
        return [
            ("erp", "/customers", {"ids": erp, **page}),
            ("erp", "/invoices", {"customer": erp, "status": "open", **page}),
            (
                "erp",
                "/invoices",
                {
                    "customer": erp,
                    "issued_from": date(today.year - 1, 1, 1).isoformat(),
                    "issued_to": today.isoformat(),
                    **page,
                },
            ),
            (
                "erp",
                "/orders",
                {"customer": erp, "status": "draft,quoted,confirmed,processing", **page},
            ),
            ("crm", "/accounts", {"ids": crm, **page}),
            (
                "timesheet",
                "/entries",
                {
                    "client": ts,
                    "from": today.replace(day=1).isoformat(),
                    "to": today.isoformat(),
                    **page,
                },
            ),
            (
                "timesheet",
                "/entries",
                {"client": ts, "billable": "true", "invoiced": "false", **page},
            ),
        ]

    def single(key: str) -> bytes:
        return orjson.dumps({"query": CUSTOMER, "variables": {"system": "crm", "key": key}})

    def listing(keys: list[dict[str, str]]) -> bytes:
        crm = [c["crm"] for c in keys]
        return orjson.dumps(
            {"query": CUSTOMERS_BY_KEY, "variables": {"system": "crm", "keys": crm}}
        )

    n = len(customers)
    windows = [
        [customers[(i * 37 + j) % n] for j in range(LIST_SIZE)] for i in range(DISTINCT_LISTS)
    ]
    single_probes = [*probes([one]), ("crm", "/contacts", {"account": one["crm"], **page})]
    return [
        Query(
            "single",
            f"one customer (CUSTOMER, crm {one['crm']})",
            [single(one["crm"])],
            single_probes,
            [single(c["crm"]) for c in customers],
        ),
        Query(
            "list",
            f"{LIST_SIZE} customers (CUSTOMERS_BY_KEY)",
            [listing(many)],
            probes(many),
            [listing(w) for w in windows],
        ),
    ]


# --------------------------------------------------------------------------- printing


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return (
        f"{model}; {os.cpu_count()} cores ({usable} usable); "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"{platform.system()} {platform.release()}"
    )


def ms(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{1000 * seconds:.1f}"


def ratio(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def print_scenario(figs: list[Figures]) -> None:
    for f in figs:
        lat, a1, a32 = f.latency, f.at1, f.at32
        p50 = 1000 * percentile(lat.latencies, 50)
        print(f"\n  {f.scenario} / {f.query.label}")
        print(
            f"    latency @1 ({lat.done} sequential): p50 {ms(percentile(lat.latencies, 50))} ms"
            f"  p90 {ms(percentile(lat.latencies, 90))} ms"
            f"  p99 {ms(percentile(lat.latencies, 99))} ms"
            f"  max {ms(max(lat.latencies, default=math.nan))} ms"
        )
        print(
            f"    slowest upstream request p50 {f.slowest_upstream_ms:.1f} ms"
            f"  -> Keylink p50 / slowest upstream = {ratio(p50 / f.slowest_upstream_ms)}"
        )
        print(f"    upstream requests per query (sequential): {f.upstream_per_query:.2f}")
        failed = sum(r.failed for r in (lat, a1, a32, f.at32_distinct) if r is not None)
        if failed:
            first = next(r.first_error for r in (lat, a1, a32, f.at32_distinct) if r and r.failed)
            print(f"    WARNING: {failed} failed answers, figures not valid; first: {first}")
        header = (
            f"    {'load':<9}{'req/s':>9}{'requests':>10}{'failed':>8}"
            f"{'GW CPU ms/req':>15}{'GW CPU %':>10}{'CPU1 %':>8}{'upstream req/q':>16}"
        )
        print(header)
        if f.at32_distinct is not None:
            print(
                "    ('@32 dist': each request asks for other customers, round robin, so "
                "concurrent requests cannot share upstream calls)"
            )
        runs = [("@1", a1), ("@32", a32)]
        if f.at32_distinct is not None:
            runs.append(("@32 dist", f.at32_distinct))
        for name, run in runs:
            cpu1 = 100 * (run.upstream_cpu + run.bench_cpu) / run.elapsed
            upq = run.upstream_requests / run.done if run.done else math.nan
            print(
                f"    {name:<9}{run.rate:>9.1f}{run.done:>10}{run.failed:>8}"
                f"{run.cpu_ms_per_request:>15.2f}{100 * run.gateway_cpu / run.elapsed:>10.0f}"
                f"{cpu1:>8.0f}{upq:>16.2f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, 3 s load runs")
    parser.add_argument(
        "--transports",
        default="aiohttp,httpx",
        help="upstream transports for the cold scenarios, comma-separated "
        "(KEYLINK_UPSTREAM_TRANSPORT; the first is also used warm) [aiohttp,httpx]",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "aiohttp"),
        default="auto",
        help="load generator for the fixed-duration runs (auto: wrk when on PATH) [auto]",
    )
    args = parser.parse_args()
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    bench = Bench(args)

    def on_term(*_: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(
        signal.SIGINT, signal.default_int_handler
    )  # also when started with SIGINT ignored
    try:
        return run(bench, transports)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the processes", file=sys.stderr)
        return 130
    finally:
        bench.procs.stop_all()
        shutil.rmtree(bench.tmp, ignore_errors=True)


def run(bench: Bench, transports: list[str]) -> int:
    started = time.monotonic()
    rerun = shlex.join([os.path.relpath(sys.executable, REPO), "bench/overview.py", *sys.argv[1:]])
    print("Keylink overview benchmark (figures only; compare ratios within one run)")
    print(f"Machine: {machine()}")
    print(f"Pinning: {bench.pin()}")
    if bench.wrk:
        version = subprocess.run([bench.wrk, "-v"], capture_output=True, text=True).stdout
        tool = f"wrk ({version.split()[1] if version else '?'}) for throughput; aiohttp"
        print(f"Load generator: {tool} (in-process asyncio) for sequential latency")
    else:
        print(
            f"Load generator: in-process asyncio + aiohttp {aiohttp.__version__} "
            "(wrk not found on PATH)"
        )
    print(
        f"Upstreams: demo ERP/CRM/timesheet (seed {SEED}, today {bench.today}), "
        f"{LATENCY_MS} ms added latency each"
    )
    rate_limit = "rate_limit disabled" if "rate_limit" in Settings.model_fields else "no rate_limit"
    print(
        f"Gateway: keylink serve -c <temp>/keylink-N.yaml, 1 worker, {rate_limit}, "
        "link map SQLite (seeded by gateway.demo_mode.seed_demo_links)"
    )
    bench.start_upstreams()
    print("  " + "  ".join(f"{n} {u}" for n, u in bench.upstream_urls.items()))
    linkmap_url, customers = bench.seed_links()
    qs = queries(customers, bench.today)

    print("\nDirect upstream timing (sequential, the requests each query needs):")
    slowest: dict[str, float] = {}
    for q in qs:
        slowest[q.name], which = bench.time_upstream(q)
        print(f"  {q.name:<7} slowest: {which} p50 {slowest[q.name]:.1f} ms")

    print(f"\nNaive baseline (bench/naive.py; sequential httpx, {bench.naive_reps} run(s)):")
    naive: dict[str, tuple[float, float, int]] = {}
    naive_rows: list[dict[str, Any]] = []
    for name, subset, reps in (
        ("single", customers[:1], max(3, bench.naive_reps)),
        ("list", customers[:LIST_SIZE], bench.naive_reps),
    ):
        times, requests = [], 0
        bench.reset_stats()
        for _ in range(reps):
            t0 = time.perf_counter()
            result = naive_overview(bench.upstream_urls, subset, bench.today)
            times.append(time.perf_counter() - t0)
            requests = result.requests
            naive_rows = result.rows
        counted = bench.stats_total() / reps
        naive[name] = (percentile(times, 50), counted, requests)
        print(
            f"  {name:<7} {len(subset):>2} customer(s): {ms(percentile(times, 50))} ms, "
            f"{counted:.0f} upstream requests (upstream /_stats; the baseline counted {requests})"
        )

    figures: list[Figures] = []
    scenarios = [("cold", t, {"url": "none"}) for t in transports]
    scenarios.insert(1, ("warm", transports[0], {"url": "memory://", "ttl": 300}))
    for index, (kind, transport, cache) in enumerate(scenarios):
        proc, url, got = bench.start_gateway(linkmap_url, cache, transport)
        scenario = f"{kind}" + (f" ({got})" if got and len(transports) > 1 else "")
        print(f"\n== {scenario}: cache {cache}, transport {got or 'gateway default'} ==")
        try:
            if index == 0:
                check = httpx.post(
                    f"{url}/graphql", content=qs[1].bodies[0], headers=JSON_HEADERS, timeout=60
                )
                check.raise_for_status()
                body = check.json()
                problems = differences(naive_rows, body["data"]["customersByKey"])
                problems += [f"GraphQL error: {e}" for e in body.get("errors", [])]
                if problems:
                    bench.notes.append(
                        f"Keylink and the naive baseline disagree ({len(problems)}): "
                        + "; ".join(problems[:8])
                    )
                    print(f"  WARNING: Keylink and the baseline disagree: {problems[:3]}")
                else:
                    print(f"  check: Keylink's {LIST_SIZE}-customer answer equals the baseline's")
            scenario_figs = []
            for q in qs:
                if kind == "warm":  # one priming request
                    asyncio.run(aiohttp_load(f"{url}/graphql", q.bodies, 1, count=1))
                scenario_figs.append(
                    bench.measure(scenario, proc, url, q, slowest[q.name], cold=kind == "cold")
                )
            print_scenario(scenario_figs)
            figures.extend(scenario_figs)
        finally:
            bench.procs.stop(proc)

    print_summary(bench, figures, naive, slowest)
    for note in bench.notes:
        print(f"NOTE: {note}")
    print(f"\nTotal bench time: {time.monotonic() - started:.0f} s")
    print(f"Rerun: cd {REPO} && {rerun}")
    return 0


def print_summary(
    bench: Bench,
    figures: list[Figures],
    naive: dict[str, tuple[float, float, int]],
    slowest: dict[str, float],
) -> None:
    tool = "wrk" if bench.wrk else "aiohttp"
    print(
        f"\n## Summary (Markdown; {LATENCY_MS} ms upstream latency, "
        f"{'--quick, ' if bench.quick else ''}load: {tool}, "
        f"latency @1 over {bench.n_latency} sequential requests, "
        f"req/s over {bench.duration:.0f} s)\n"
    )
    print(
        "p99 is the nearest-rank 99th percentile (below 100 samples: the maximum). "
        "'distinct keys' rows: 32 connections asking for different customers, so no two "
        "concurrent requests share an upstream call. 'p50 / slowest upstream': Keylink's p50 "
        "over the p50 of the slowest single upstream request the query needs, timed directly. "
        "req/s counts successful answers only.\n"
    )
    print(
        "| scenario | p50 ms | p99 ms | req/s @1 | req/s @32 | CPU ms/req @1 / @32 "
        "| upstream req/query | p50 / slowest upstream |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for f in figures:
        p50 = percentile(f.latency.latencies, 50)
        runs = (f.latency, f.at1, f.at32, f.at32_distinct)
        failed = sum(r.failed for r in runs if r is not None)
        flag = f" (**{failed} failed answers**)" if failed else ""
        print(
            f"| {f.scenario}, {f.query.label.split(' (')[0]}{flag} | {ms(p50)} "
            f"| {ms(percentile(f.latency.latencies, 99))} | {f.at1.rate:.1f} | {f.at32.rate:.1f} "
            f"| {f.at1.cpu_ms_per_request:.1f} / {f.at32.cpu_ms_per_request:.1f} "
            f"| {f.upstream_per_query:.1f} | {ratio(1000 * p50 / f.slowest_upstream_ms)} |"
        )
        d = f.at32_distinct
        if d is not None:
            upq = d.upstream_requests / d.done if d.done else math.nan
            cpu = "–" if math.isnan(d.cpu_ms_per_request) else f"{d.cpu_ms_per_request:.1f}"
            upq_text = "–" if math.isnan(upq) else f"{upq:.1f} @32"
            print(
                f"| {f.scenario}, {f.query.label.split(' (')[0]}, distinct keys | – | – | – "
                f"| {d.rate:.1f} | – / {cpu} | {upq_text} | – |"
            )
    for name, label in (("single", "one customer"), ("list", f"{LIST_SIZE} customers")):
        t, counted, _ = naive[name]
        print(
            f"| naive baseline (direct, sequential), {label} | {ms(t)} | – | – | – | – "
            f"| {counted:.0f} | {1000 * t / slowest[name]:.2f} |"
        )
    print()


if __name__ == "__main__":
    raise SystemExit(main())
