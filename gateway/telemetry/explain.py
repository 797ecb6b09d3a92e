"""Explain on request: how an answer was made, in ``extensions.explain``.

A caller asks with the header ``X-Keylink-Explain: true`` or the request extension
``{"extensions": {"explain": true}}``. A caller holding one of ``telemetry.explain.roles``
(analyst, admin by default) gets ``extensions.explain``: every loader batch and upstream
call the request made, in the order they started (system, operation, keys asked, cache
``hit``/``miss``/``partial``/``stale``, cache hits, ``batchSize``: keys sent upstream,
``shared``: joined another request's identical call in flight, ``durationMs``,
``attempts``, ``retries``, ``status``), and ``totalMs``, ``upstreamMs``, ``gatewayMs``
(the time spent in the gateway itself). Any other caller gets its answer as usual, with
``extensions.explain`` saying only why there is none: ``{"refused": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.telemetry.settings import ExplainSettings

HEADER = "x-keylink-explain"
EXTENSION = "explain"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def asked(headers: Mapping[str, str] | None, extensions: Mapping[str, Any] | None) -> bool:
    """Whether a request asks for explain (by header or by request extension)."""
    if headers is not None and headers.get(HEADER, "").strip().lower() in TRUE_WORDS:
        return True
    return bool(extensions) and (extensions or {}).get(EXTENSION) is True


def refusal(settings: ExplainSettings, roles: frozenset[str]) -> str | None:
    """Why a caller holding ``roles`` may not have explain (None: it may)."""
    if not settings.enabled:
        return "explain is turned off on this gateway (telemetry.explain.enabled)"
    if roles.isdisjoint(settings.roles):
        return f"explain needs one of the roles {', '.join(sorted(settings.roles))}"
    return None
