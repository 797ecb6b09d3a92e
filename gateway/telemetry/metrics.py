"""Keylink's Prometheus metrics, served at ``/metrics`` (prometheus-client).

Multi-process safe: when ``PROMETHEUS_MULTIPROC_DIR`` is set before this module is first
imported (``keylink serve --workers N`` sets it), every worker writes its figures to files
there and a scrape of any worker reads them all: counters and histograms are summed over
the workers, ``keylink_upstream_in_flight`` too, ``keylink_circuit_open`` is the highest of
the workers' (1 while any worker's breaker is not closed), and the figures read at scrape
time (link-map size, idempotency records in progress, Redis) are the latest scrape's.

Series (labels in braces):

- ``keylink_request_duration_seconds{operation,type,outcome}``: GraphQL operations by
  operation name (``anonymous`` without one; ``other`` past 200 names or for odd names).
- ``keylink_upstream_duration_seconds{system,operation}``: each guarded upstream call,
  retries and guard waits included.
- ``keylink_upstream_calls_total{system}``, ``keylink_upstream_failures_total{system}``,
  ``keylink_upstream_retries_total{system}``, ``keylink_upstream_refused_total{system}``
  (refused by breaker, bulkhead, throttle or quota without a call),
  ``keylink_upstream_errors_total{system,operation,code}``.
- ``keylink_upstream_in_flight{system}``, ``keylink_circuit_open{system}``.
- ``keylink_cache_lookups_total{system,operation,result}`` with ``result`` ``hit``,
  ``miss`` or ``stale``: the read cache's hit ratio is hit / (hit + miss + stale).
- ``keylink_linkmap_entities{kind}``, ``keylink_idempotency_in_progress``,
  ``keylink_redis_up``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from linkmap.models import entities, idempotency_records

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
"""Seconds: from a cached answer to a request deadline."""

MAX_OPERATION_NAMES = 200
"""Distinct operation names labelled per process; later ones count as ``other``."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

REQUEST_LATENCY = Histogram(
    "keylink_request_duration_seconds",
    "GraphQL operations by operation name, type and outcome (ok, error).",
    ["operation", "type", "outcome"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_LATENCY = Histogram(
    "keylink_upstream_duration_seconds",
    "Upstream calls by system and operation (retries and guard waits included).",
    ["system", "operation"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_CALLS = Counter(
    "keylink_upstream_calls", "Calls of a system's adapter, retries included.", ["system"]
)
UPSTREAM_FAILURES = Counter(
    "keylink_upstream_failures",
    "Calls of a system that failed unavailable or timed out.",
    ["system"],
)
UPSTREAM_RETRIES = Counter("keylink_upstream_retries", "Retries of a read.", ["system"])
UPSTREAM_REFUSED = Counter(
    "keylink_upstream_refused",
    "Calls refused by the breaker, bulkhead, throttle or quota (nothing sent).",
    ["system"],
)
UPSTREAM_ERRORS = Counter(
    "keylink_upstream_errors",
    "Upstream calls that ended in an error, by stable code.",
    ["system", "operation", "code"],
)
UPSTREAM_IN_FLIGHT = Gauge(
    "keylink_upstream_in_flight",
    "Upstream calls running now.",
    ["system"],
    multiprocess_mode="livesum",
)
CIRCUIT_OPEN = Gauge(
    "keylink_circuit_open",
    "1 when the system's circuit breaker is open or half open.",
    ["system"],
    multiprocess_mode="max",
)
CACHE_LOOKUPS = Counter(
    "keylink_cache_lookups",
    "Keys asked of a loader: hit (fresh from the read cache), miss (read upstream), "
    "stale (a failed read answered from stale cache).",
    ["system", "operation", "result"],
)
LINKMAP_ENTITIES = Gauge(
    "keylink_linkmap_entities",
    "Entities in the link map by kind (read at scrape time).",
    ["kind"],
    multiprocess_mode="mostrecent",
)
IDEMPOTENCY_IN_PROGRESS = Gauge(
    "keylink_idempotency_in_progress",
    "Order-line edits whose idempotency record is in progress (read at scrape time).",
    multiprocess_mode="mostrecent",
)
REDIS_UP = Gauge(
    "keylink_redis_up",
    "0 while Redis fails (caches skipped, limits per process).",
    multiprocess_mode="mostrecent",
)

_operation_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """The ``operation`` label of an operation named ``name``: the name itself while it
    is a plain GraphQL name and fewer than :data:`MAX_OPERATION_NAMES` were seen,
    ``anonymous`` without a name, ``other`` otherwise (labels stay bounded)."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if not _NAME.fullmatch(name) or len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


async def refresh(runtime: Any) -> None:
    """Set the figures read at scrape time from ``runtime``: each system's breaker, the
    link map's entities by kind, idempotency records in progress, Redis."""
    for name, source in runtime.systems.sources.items():
        health = getattr(source, "health", None)
        if health is not None:
            CIRCUIT_OPEN.labels(name).set(int(health()["state"] != "closed"))
    engine = runtime.links.engine
    async with engine.connect() as conn:
        counted = await conn.execute(
            select(entities.c.kind, func.count()).group_by(entities.c.kind)
        )
        for kind, count in counted:
            LINKMAP_ENTITIES.labels(kind).set(count)
        in_progress = await conn.execute(
            select(func.count())
            .select_from(idempotency_records)
            .where(idempotency_records.c.state == "in_progress")
            .where(idempotency_records.c.expires_at > datetime.now(UTC))
        )
        IDEMPOTENCY_IN_PROGRESS.set(int(in_progress.scalar_one()))
    redis = getattr(runtime, "redis", None)
    if redis is not None:
        await redis.check()
        REDIS_UP.set(int(not redis.down))


_WHOLE = re.compile(rb"^([^#\n][^\n]* -?\d+)\.0$", re.MULTILINE)


def render() -> tuple[bytes, str]:
    """The exposition text of every worker's metrics (one process's without
    ``PROMETHEUS_MULTIPROC_DIR``) and its content type; whole values are written without
    ``.0`` (``keylink_circuit_open{system="erp"} 1``), as Keylink always wrote them."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    return _WHOLE.sub(rb"\1", text), CONTENT_TYPE_LATEST
