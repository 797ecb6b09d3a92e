"""The request id (response header, GraphQL error extensions, JSON log lines) and
/readyz naming each system's last known state."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import httpx

from demo.runner import DemoUpstreams
from gateway.telemetry.logging import JsonFormatter, log_config
from gateway.telemetry.request_id import request_id_of
from gateway.telemetry.settings import TelemetrySettings
from gateway.telemetry.state import AppTelemetry, RequestState, enter, leave
from tests.support.gateways import demo_gateway

BROKEN = '{ customer(system: "crm", key: "x") { nosuchfield } }'


def test_a_sane_request_id_is_kept_and_returned_with_every_error(gateway_url: str) -> None:
    given = "crm-7f3a.42:retry-1"
    answer = httpx.post(
        f"{gateway_url}/graphql", json={"query": BROKEN}, headers={"X-Request-Id": given}
    )
    assert answer.headers["x-request-id"] == given
    errors = answer.json()["errors"]
    assert errors and all(e["extensions"]["requestId"] == given for e in errors)


def test_an_odd_request_id_is_replaced_and_refusals_carry_one_too(gateway_url: str) -> None:
    odd = "x" * 65
    answer = httpx.post(
        f"{gateway_url}/graphql",
        content=b"{",
        headers={"X-Request-Id": odd, "content-type": "application/json"},
    )
    assert answer.status_code == 400
    made = answer.headers["x-request-id"]
    assert made != odd and len(made) == 32 and int(made, 16) >= 0
    plain = httpx.get(f"{gateway_url}/healthz")
    assert plain.headers["x-request-id"] != made
    assert request_id_of(b"a b") != "a b" and request_id_of(b"ok-1") == "ok-1"


def test_log_lines_are_json_with_the_request_id_and_capped() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(max_message_chars=200))
    logger = logging.getLogger("keylink.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = enter(RequestState("req-1", AppTelemetry(TelemetrySettings())))
    try:
        logger.warning("input %s", "y" * 1000, extra={"system": "erp"})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    finally:
        leave(token)
        logger.removeHandler(handler)
    logger.warning("outside")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "req-1" and first["level"] == "WARNING"
    assert first["system"] == "erp" and first["logger"] == "keylink.test.json"
    assert first["message"].endswith("(806 more characters cut)")
    assert len(first["message"]) < 260
    assert second["error"]["type"] == "ValueError" and "boom" in second["error"]["traceback"]
    config = log_config("INFO", 500)
    assert config["formatters"]["json"]["max_message_chars"] == 500
    logging.config.dictConfig({**config, "root": {"handlers": [], "level": "WARNING"}})


def ready(url: str, verbose: bool = True) -> dict[str, Any]:
    answer = httpx.get(f"{url}/readyz", params={"verbose": "true"} if verbose else {}, timeout=10)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_readyz_names_each_systems_last_known_state(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    query = '{ customer(system: "crm", key: "A-1020") { account { name } erp { name } } }'
    extra = {"resilience": {"failure_threshold": 1, "open_seconds": 60, "max_open_seconds": 60}}
    with demo_gateway(live_upstreams, demo_linkmap_url, extra=extra) as url:
        assert ready(url, verbose=False) == {"status": "ok", "linkmap": "up"}
        before = ready(url)
        assert before["status"] == "ok"
        assert {s["state"] for s in before["systems"].values()} == {"unknown"}
        httpx.post(f"{url}/graphql", json={"query": query}, timeout=30)
        up = ready(url)
        assert up["systems"]["crm"]["state"] == "up" and up["systems"]["erp"]["state"] == "up"
        live_upstreams.knobs["erp"].update(fault="500")
        try:
            httpx.post(f"{url}/graphql", json={"query": query}, timeout=30)
            time.sleep(0.05)
            down = ready(url, verbose=False)  # a degraded system shows without asking
        finally:
            live_upstreams.knobs["erp"].reset()
    assert down["status"] == "degraded"
    assert down["systems"]["erp"]["state"] == "down"
    assert down["systems"]["erp"]["circuit"] == "open"
    assert down["systems"]["erp"]["lastError"] == "SourceUnavailable"
    assert down["degraded"] == {"system erp": "its fields answer null with SOURCE_UNAVAILABLE"}
    assert down["systems"]["crm"]["state"] == "up"
