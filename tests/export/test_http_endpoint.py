"""``POST /export`` over real HTTP: the gateway's own endpoint against the demo data, and a
test-owned connection mounted with the same router to show the answer is streamed."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI, Request

from demo.runner import DemoUpstreams
from gateway.auth.principal import Principal
from gateway.export.endpoint import export_router
from tests.export.conftest import OVERVIEW_DOCUMENT
from tests.export.connection_app import ITEMS, build_schema
from tests.export.rows import COLUMNS, check_rows
from tests.support.gateways import demo_gateway
from tests.support.servers import ServerThread


def body(keys: list[str]) -> dict[str, Any]:
    return {"query": OVERVIEW_DOCUMENT, "variables": {"keys": keys}}


async def test_csv_export_of_every_demo_customer(
    gateway: httpx.AsyncClient,
    customer_keys: dict[str, Any],
    expected_rows: dict[str, dict[str, Any]],
) -> None:
    response = await gateway.post("/export?format=csv", json=body(list(customer_keys)))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="CustomerOverview.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == COLUMNS
    check_rows(rows, expected_rows)


async def test_parquet_export_of_every_demo_customer(
    gateway: httpx.AsyncClient,
    customer_keys: dict[str, Any],
    expected_rows: dict[str, dict[str, Any]],
) -> None:
    response = await gateway.post("/export?format=parquet", json=body(list(customer_keys)))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    check_rows(pq.read_table(io.BytesIO(response.content)).to_pylist(), expected_rows)


@pytest.mark.parametrize("roles", ["viewer", "sales", "viewer,sales"])
async def test_only_analysts_and_admins_may_export(
    gateway: httpx.AsyncClient, customer_keys: dict[str, Any], roles: str
) -> None:
    response = await gateway.post(
        "/export", json=body(list(customer_keys)[:2]), headers={"X-Keylink-Roles": roles}
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    allowed = await gateway.post(
        "/export", json=body(list(customer_keys)[:2]), headers={"X-Keylink-Roles": "analyst"}
    )
    assert allowed.status_code == 200 and len(allowed.text.splitlines()) == 3


@pytest.mark.parametrize(
    ("url", "payload", "status", "code"),
    [
        ("/export?format=xlsx", {"query": "{ __typename }"}, 400, "BAD_INPUT"),
        (
            "/export",
            {"query": 'mutation { removeOrderLine(id: "1") { __typename } }'},
            400,
            "BAD_INPUT",
        ),
        ("/export", {"variables": {}}, 400, "BAD_INPUT"),
        (  # refused before planning, as /graphql refuses it before validation
            "/export",
            {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }"},
            400,
            None,
        ),
        ("/export", {"query": '{ customer(system: "nope", key: "1") { id } }'}, 422, "BAD_INPUT"),
    ],
)
async def test_bad_requests_are_refused_before_anything_is_sent(
    gateway: httpx.AsyncClient, url: str, payload: dict[str, Any], status: int, code: str | None
) -> None:
    response = await gateway.post(url, json=payload)
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    if code is not None:
        assert error["extensions"]["code"] == code
    else:  # the alias limit of /graphql holds here too
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
        assert "alias" in error["message"].lower()


def test_an_unauthenticated_export_is_refused(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, customer_keys: dict[str, Any]
) -> None:
    with demo_gateway(live_upstreams, demo_linkmap_url, extra={"auth": {"mode": "enforce"}}) as url:
        response = httpx.post(f"{url}/export", json=body(list(customer_keys)[:2]))
        assert response.status_code == 401


def test_the_rate_limit_counts_export_pages(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, customer_keys: dict[str, Any]
) -> None:
    keys = list(customer_keys)[:2]
    with demo_gateway(
        live_upstreams, demo_linkmap_url, rate_limit={"enabled": True, "per_minute": 2}
    ) as url:
        first = httpx.post(f"{url}/export", json=body(keys), timeout=30)
        second = httpx.post(f"{url}/export", json=body(keys), timeout=30)
        third = httpx.post(f"{url}/export", json=body(keys), timeout=30)
    assert (first.status_code, second.status_code) == (200, 200)
    assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1


class _Runtime:
    """What the export router reads of the gateway's runtime, for a test-owned schema."""

    rate_limiter = None

    def request_context(self, principal: Principal) -> dict[str, str]:
        return {"principal": principal.id}


@pytest.fixture
def gated_items() -> Iterator[tuple[str, threading.Event]]:
    """The export router over a 300-row connection whose pages after the first wait."""
    gate = threading.Event()
    app = FastAPI()
    app.state.runtime = _Runtime()
    app.include_router(export_router(build_schema(300, gate, fail_from=250), 30))

    @app.middleware("http")
    async def analyst(request: Request, call_next: Any) -> Any:
        request.state.principal = Principal("analyst-1", frozenset({"analyst"}))
        return await call_next(request)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    server = ServerThread(app)
    server.start()
    yield server.url, gate
    gate.set()
    server.stop()


async def test_the_answer_is_streamed_page_by_page(
    gated_items: tuple[str, threading.Event],
) -> None:
    url, gate = gated_items
    query = {"query": ITEMS, "variables": {"first": 50}}
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", f"{url}/export?format=jsonl", json=query) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/jsonl"
        assert response.headers["content-disposition"] == 'attachment; filename="Items.jsonl"'
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(anext(chunks), 10)
        # the first page arrived while the second is still held back
        assert [json.loads(line)["number"] for line in first.splitlines()] == list(range(50))
        gate.set()
        rest = b""
        with contextlib.suppress(httpx.RemoteProtocolError):  # cut where nothing closes it
            async for chunk in chunks:
                rest += chunk
    *lines, last = (first + rest).splitlines()
    assert [json.loads(line)["number"] for line in lines] == list(range(250))
    # page 6 failed: the body ends with the failure line, never looks complete
    failure = json.loads(last)["_keylink_export_failed"]
    assert failure["message"].startswith("page 6:")
