"""Browsing the demo ERP over real HTTP through the REST adapter: every customer exactly
once across pages in the ERP's order, a search checked on the records, and each record
marked linked or not from the link map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from demo import specs
from demo.runner import DemoUpstreams
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from resolvers.onboarding.browse import browse_page
from sources.errors import Unsupported
from sources.rest import RestConfig, RestSource

BROWSE_CUSTOMERS: dict[str, Any] = {
    "path": "/customers",
    "fields": {"key": "number", "name": "name", "vat": "vat_id", "country": "country"},
}


def _erp(upstreams: DemoUpstreams, tmp_path: Path, browse: bool = True) -> RestSource:
    spec = yaml.safe_load((Path(specs.__file__).parent / "erp.yaml").read_text("utf-8"))
    if browse:
        spec["operations"]["browse_customers"] = BROWSE_CUSTOMERS
    else:
        spec["operations"].pop("browse_customers", None)
    path = tmp_path / "erp.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    config = RestConfig(kind="erp", adapter="rest", url=upstreams.urls["erp"], spec=path)
    return RestSource("erp", config)


async def test_pages_hold_every_customer_once_in_order(
    live_upstreams: DemoUpstreams, tmp_path: Path
) -> None:
    source = _erp(live_upstreams, tmp_path)
    try:
        keys: list[str] = []
        after = None
        pages = 0
        while True:
            page = await source.browse("customer", None, after, 7)
            assert len(page.candidates) <= 7
            keys.extend(c.key for c in page.candidates)
            pages += 1
            if page.next is None:
                break
            after = page.next
    finally:
        await source.aclose()
    customers = live_upstreams.dataset.customers
    assert keys == sorted(customers)  # the ERP lists by number
    assert pages >= len(customers) // 7
    some = customers[keys[0]]
    assert some.vat_id and some.country  # identifiers come along


async def test_search_and_linked_marks(live_upstreams: DemoUpstreams, tmp_path: Path) -> None:
    customers = live_upstreams.dataset.customers
    wanted = sorted(customers)[3]
    word = customers[wanted].name.split()[0]
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    store = LinkStore.from_url(url)
    source = _erp(live_upstreams, tmp_path)
    try:
        entity = await store.create_entity("customer", {"erp": [wanted]}, actor="test")
        found = []
        after = None
        while True:
            page = await browse_page(source, store, "customer", word.lower(), after, 50)
            found.extend(page.records)
            if page.next is None:
                break
            after = page.next
    finally:
        await source.aclose()
        await store.close()
    assert found and all(word.lower() in r.candidate.name.lower() for r in found)
    expected = {k for k, c in customers.items() if word.lower() in c.name.lower()}
    assert {r.candidate.key for r in found} == expected
    marks = {r.candidate.key: r.entity_id for r in found}
    assert marks[wanted] == entity.id
    assert all(v is None for k, v in marks.items() if k != wanted)


async def test_a_spec_without_browse_says_not_supported(
    live_upstreams: DemoUpstreams, tmp_path: Path
) -> None:
    source = _erp(live_upstreams, tmp_path, browse=False)
    try:
        with pytest.raises(Unsupported, match="browse_customers"):
            await source.browse("customer", None, None, 10)
    finally:
        await source.aclose()
