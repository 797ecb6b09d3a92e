"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (the link map
answers). Readiness ignores upstream state: an ERP outage must not take Keylink out of a
load balancer, because Keylink still answers every other system's fields.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

log = logging.getLogger("keylink.health")


def health_router() -> APIRouter:
    """The routes ``/healthz`` and ``/readyz``."""
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Per-system state in Prometheus text format: breaker, in-flight calls, p95."""
        lines = [
            "# HELP keylink_circuit_open 1 when the system's circuit breaker is open.",
            "# TYPE keylink_circuit_open gauge",
        ]
        series: dict[str, list[str]] = {
            "keylink_upstream_in_flight": [],
            "keylink_upstream_latency_p95_seconds": [],
            "keylink_upstream_calls_total": [],
            "keylink_upstream_failures_total": [],
            "keylink_upstream_retries_total": [],
        }
        for name, source in request.app.state.runtime.systems.sources.items():
            health = getattr(source, "health", None)
            if health is None:
                continue
            state = health()
            label = f'{{system="{name}"}}'
            lines.append(f"keylink_circuit_open{label} {int(state['state'] != 'closed')}")
            series["keylink_upstream_in_flight"].append(f"{label} {state['in_flight']}")
            p95 = state["p95_ms"]
            if p95 is not None:
                series["keylink_upstream_latency_p95_seconds"].append(f"{label} {p95 / 1000}")
            series["keylink_upstream_calls_total"].append(f"{label} {state['calls']}")
            series["keylink_upstream_failures_total"].append(f"{label} {state['failures']}")
            series["keylink_upstream_retries_total"].append(f"{label} {state['retries']}")
        for metric, values in series.items():
            kind = "counter" if metric.endswith("_total") else "gauge"
            lines.append(f"# TYPE {metric} {kind}")
            lines.extend(metric + value for value in values)
        return PlainTextResponse("\n".join(lines) + "\n")

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        try:
            await request.app.state.runtime.links.ping()
        except Exception as exc:
            log.warning("link map not reachable: %r", exc)
            return JSONResponse({"status": "unavailable", "linkmap": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "linkmap": "up"})

    return router
