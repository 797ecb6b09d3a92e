"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (the link map
answers). Readiness ignores upstream state: an ERP outage must not take Keylink out of a
load balancer, because Keylink still answers every other system's fields.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

log = logging.getLogger("keylink.health")


def health_router() -> APIRouter:
    """The routes ``/healthz`` and ``/readyz``."""
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        try:
            await request.app.state.runtime.links.ping()
        except Exception as exc:
            log.warning("link map not reachable: %r", exc)
            return JSONResponse({"status": "unavailable", "linkmap": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "linkmap": "up"})

    return router
