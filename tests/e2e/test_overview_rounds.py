"""The many-customer overview reads every system in one round: the link map gives each
system's keys at once, so the ERP, CRM and timesheet reads of every customer go out
together, and only the further pages of a paged answer (whose count the first page tells)
follow. The number of rounds does not grow with the number of customers.

A round is counted from the order of the upstream calls, not from their durations: a
recording proxy in front of each demo upstream notes when each call came in and when it
was answered, and a call belongs to the round after the latest call that had already been
answered when it came in. The upstreams answer with an added latency so that calls sent
together are in flight together.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from demo.queries import CUSTOMERS_BY_KEY, OVERVIEW_FIELDS
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from tests.conftest import FAULT_TOLERANT
from tests.e2e.test_customer_overview import linked_customers
from tests.support.servers import ServerThread

LATENCY_MS = 100
THROUGH_FRAGMENTS = """
query Many($system: String!, $keys: [String!]!) {
  customersByKey(system: $system, keys: $keys) { ...Row }
}
fragment Row on Customer {
  keys { system key }
  account { name segment }
  ... on Customer { erp { name } financialOverview { OVERVIEW } }
}
""".replace("OVERVIEW", OVERVIEW_FIELDS)
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
DECODED_HEADERS = {"content-length", "content-encoding", "transfer-encoding", "connection"}


@dataclass(frozen=True)
class Call:
    """One upstream request as the proxy saw it."""

    system: str
    path: str
    page: str | None
    came_in: float
    answered: float


class RecordingProxy:
    """An ASGI app forwarding every request to ``target`` and noting each call."""

    def __init__(self, system: str, target: str, calls: list[Call]) -> None:
        self.system, self.target, self.calls = system, target, calls
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._client is None:  # created on the server's own event loop
            self._client = httpx.AsyncClient(base_url=self.target, timeout=60)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope["query_string"].decode()
        headers = [
            (k.decode(), v.decode()) for k, v in scope["headers"] if k.decode() not in HOP_HEADERS
        ]
        came_in = time.monotonic()
        answer = await self._client.request(
            scope["method"],
            scope["path"] + ("?" + query if query else ""),
            content=body,
            headers=headers,
        )
        answered = time.monotonic()
        if not scope["path"].startswith(("/_", "/healthz")):
            page = parse_qs(query).get("page", [None])[0]
            self.calls.append(Call(self.system, scope["path"], page, came_in, answered))
        out = [
            (k.encode(), v.encode())
            for k, v in answer.headers.multi_items()
            if k.lower() not in DECODED_HEADERS
        ]
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer.content})


@pytest.fixture(scope="module")
def recorded(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> Iterator[tuple[httpx.Client, list[Call]]]:
    """A cache-less gateway reaching the demo upstreams through recording proxies, and the
    list the proxies note calls in."""
    calls: list[Call] = []
    proxies = {
        system: ServerThread(RecordingProxy(system, url, calls))
        for system, url in live_upstreams.urls.items()
    }
    for proxy in proxies.values():
        proxy.start()
    settings = demo_settings(
        {system: proxy.url for system, proxy in proxies.items()},
        demo_linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"resilience": FAULT_TOLERANT},
    )
    gateway = ServerThread(create_app(settings))
    gateway.start()
    for knobs in live_upstreams.knobs.values():
        knobs.update(latency_ms=LATENCY_MS)
    try:
        with httpx.Client(base_url=gateway.url, timeout=60) as client:
            yield client, calls
    finally:
        for knobs in live_upstreams.knobs.values():
            knobs.reset()
        gateway.stop()
        for proxy in proxies.values():
            proxy.stop()


def rounds(calls: list[Call]) -> dict[Call, int]:
    """Each call's round: one after the latest round among the calls answered before it
    came in (1 for a call that waited for none)."""
    found: dict[Call, int] = {}
    for call in sorted(calls, key=lambda c: c.came_in):
        before = [found[c] for c in found if c.answered <= call.came_in]
        found[call] = 1 + max(before, default=0)
    return found


def overview_calls(
    recorded: tuple[httpx.Client, list[Call]],
    upstreams: DemoUpstreams,
    count: int,
    document: str = CUSTOMERS_BY_KEY,
) -> dict[Call, int]:
    """The rounds of the upstream calls of one cold overview of ``count`` customers."""
    client, calls = recorded
    keys = [customer["crm"] for customer in linked_customers(upstreams)[:count]]
    calls.clear()
    response = client.post(
        "/graphql", json={"query": document, "variables": {"system": "crm", "keys": keys}}
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    assert sum(row is not None for row in body["data"]["customersByKey"]) == count
    return rounds(list(calls))


@pytest.mark.parametrize(
    ("count", "document"),
    [(5, CUSTOMERS_BY_KEY), (50, CUSTOMERS_BY_KEY), (50, THROUGH_FRAGMENTS)],
    ids=["5 customers", "50 customers", "50 customers through fragments"],
)
def test_every_system_is_asked_in_the_first_round(
    recorded: tuple[httpx.Client, list[Call]],
    live_upstreams: DemoUpstreams,
    count: int,
    document: str,
) -> None:
    found = overview_calls(recorded, live_upstreams, count, document)
    first_pages = {c: r for c, r in found.items() if c.page in (None, "1")}
    asked = {(c.system, c.path) for c in first_pages}
    assert {("erp", "/customers"), ("erp", "/invoices"), ("erp", "/orders")} <= asked
    assert {("crm", "/accounts"), ("timesheet", "/entries")} <= asked
    late = sorted((c.system, c.path, r) for c, r in first_pages.items() if r != 1)
    assert not late, f"first pages that waited for another call: {late}"


def test_fifty_customers_take_no_more_rounds_than_the_pages_need(
    recorded: tuple[httpx.Client, list[Call]], live_upstreams: DemoUpstreams
) -> None:
    found = overview_calls(recorded, live_upstreams, 50)
    assert any(c.page not in (None, "1") for c in found), "the 50-customer answer is paged"
    assert max(found.values()) == 2, sorted((c.system, c.path, c.page, r) for c, r in found.items())
