"""/metrics: Prometheus text from prometheus-client, summed over worker processes, for
the roles allowed; the series Keylink always had keep their names."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from demo.queries import CUSTOMER
from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems
from tests.scaleout.test_two_processes import free_port
from tests.support.gateways import fully_linked_crm_key
from tests.telemetry.support import upstream_log

UPSTREAM_COUNT = "keylink_upstream_duration_seconds_count"
KEYLINK_SERVE = (sys.executable, "-m", "gateway.cli.main", "serve")


def upstream_counts(text: str) -> Counter[str]:
    """Per system, the upstream calls the histogram counted (over every operation)."""
    found: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == UPSTREAM_COUNT:
                found[sample.labels["system"]] += int(sample.value)
    return found


def per_worker_counts(directory: Path, scratch: Path) -> dict[str, Counter[str]]:
    """Each worker's own upstream counts, read from its files alone."""
    found: dict[str, Counter[str]] = {}
    pids = {p.stem.rsplit("_", 1)[-1] for p in directory.glob("histogram_*.db")}
    for pid in pids:
        alone = scratch / pid
        alone.mkdir(exist_ok=True)
        for file in directory.glob(f"*_{pid}.db"):
            shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        counts: Counter[str] = Counter()
        for family in registry.collect():
            for sample in family.samples:
                if sample.name == UPSTREAM_COUNT:
                    counts[sample.labels["system"]] += int(sample.value)
        found[pid] = counts
    return found


@contextlib.contextmanager
def serve(config: Path, workers: int, metrics_dir: Path, log: Path) -> Iterator[str]:
    """``keylink serve -c config --workers N``; its base URL until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLINK_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*KEYLINK_SERVE, "-c", str(config), "--port", str(port), "--workers", str(workers)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-2000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def config(live_upstreams: DemoUpstreams, demo_linkmap_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "keylink.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
                "cache": {"url": "none"},
                "rate_limit": {"enabled": False},
                "systems": demo_systems(live_upstreams.urls),
            }
        )
    )
    return path


def test_metrics_of_two_workers_are_summed(
    config: Path,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
    tmp_path: Path,
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over")  # an earlier run's: removed
    with serve(config, 2, metrics_dir, tmp_path / "serve.log") as url:
        upstream_log(upstream_stats)
        workers: dict[str, Counter[str]] = {}
        for _ in range(20):  # new connections until both workers served some
            for i in range(8):
                variables = {"system": "crm", "key": fully_linked_crm_key(live_upstreams, i)}
                with httpx.Client(base_url=url, timeout=30) as client:  # a new connection
                    answer = client.post(
                        "/graphql", json={"query": CUSTOMER, "variables": variables}
                    )
                assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            workers = per_worker_counts(metrics_dir, tmp_path)
            if len([c for c in workers.values() if sum(c.values())]) >= 2:
                break
        else:
            pytest.fail(f"one worker served everything in 20 rounds: {workers}")
        logged = {s: sum(paths.values()) for s, paths in upstream_log(upstream_stats).items()}
        scraped = httpx.get(f"{url}/metrics", timeout=10)
    assert scraped.status_code == 200, scraped.text
    totals = upstream_counts(scraped.text)
    assert totals == Counter(logged)  # every upstream request, whichever worker sent it
    assert totals == sum(workers.values(), Counter())
    assert all(sum(c.values()) < sum(totals.values()) for c in workers.values())
    assert not (metrics_dir / "counter_1.db").exists()


def test_metrics_need_an_allowed_role_and_keep_their_series(
    gateway: httpx.Client, gateway_url: str, live_upstreams: DemoUpstreams
) -> None:
    variables = {"system": "crm", "key": fully_linked_crm_key(live_upstreams, 2)}
    answer = httpx.post(
        f"{gateway_url}/graphql", json={"query": CUSTOMER, "variables": variables}, timeout=30
    )
    assert answer.status_code == 200
    refused = httpx.get(
        f"{gateway_url}/metrics", headers={"x-keylink-roles": "analyst"}, timeout=10
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    text = httpx.get(f"{gateway_url}/metrics", headers={"x-keylink-roles": "admin"}).text
    for system in ("erp", "crm", "timesheet"):
        assert f'keylink_circuit_open{{system="{system}"}} 0' in text.splitlines()
        assert f'keylink_upstream_calls_total{{system="{system}"}}' in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["keylink_request_duration_seconds"].type == "histogram"
    operations = {
        s.labels.get("operation") for s in families["keylink_request_duration_seconds"].samples
    }
    assert "Customer" in operations
    assert {s.labels["kind"] for s in families["keylink_linkmap_entities"].samples} >= {"customer"}
    assert families["keylink_idempotency_in_progress"].samples[0].value == 0
    lookups = families["keylink_cache_lookups"].samples
    assert any(s.labels["result"] == "miss" and s.value > 0 for s in lookups)
