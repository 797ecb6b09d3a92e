"""The runner (start/stop one upstream on the same port, async use) and the demo link list."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from demo.data import DemoDataset
from demo.links import demo_links, unlinked, unlinked_keys
from demo.runner import DemoUpstreams


def test_urls_are_loopback_and_distinct(upstreams: DemoUpstreams) -> None:
    urls = upstreams.urls
    assert set(urls) == {"erp", "crm", "timesheet"}
    assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
    assert len(set(urls.values())) == 3
    for name, url in urls.items():
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok", "system": name}


def test_stop_and_restart_one_upstream_on_same_port(clean: DemoUpstreams) -> None:
    url = clean.urls["timesheet"]
    clean.knobs["timesheet"].latency_ms = 5
    clean.stop("timesheet")
    assert not clean.is_running("timesheet")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/clients", timeout=1)
    assert httpx.get(f"{clean.urls['erp']}/customers/10001").status_code == 200
    clean.start("timesheet")
    assert clean.urls["timesheet"] == url
    response = httpx.get(f"{url}/clients", params={"ids": "ACME"})
    assert response.json()["items"][0]["code"] == "ACME"
    assert clean.knobs["timesheet"].latency_ms == 5  # knobs survive a restart


def test_stop_while_a_request_is_stalled(clean: DemoUpstreams) -> None:
    clean.knobs["crm"].fault = "timeout"
    with pytest.raises(httpx.ReadTimeout):  # a client that gives up ends the stall
        httpx.get(f"{clean.urls['crm']}/accounts", timeout=0.2)
    outcome: list[BaseException] = []

    def patient_client() -> None:
        try:
            httpx.get(f"{clean.urls['crm']}/accounts", timeout=30)
        except httpx.TransportError as exc:
            outcome.append(exc)

    waiting = threading.Thread(target=patient_client)
    waiting.start()
    time.sleep(0.2)
    start = time.perf_counter()
    clean.stop("crm")  # drops the held connection instead of waiting on it
    assert time.perf_counter() - start < 1
    waiting.join(timeout=5)
    assert len(outcome) == 1
    clean.knobs["crm"].reset()
    clean.start("crm")
    assert httpx.get(f"{clean.urls['crm']}/accounts").status_code == 200


async def test_async_context_manager(dataset: DemoDataset) -> None:
    async with DemoUpstreams(dataset=dataset) as ups:
        async with httpx.AsyncClient() as client:
            answers = await asyncio.gather(
                *(client.get(f"{url}/healthz") for url in ups.urls.values())
            )
        assert [a.status_code for a in answers] == [200, 200, 200]
        port = ups.ports["erp"]
    with pytest.raises(OSError):  # stopped: nothing listens any more
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)


def test_cli_prints_urls_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "demo.runner", "--today", "2025-11-28"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(4)]
            assert lines[0].startswith("erp") and "http://127.0.0.1:" in lines[0]
            assert lines[3].startswith("Serving")
            url = lines[2].split()[1]
            assert httpx.get(f"{url}/healthz").json()["system"] == "timesheet"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_links_cover_all_but_the_unlinked(dataset: DemoDataset) -> None:
    links = demo_links(dataset)
    kinds = {link.kind for link in links}
    assert kinds == {"customer", "supplier", "project"}
    acme = next(link for link in links if link.keys.get("erp") == ["10023"])
    assert acme.keys == {"erp": ["10023"], "crm": ["A-1043"], "timesheet": ["ACME"]}
    linked_keys = {(s, k) for link in links for s, keys in link.keys.items() for k in keys}
    missing = unlinked_keys(dataset)
    assert len(unlinked(dataset)) == 3
    assert not linked_keys & set(missing)
    existing: dict[str, set[str]] = {
        "erp": set(dataset.customers) | set(dataset.projects),
        "crm": set(dataset.accounts),
        "timesheet": set(dataset.clients) | set(dataset.ts_projects),
    }
    for system, key in missing:  # they do exist upstream
        assert key in existing[system]
    suppliers = [link for link in links if link.kind == "supplier"]
    assert len(suppliers) == len(dataset.suppliers)
    assert all(set(link.keys) == {"erp"} for link in suppliers)
    projects = [link for link in links if link.kind == "project"]
    assert sum(set(p.keys) == {"erp", "timesheet"} for p in projects) >= 150
    customers = [link for link in links if link.kind == "customer"]
    assert sum("crm" not in c.keys for c in customers) == 5
    assert sum("erp" not in c.keys for c in customers) == 5
    assert sum("timesheet" not in c.keys and "erp" in c.keys for c in customers) == 5
