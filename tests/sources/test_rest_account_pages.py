"""``AccountSearchPages`` on the REST adapter, over real HTTP against the demo CRM
(demo/specs/crm.yaml): a filtered account search the CRM orders and pages itself, one
upstream request per page however many accounts the CRM holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from demo.runner import DemoUpstreams
from sources.base import Account, AccountPage, AccountSearchPages
from sources.errors import Unsupported
from sources.records import AccountQuery
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource
from sources.rest import RestConfig, RestSource
from tests.sources.crm_scale import crm_dataset, crm_upstreams

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "crm.yaml"
NORWAY = AccountQuery(countries=frozenset({"NO"}), segments=frozenset({"Industry", "Retail"}))


@pytest.fixture(scope="module")
def crm_1k() -> Iterator[DemoUpstreams]:
    with crm_upstreams(1_000) as running:
        yield running


@pytest.fixture(scope="module")
def crm_10k() -> Iterator[DemoUpstreams]:
    with crm_upstreams(10_000) as running:
        yield running


def crm(upstreams: DemoUpstreams, spec: Path = SPEC) -> RestSource:
    config = RestConfig(kind="crm", adapter="rest", url=upstreams.urls["crm"], spec=spec)
    return RestSource("crm", config)


def spec_variant(tmp_path: Path, change: Any) -> Path:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    change(raw["operations"]["account_search"])
    path = tmp_path / "crm.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def requests_to_accounts(upstreams: DemoUpstreams) -> int:
    return upstreams.knobs["crm"].count("/accounts")


def expected_keys(
    upstreams: DemoUpstreams, query: AccountQuery, order_by: str | None, descending: bool
) -> list[str]:
    rows = [
        Account(a.id, a.name, a.owner, a.team, a.segment, a.country)
        for a in upstreams.dataset.accounts.values()
    ]
    chosen = [a for a in rows if query.matches(a)]
    chosen.sort(key=lambda a: (getattr(a, order_by) if order_by else "", a.key), reverse=descending)
    return [a.key for a in chosen]


async def walk(
    source: AccountSearchPages,
    query: AccountQuery,
    order_by: str | None,
    descending: bool,
    limit: int,
) -> list[AccountPage]:
    pages: list[AccountPage] = []
    after: str | None = None
    while True:
        page = await source.search_account_page(
            query, order_by=order_by, descending=descending, after=after, limit=limit
        )
        pages.append(page)
        after = page.next
        if after is None:
            return pages
        assert len(pages) < 1_000


@pytest.mark.parametrize(
    ("order_by", "descending"),
    [("name", False), ("name", True), ("team", False), ("owner", True), ("country", False)],
)
async def test_pages_come_in_the_crms_order_with_ties_broken_by_key(
    crm_1k: DemoUpstreams, order_by: str, descending: bool
) -> None:
    source = crm(crm_1k)
    crm_1k.knobs["crm"].reset_stats()
    pages = await walk(source, NORWAY, order_by, descending, limit=37)
    await source.aclose()
    keys = [key for page in pages for key, _ in page.accounts]
    assert keys == expected_keys(crm_1k, NORWAY, order_by, descending)
    assert len(keys) == len(set(keys)) > 100
    assert all(len(page.accounts) == 37 for page in pages[:-1])
    assert all(key == account.key for page in pages for key, account in page.accounts)
    assert requests_to_accounts(crm_1k) == len(pages)


@pytest.mark.parametrize("descending", [False, True])
async def test_without_an_order_field_the_order_is_the_account_key(
    crm_1k: DemoUpstreams, descending: bool
) -> None:
    source = crm(crm_1k)
    pages = await walk(source, AccountQuery(), None, descending, limit=400)
    await source.aclose()
    keys = [key for page in pages for key, _ in page.accounts]
    assert keys == sorted(crm_1k.dataset.accounts, reverse=descending)
    assert [len(page.accounts) for page in pages] == [400, 400, 200]


async def test_one_page_is_one_request_at_1k_and_at_10k_accounts(
    crm_1k: DemoUpstreams, crm_10k: DemoUpstreams
) -> None:
    page_requests: list[int] = []
    full_search_requests: list[int] = []
    for upstreams in (crm_1k, crm_10k):
        source = crm(upstreams)
        upstreams.knobs["crm"].reset_stats()
        first = await source.search_account_page(
            NORWAY, order_by="name", descending=False, after=None, limit=50
        )
        second = await source.search_account_page(
            NORWAY, order_by="name", descending=False, after=first.next, limit=50
        )
        page_requests.append(requests_to_accounts(upstreams))
        assert len(first.accounts) == len(second.accounts) == 50
        assert expected_keys(upstreams, NORWAY, "name", False)[:100] == [
            key for page in (first, second) for key, _ in page.accounts
        ]
        upstreams.knobs["crm"].reset_stats()
        await source.search_accounts(NORWAY)
        full_search_requests.append(requests_to_accounts(upstreams))
        await source.aclose()
    assert page_requests == [2, 2]
    # what the pages save: reading every match costs more upstream calls as the CRM grows
    assert full_search_requests[1] > full_search_requests[0]


async def test_a_limit_above_what_the_crm_serves_gives_a_full_page_not_an_error(
    crm_1k: DemoUpstreams,
) -> None:
    source = crm(crm_1k)
    page = await source.search_account_page(
        AccountQuery(), order_by="segment", descending=True, after=None, limit=5_000
    )
    await source.aclose()
    assert len(page.accounts) == 500  # the spec's page_size, the CRM's largest page
    assert page.next is not None


async def test_a_filter_the_spec_cannot_send_is_checked_on_every_page(
    crm_1k: DemoUpstreams, tmp_path: Path
) -> None:
    def unmappable_team(search: dict[str, Any]) -> None:
        search["filters"]["teams"] = {"param": "team", "map": {"Bergen": "Bergen", "Oslo": None}}

    source = crm(crm_1k, spec_variant(tmp_path, unmappable_team))
    query = AccountQuery(teams=frozenset({"Oslo"}), segments=frozenset({"Public"}))
    crm_1k.knobs["crm"].reset_stats()
    pages = await walk(source, query, "owner", False, limit=40)
    await source.aclose()
    keys = [key for page in pages for key, _ in page.accounts]
    assert keys == expected_keys(crm_1k, query, "owner", False)
    assert all(account.team == "Oslo" for page in pages for _, account in page.accounts)
    assert requests_to_accounts(crm_1k) == len(pages)
    assert any(len(page.accounts) < 40 for page in pages[:-1])  # short pages, never wrong


async def test_a_spec_without_an_order_offers_no_ordered_pages(
    crm_1k: DemoUpstreams, tmp_path: Path
) -> None:
    def unordered(search: dict[str, Any]) -> None:
        del search["order"]
        del search["pagination"]

    source = crm(crm_1k, spec_variant(tmp_path, unordered))
    assert source.account_orders == frozenset()
    with pytest.raises(Unsupported):
        await source.search_account_page(
            AccountQuery(), order_by=None, descending=False, after=None, limit=10
        )
    await source.aclose()


async def test_an_order_the_spec_does_not_declare_is_unsupported(
    crm_1k: DemoUpstreams, tmp_path: Path
) -> None:
    def names_only(search: dict[str, Any]) -> None:
        search["order"]["fields"] = {"name": "name"}
        del search["order"]["key"]

    source = crm(crm_1k, spec_variant(tmp_path, names_only))
    assert source.account_orders == frozenset({"name"})
    for order_by, descending in (("team", False), (None, True)):
        with pytest.raises(Unsupported):
            await source.search_account_page(
                AccountQuery(), order_by=order_by, descending=descending, after=None, limit=10
            )
    ascending = await source.search_account_page(
        AccountQuery(), order_by=None, descending=False, after=None, limit=10
    )
    await source.aclose()
    assert [key for key, _ in ascending.accounts] == sorted(crm_1k.dataset.accounts)[:10]


async def test_the_demo_crm_declares_every_orderable_field_and_the_resilient_wrapper_keeps_it(
    crm_1k: DemoUpstreams,
) -> None:
    source = crm(crm_1k)
    wrapped = ResilientSource(
        source,
        breaker=CircuitBreaker("crm"),
        bulkhead=Bulkhead(4),
        budget=RetryBudget(),
    )
    assert isinstance(wrapped, AccountSearchPages)
    assert wrapped.account_orders == frozenset({"name", "segment", "owner", "team", "country"})
    page = await wrapped.search_account_page(
        NORWAY, order_by="team", descending=True, after=None, limit=3
    )
    await wrapped.aclose()
    assert [key for key, _ in page.accounts] == expected_keys(crm_1k, NORWAY, "team", True)[:3]


def test_the_big_dataset_only_changes_the_crm() -> None:
    small, big = crm_dataset(1_000), crm_dataset(10_000)
    assert len(small.accounts) == 1_000 and len(big.accounts) == 10_000
    assert small.customers == big.customers
