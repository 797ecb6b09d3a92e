"""``keylink demo``: the three demo upstreams and the gateway in one foreground process.

The demo link map is a fresh SQLite file, migrated with alembic and seeded with the demo
data's links (a few entities are left unlinked on purpose).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn

from gateway.app import create_app
from gateway.settings import Settings, load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore

SPEC_DIR = Path(__file__).resolve().parent.parent / "demo" / "specs"


def demo_systems(urls: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``systems:`` block for demo upstreams listening at ``urls``."""
    from demo import specs as _specs

    spec_dir = Path(_specs.__file__).resolve().parent
    return {
        name: {"kind": name, "adapter": "rest", "url": url, "spec": str(spec_dir / f"{name}.yaml")}
        for name, url in urls.items()
    }


async def seed_demo_links(url: str, dataset: Any) -> int:
    """Create the link-map schema at ``url`` and import the demo's links; returns the count."""
    from demo.links import demo_links

    await upgrade_async(url)
    store = LinkStore.from_url(url)
    try:
        links = [(link.kind, link.keys) for link in demo_links(dataset)]
        return await store.bulk_import(links, actor="keylink-demo")
    finally:
        await store.close()


def demo_settings(
    urls: Mapping[str, str],
    linkmap_url: str,
    *,
    cache_url: str = "memory://",
    rate_limit: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings for the gateway in front of demo upstreams at ``urls`` (``extra`` merged in)."""
    return load_settings(
        overrides={
            "linkmap": {"url": linkmap_url, "migrate_on_start": False},
            "cache": {"url": cache_url},
            "rate_limit": dict(rate_limit or {"per_minute": 600}),
            "systems": demo_systems(urls),
            **(extra or {}),
        }
    )


SAMPLE_QUERY = """\
{{
  customer(system: "crm", key: "{key}") {{
    keys {{ system key }}
    account {{ name owner segment }}
    erp {{ name currency creditLimit {{ amount currency }} }}
    financialOverview {{
      asOf
      openBalance {{ amount currency }}
      overdueAmount {{ amount currency }}
      overdueCount
      revenueYearToDate {{ amount currency }}
      revenueSamePeriodLastYear {{ amount currency }}
      openOrdersValue {{ amount currency }}
      creditLimit {{ amount currency }}
      creditAvailable {{ amount currency }}
      hoursThisMonth
      unbilledHours
    }}
  }}
}}"""


def sample_query(crm_key: str) -> str:
    """A financial-overview query for the customer with CRM key ``crm_key``."""
    return SAMPLE_QUERY.format(key=crm_key)


async def run_demo(host: str, port: int, db_path: Path) -> None:
    """Start the demo upstreams, seed the link map, serve the gateway until cancelled."""
    from demo.links import demo_links
    from demo.runner import DemoUpstreams

    upstreams = DemoUpstreams()
    upstreams.start()
    try:
        db_path = db_path.resolve()
        db_path.unlink(missing_ok=True)
        linkmap_url = f"sqlite+aiosqlite:///{db_path}"
        count = await seed_demo_links(linkmap_url, upstreams.dataset)
        api_key = await create_demo_key(linkmap_url)
        app = create_app(
            demo_settings(upstreams.urls, linkmap_url, extra={"auth": {"mode": "enforce"}})
        )
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await serving
                return
            await asyncio.sleep(0.05)
        crm_key = next(
            link.keys["crm"][0]
            for link in demo_links(upstreams.dataset)
            if link.kind == "customer" and link.keys.get("crm") and link.keys.get("erp")
        )
        _print_banner(host, port, upstreams.urls, count, db_path, api_key, sample_query(crm_key))
        await serving
    finally:
        upstreams.stop()


async def create_demo_key(linkmap_url: str) -> str:
    """A fresh API key with every role in the demo link map at ``linkmap_url``."""
    from linkmap.api_keys import ROLES, ApiKeyStore
    from linkmap.db import create_engine

    engine = create_engine(linkmap_url)
    try:
        _, key = await ApiKeyStore(engine).create("keylink-demo", ROLES, actor="keylink-demo")
    finally:
        await engine.dispose()
    return key


def _print_banner(
    host: str,
    port: int,
    urls: Mapping[str, str],
    count: int,
    db_path: Path,
    api_key: str,
    query: str,
) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    console.print("[bold]Keylink demo is ready.[/bold]")
    for name, url in urls.items():
        console.print(f"  demo {name:<9} {url}")
    console.print(f"  link map       {db_path} ({count} linked entities)")
    console.print(f"  GraphiQL       http://{host}:{port}/graphql")
    # the demo's own key, made for this run and shown once, on the terminal, never logged
    print(f"  API key        {api_key}", flush=True)  # noqa: T201
    console.print(
        "\nEvery request needs the key (authentication is on, as in production): in "
        'GraphiQL\'s Headers tab put {"X-API-Key": "<key>"}, or with curl:\n'
        f"  curl -H 'X-API-Key: <key>' -H 'Content-Type: application/json' "
        f'-d \'{{"query": "{{ __typename }}"}}\' http://{host}:{port}/graphql'
    )
    console.print("\nSample financial-overview query (paste into GraphiQL):\n")
    print(query, flush=True)  # noqa: T201 - plain text, so it can be copied as is
