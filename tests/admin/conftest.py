"""What the admin tests share: a fresh link map, a gateway over the demo upstreams on it,
and a CLI configuration on the same link map with the gateway's system names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.runner import DemoUpstreams
from linkmap.migrate import upgrade_async
from tests.support.gateways import demo_gateway

SPEC_DIR = Path(__file__).resolve().parents[2] / "demo" / "specs"


@pytest.fixture
async def linkmap_url(tmp_path: Path) -> str:
    """A migrated, empty SQLite link map."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    return url


@pytest.fixture
def gateway(live_upstreams: DemoUpstreams, linkmap_url: str) -> Iterator[str]:
    """A gateway over the demo upstreams on that link map (its base URL)."""
    with demo_gateway(live_upstreams, linkmap_url) as url:
        yield url


@pytest.fixture
def cli_config(linkmap_url: str, tmp_path: Path) -> Path:
    """A configuration for the CLI on the same link map, with the gateway's system names
    (their URLs are never called)."""
    lines = [f"linkmap: {{url: '{linkmap_url}'}}", "systems:"]
    for port, name in enumerate(("erp", "crm", "timesheet"), start=1):
        lines.append(
            f"  {name}: {{kind: {name}, adapter: rest, url: 'http://127.0.0.1:{port}', "
            f"spec: '{SPEC_DIR / (name + '.yaml')}'}}"
        )
    path = tmp_path / "keylink.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
