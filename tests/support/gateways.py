"""Gateways in front of the demo upstreams for tests that need their own settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from demo.links import demo_links
from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_settings
from tests.support.servers import ServerThread


@contextlib.contextmanager
def demo_gateway(
    upstreams: DemoUpstreams,
    linkmap_url: str,
    *,
    cache_url: str = "none",
    rate_limit: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Iterator[str]:
    """A gateway on loopback (its base URL) over the demo upstreams, stopped on exit."""
    settings = demo_settings(
        upstreams.urls,
        linkmap_url,
        cache_url=cache_url,
        rate_limit=rate_limit or {"enabled": False},
        extra=extra,
    )
    server = ServerThread(create_app(settings))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def fully_linked_crm_key(upstreams: DemoUpstreams, index: int = 0) -> str:
    """The CRM key of the ``index``-th customer linked in all three demo systems."""
    return [
        link.keys["crm"][0]
        for link in demo_links(upstreams.dataset)
        if link.kind == "customer" and {"erp", "crm", "timesheet"} <= set(link.keys)
    ][index]
