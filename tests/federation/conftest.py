"""Fixtures of the federation tests: Apollo's composer and the demo link map's entities."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from linkmap.records import Entity
from linkmap.store import LinkStore
from tests.conftest import repo_root
from tests.federation.composition import Composer, install_composer


@pytest.fixture(scope="session")
def composer() -> Composer:
    """Apollo's composition library, installed into ``.cache/federation``."""
    return install_composer(repo_root() / ".cache" / "federation")


@pytest.fixture(scope="session")
async def demo_entities(demo_linkmap_url: str) -> AsyncIterator[dict[str, list[Entity]]]:
    """Every entity of the gateway fixture's link map, per kind, read from the database
    itself (not through the gateway)."""
    store = LinkStore.from_url(demo_linkmap_url)
    try:
        found: dict[str, list[Entity]] = {}
        for kind in ("customer", "supplier", "project"):
            found[kind] = await store.list_entities(kind, limit=1000)
        yield found
    finally:
        await store.close()
