"""Latency and fault injection and request statistics, observed by real httpx clients."""

from __future__ import annotations

import time

import httpx
import pytest

from demo.knobs import FAKE_HOST, Knobs
from demo.runner import DemoUpstreams


def test_latency_from_python_and_http(clean: DemoUpstreams, erp: httpx.Client) -> None:
    erp.get("/healthz")  # warm the connection
    clean.knobs["erp"].latency_ms = 150
    start = time.perf_counter()
    assert erp.get("/customers", params={"ids": "10001"}).status_code == 200
    assert time.perf_counter() - start >= 0.15
    start = time.perf_counter()
    assert erp.get("/_stats").status_code == 200  # underscore paths are never delayed
    assert time.perf_counter() - start < 0.1

    assert erp.put("/_knobs", json={"latency_ms": 80}).json()["latency_ms"] == 80
    start = time.perf_counter()
    erp.get("/customers/10001")
    assert 0.08 <= time.perf_counter() - start < 1.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_leak_traceback_and_host(erp: httpx.Client, status: int) -> None:
    erp.put("/_knobs", json={"fault": str(status)})
    response = erp.get("/invoices")
    assert response.status_code == status
    assert "Traceback (most recent call last)" in response.text
    assert FAKE_HOST in response.text
    want = {500: "internal_error", 503: "service_unavailable"}[status]
    assert response.json()["error"] == want


def test_404_fault(erp: httpx.Client) -> None:
    erp.put("/_knobs", json={"fault": "404"})
    response = erp.get("/customers", params={"ids": "10001"})
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_bad_json_fault(erp: httpx.Client) -> None:
    erp.put("/_knobs", json={"fault": "bad_json"})
    response = erp.get("/customers", params={"per_page": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text.startswith('{"items":[')
    with pytest.raises(ValueError):
        response.json()


def test_reset_fault_drops_the_connection(clean: DemoUpstreams, erp: httpx.Client) -> None:
    clean.knobs["erp"].fault = "reset"
    with pytest.raises(httpx.TransportError):
        erp.get("/customers")
    clean.knobs["erp"].reset()
    assert erp.get("/customers").status_code == 200  # the server itself is fine


def test_timeout_fault(clean: DemoUpstreams, erp: httpx.Client) -> None:
    clean.knobs["erp"].fault = "timeout"
    start = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        erp.get("/customers", timeout=0.3)
    assert time.perf_counter() - start < 2
    clean.knobs["erp"].timeout_seconds = 0.3  # a short stall still answers afterwards
    try:
        start = time.perf_counter()
        assert erp.get("/customers").status_code == 200
        assert time.perf_counter() - start >= 0.3
    finally:
        clean.knobs["erp"].timeout_seconds = 60.0


def test_fault_only_on_listed_paths(erp: httpx.Client) -> None:
    erp.put("/_knobs", json={"fault": "503", "paths": ["/invoices"]})
    assert erp.get("/invoices").status_code == 503
    assert erp.get("/customers").status_code == 200
    assert erp.get("/healthz").status_code == 200
    erp.put("/_knobs", json={"fault": "503", "paths": ["/customers"]})
    assert erp.get("/customers/10001").status_code == 503  # prefix match


def test_fault_rate_is_deterministic(clean: DemoUpstreams, erp: httpx.Client) -> None:
    def pattern() -> list[int]:
        clean.knobs["erp"].reset()
        clean.knobs["erp"].update(fault="500", fault_rate=0.5)
        return [erp.get("/suppliers").status_code for _ in range(30)]

    first = pattern()
    assert 5 < first.count(500) < 25
    assert pattern() == first


def test_knobs_validation_and_reset(erp: httpx.Client) -> None:
    for bad in ({"fault": "teapot"}, {"fault_rate": 1.5}, {"latency_ms": -1}, {"oops": 1}):
        response = erp.put("/_knobs", json=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"] == "bad_request"
    assert erp.patch("/_knobs", json={"fault": "teapot"}).status_code == 400
    assert erp.patch("/_knobs", json={"fault": "500"}).json()["fault"] == "500"
    assert erp.patch("/_knobs", json={"latency_ms": 1}).json() == {
        "latency_ms": 1,
        "fault": "500",
        "fault_rate": 1.0,
        "paths": None,
        "retry_after": None,
    }
    assert erp.put("/_knobs", json={}).json()["fault"] is None  # PUT replaces everything
    assert erp.post("/_knobs/reset").json() == erp.get("/_knobs").json()


def test_stats_count_per_path(clean: DemoUpstreams, ts: httpx.Client) -> None:
    assert ts.get("/_stats").json() == {"requests": {}, "total": 0}
    for _ in range(3):
        ts.get("/entries", params={"client": "ACME"})
    ts.get("/clients")
    ts.get("/_knobs")
    ts.get("/healthz", headers={"x-demo-probe": "1"})  # the runner's probe is not counted
    assert ts.get("/_stats").json() == {"requests": {"/clients": 1, "/entries": 3}, "total": 4}
    assert clean.knobs["timesheet"].count("/entries") == 3
    ts.post("/_stats/reset")
    assert ts.get("/_stats").json()["total"] == 0


def test_faulted_requests_are_counted(erp: httpx.Client) -> None:
    erp.put("/_knobs", json={"fault": "500"})
    erp.get("/orders")
    assert erp.get("/_stats").json()["requests"] == {"/orders": 1}


def test_knobs_object_api() -> None:
    knobs = Knobs(seed=3)
    knobs.update(fault="503", paths=["/a"])
    assert knobs.draw_fault("/a/b") == "503" and knobs.draw_fault("/b") is None
    knobs.fault_rate = 0.0
    assert knobs.draw_fault("/a") is None
    with pytest.raises(ValueError):
        knobs.fault = "nope"  # type: ignore[assignment]
    knobs.record("/x")
    knobs.reset()
    assert knobs.settings.fault is None and knobs.stats().total == 0
