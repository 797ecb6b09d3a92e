"""Tracing: one overview query makes one span per upstream call, carrying system,
operation and batch size, below the operation's span, and every upstream request carries
that call's trace context (``traceparent``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from demo.queries import CUSTOMER
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from tests.support.servers import ServerThread
from tests.telemetry.support import RecordingTransport, overview_variables, upstream_log


@pytest.fixture(scope="module")
def traced(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> Iterator[tuple[str, InMemorySpanExporter, dict[str, RecordingTransport]]]:
    """A gateway with tracing on (no exporter of its own), its spans kept in memory, and
    the transports under its systems' clients."""
    settings = demo_settings(
        live_upstreams.urls,
        demo_linkmap_url,
        cache_url="none",
        rate_limit={"enabled": False},
        extra={"telemetry": {"tracing": {"enabled": True, "exporter": "none"}}},
    )
    transports = {name: RecordingTransport() for name in live_upstreams.urls}
    app = create_app(settings, transports=transports)
    exporter = InMemorySpanExporter()
    app.state.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    server = ServerThread(app)
    server.start()
    yield server.url, exporter, transports
    server.stop()


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    """``span``'s parent, its parent's parent, ... as far as the exported spans go."""
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


def test_an_overview_makes_one_span_per_upstream_call_below_the_operation(
    traced: tuple[str, InMemorySpanExporter, dict[str, RecordingTransport]],
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
) -> None:
    url, exporter, transports = traced
    httpx.get(f"{url}/healthz").raise_for_status()
    upstream_log(upstream_stats)
    exporter.clear()
    for transport in transports.values():
        transport.headers.clear()

    response = httpx.post(
        f"{url}/graphql",
        json={"query": CUSTOMER, "variables": overview_variables(live_upstreams)},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    log = upstream_log(upstream_stats)

    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    (operation,) = [s for s in spans if s.attributes.get("graphql.operation.name") == "Customer"]
    assert operation.name == "query Customer"
    assert operation.attributes["graphql.operation.type"] == "query"
    (server,) = [s for s in spans if s.kind.name == "SERVER" and s.parent is None]
    assert server in ancestors(operation, by_id)  # FastAPI's server span is above it

    calls = [s for s in spans if s.name.startswith("upstream ")]
    assert calls, [s.name for s in spans]
    for call in calls:
        attributes: dict[str, Any] = dict(call.attributes or {})
        system, operation_name = attributes["keylink.system"], attributes["keylink.operation"]
        assert call.name == f"upstream {system}.{operation_name}"
        assert attributes["keylink.batch_size"] >= 1
        assert attributes["keylink.status"] == "ok"
        assert call.context.trace_id == operation.context.trace_id
        chain = ancestors(call, by_id)
        assert operation in chain, f"{call.name} is not below the operation"
        batch = chain[0]
        assert batch.name.startswith("batch ")
        assert batch.attributes["keylink.system"] == attributes["keylink.system"]
        assert batch.attributes["keylink.upstream.keys"] == attributes["keylink.batch_size"]

    # one span per upstream call: as many per system as the upstream itself counted
    per_system = Counter(str(c.attributes["keylink.system"]) for c in calls)
    assert per_system == Counter({s: sum(paths.values()) for s, paths in log.items() if paths})

    # every upstream request carried the trace context of the call that made it
    call_ids = {format(c.context.span_id, "016x") for c in calls}
    sent = [h for t in transports.values() for h in t.headers]
    assert len(sent) == sum(per_system.values())
    for headers in sent:
        version, trace_id, parent_id, flags = headers["traceparent"].split("-")
        assert version == "00" and int(flags, 16) & 1  # sampled
        assert trace_id == format(operation.context.trace_id, "032x")
        assert parent_id in call_ids


def test_tracing_off_makes_no_span_and_sends_no_traceparent(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str
) -> None:
    settings = demo_settings(
        live_upstreams.urls, demo_linkmap_url, cache_url="none", rate_limit={"enabled": False}
    )
    transports = {name: RecordingTransport() for name in live_upstreams.urls}
    app = create_app(settings, transports=transports)
    assert not hasattr(app.state, "tracer_provider")
    server = ServerThread(app)
    server.start()
    try:
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": CUSTOMER, "variables": overview_variables(live_upstreams)},
            timeout=30,
        )
    finally:
        server.stop()
    assert response.status_code == 200 and "errors" not in response.json()
    sent = [h for t in transports.values() for h in t.headers]
    assert sent and not any("traceparent" in h for h in sent)
