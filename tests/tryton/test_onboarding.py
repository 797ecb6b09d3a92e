"""Onboarding against the real Tryton: 100 parties (and 30 decoys in the CRM) made with
proteus through Tryton's own rules, browsed through the adapter, matched to a generated CRM
database (SQL source) with the same precision and recall as on the large set, and the
dangling-link check finding a party deleted through Tryton's API (vanished), one it closed
(inactive) and one merged by its Replace wizard, without changing anything."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from resolvers.onboarding.dangling import check_dangling
from resolvers.onboarding.suggestions import link_suggestions
from sources.base import Source
from sources.tryton import TrytonConfig, TrytonSource
from tests.onboarding.generate import Onboarding, generate
from tests.onboarding.upstreams import CRM_SPEC, serve
from tests.support.tryton import PASSWORD_ENV, REPO, TrytonServer

PAIRS = 100
log = logging.getLogger(__name__)


class OnboardingTryton(TrytonServer):
    """A Tryton of its own whose test data are the onboarding parties."""

    scenario_script = REPO / "tests" / "onboarding" / "tryton_parties.py"


@pytest.fixture(scope="module")
def data() -> Onboarding:
    """100 companies known to Tryton and the CRM, 30 CRM decoys, 30 parties alone."""
    return generate(pairs=PAIRS, decoys=30, seed=11)


@pytest.fixture(scope="module")
def party_tryton(
    data: Onboarding, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OnboardingTryton]:
    """A running trytond over a fresh copy of the seed plus the generated parties."""
    workdir = tmp_path_factory.mktemp("tryton-onboarding")
    parties = [
        {
            "code": f"P-{c.key}",
            "name": c.name,
            "vat": c.vat,
            "postcode": c.postcode,
            "city": c.city,
            "email": c.email,
        }
        for c in data.erp
    ]
    (workdir / "onboarding-parties.json").write_text(json.dumps(parties), encoding="utf-8")
    server = OnboardingTryton(workdir)
    server.start()
    os.environ[PASSWORD_ENV] = server.password
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def systems(
    party_tryton: OnboardingTryton, data: Onboarding, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, Source], LinkStore]]:
    """Tryton (its adapter) and the CRM (SQL source), and an empty link map."""
    crm = await serve(tmp_path, "crm", "crm", "account", CRM_SPEC, data.crm)
    config = TrytonConfig(
        kind=["erp", "timesheet"],
        adapter="tryton",
        url=party_tryton.url,
        database=party_tryton.database,
        auth={"username": "admin", "password_env": PASSWORD_ENV},
    )
    sources: dict[str, Source] = {"tryton": TrytonSource("tryton", config), "crm": crm.source()}
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    store = LinkStore.from_url(url)
    try:
        yield sources, store
    finally:
        await store.close()
        for source in sources.values():
            await source.aclose()


async def test_browse_reads_parties_with_their_identifiers(
    systems: tuple[dict[str, Source], LinkStore], data: Onboarding
) -> None:
    sources, _ = systems
    tryton = sources["tryton"]
    assert isinstance(tryton, TrytonSource)
    seen: dict[str, Any] = {}
    after = None
    while True:
        page = await tryton.browse("customer", None, after, 40)
        for candidate in page.candidates:
            assert candidate.key not in seen
            seen[candidate.key] = candidate
        if page.next is None:
            break
        after = page.next
    for company in data.erp:
        party = seen[f"P-{company.key}"]
        assert party.name == company.name and party.vat == company.vat
        assert party.postcode == company.postcode and party.city == company.city
        domain = company.email.split("@")[1] if company.email else None
        assert party.email_domain == domain
    assert not any(c.key.startswith("DUP-") for c in seen.values())  # merged: inactive

    one = data.erp[0]
    found = await tryton.browse("customer", one.name.split()[0], None, 100)
    assert f"P-{one.key}" in {c.key for c in found.candidates}


async def test_suggestions_between_the_crm_and_tryton(
    systems: tuple[dict[str, Source], LinkStore], data: Onboarding
) -> None:
    sources, store = systems
    found = await link_suggestions(sources, store, "customer", "crm", "tryton", first=1000)
    proposed = {s.from_record.key: s.to_record.key for s in found}
    truth = {crm: f"P-{erp}" for crm, erp in data.truth.items()}
    right = sum(1 for crm, party in proposed.items() if truth.get(crm) == party)
    log.info("Tryton: precision %.3f recall %.3f", right / len(proposed), right / len(truth))
    assert right / len(proposed) >= 0.97
    assert right / len(truth) >= 0.93
    assert not set(proposed) & set(data.decoys)


async def test_dangling_links_in_tryton(
    systems: tuple[dict[str, Source], LinkStore],
    party_tryton: OnboardingTryton,
    data: Onboarding,
) -> None:
    sources, store = systems
    codes = [f"P-{c.key}" for c in data.erp[1:6]]
    merged = party_tryton.scenario["merged"]
    for code in [*codes, merged["source"]]:
        await store.create_entity("customer", {"tryton": [code]}, actor="test")
    clean = await check_dangling(sources, store, systems=["tryton"])
    assert [(d.key, d.problem, d.replaced_by) for d in clean.dangling] == [
        (merged["source"], "merged", merged["into"])
    ]

    gone, closed = codes[0], codes[1]
    [gone_id] = [
        p["id"] for p in party_tryton.search_read("party.party", [["code", "=", gone]], ["id"])
    ]
    [closed_id] = [
        p["id"] for p in party_tryton.search_read("party.party", [["code", "=", closed]], ["id"])
    ]
    party_tryton.call("model.party.party.delete", [gone_id])
    party_tryton.call("model.party.party.write", [closed_id], {"active": False})
    before = await store.page_entities("customer", limit=100)
    report = await check_dangling(sources, store, systems=["tryton"])
    assert await store.page_entities("customer", limit=100) == before
    assert report.checked == len(codes) + 1
    assert sorted((d.key, d.problem) for d in report.dangling) == sorted(
        [(gone, "vanished"), (closed, "closed"), (merged["source"], "merged")]
    )
