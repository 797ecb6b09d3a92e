"""Onboarding through Keylink's GraphQL over real HTTP, in front of an ERP and a CRM
database read live through the SQL source: browse, suggestions accepted and rejected (and
never proposed again), the admin role, misspelt names refused with the valid ones, and the
dangling-link check, which finds keys removed upstream and changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.db import create_engine
from linkmap.migrate import upgrade_async
from tests.onboarding.generate import Onboarding, generate
from tests.onboarding.upstreams import CRM_SPEC, ERP_SPEC, Upstream, delete_rows, serve
from tests.support.servers import ServerThread

ADMIN = {"X-Keylink-Roles": "admin"}
ANALYST = {"X-Keylink-Roles": "analyst"}

SUGGEST = """query($first: Int!) {
  linkSuggestions(kind: "customers", from: "crm", to: "erp", first: $first) {
    kind score reasons
    from { system key name linked }
    to { system key name vat postcode linked }
  }
}"""
DECIDE = """mutation($verb: Boolean!, $from: SystemKeyInput!, $to: SystemKeyInput!) {
  accept: acceptSuggestion(kind: "customer", from: $from, to: $to) @include(if: $verb) {
    entityId created
  }
  reject: rejectSuggestion(kind: "customer", from: $from, to: $to) @skip(if: $verb) {
    remembered
  }
}"""
DANGLING = """{ danglingLinks {
  checked dangling { entityId kind system key problem replacedBy }
  unchecked { system kind reason }
} }"""


@dataclass
class Keylink:
    """The gateway's client, its two systems, the link map's URL and the data."""

    client: httpx.AsyncClient
    erp: Upstream
    crm: Upstream
    linkmap_url: str
    data: Onboarding


@pytest.fixture
async def keylink(tmp_path: Path) -> AsyncIterator[Keylink]:
    """A Keylink over a generated ERP and CRM (SQLite, SQL source), empty link map."""
    data = generate(pairs=60, decoys=20, seed=3)
    erp = await serve(tmp_path, "erp", "erp", "customer", ERP_SPEC, data.erp)
    crm = await serve(tmp_path, "crm", "crm", "account", CRM_SPEC, data.crm)
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    settings = load_settings(
        overrides={
            "linkmap": {"url": url, "migrate_on_start": False},
            "cache": {"url": "none"},
            "rate_limit": {"enabled": False},
            "systems": {"erp": erp.settings_entry(), "crm": crm.settings_entry()},
        }
    )
    server = ServerThread(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=ADMIN) as client:
            yield Keylink(client, erp, crm, url, data)
    finally:
        await asyncio.to_thread(server.stop)


async def _post(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None, **variables: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _ask(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await _post(client, query, **variables)
    assert not body.get("errors"), body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def _link_map(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table: [
                    tuple(row)
                    for row in await conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
                ]
                for table in (
                    "entities",
                    "entity_keys",
                    "link_history",
                    "link_changes",
                    "match_rejections",
                )
            }
    finally:
        await engine.dispose()


async def test_browse_pages_through_a_system_marked_linked_or_not(keylink: Keylink) -> None:
    query = """query($after: String) { browse(system: "erp", kind: "customers", first: 25,
      after: $after) { nodes { key name vat postcode emailDomain linked entityId }
      endCursor hasNextPage } }"""
    keys: list[str] = []
    after = None
    while True:
        page = (await _ask(keylink.client, query, after=after))["browse"]
        keys.extend(n["key"] for n in page["nodes"])
        assert all(not n["linked"] and n["entityId"] is None for n in page["nodes"])
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert keys == sorted(c.key for c in keylink.data.erp)

    one = keylink.data.erp[0]
    word = one.name.split()[0]
    found = await _ask(
        keylink.client,
        'query($s: String) { browse(system: "erp", kind: "customer", search: $s) '
        "{ nodes { key } } }",
        s=word,
    )
    assert one.key in {n["key"] for n in found["browse"]["nodes"]}


async def test_only_admins_and_only_configured_names(keylink: Keylink) -> None:
    body = await _post(
        keylink.client, '{ browse(system: "erp", kind: "customer") { nodes { key } } }', ANALYST
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await _post(
        keylink.client, '{ browse(system: "erpp", kind: "customer") { hasNextPage } }'
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "'erpp'" in error["message"] and "erp, crm" in error["message"]
    body = await _post(
        keylink.client, '{ browse(system: "erp", kind: "invoices") { hasNextPage } }'
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert "customer, supplier, project, order" in error["message"]
    body = await _post(keylink.client, '{ browse(system: "crm", kind: "orders") { hasNextPage } }')
    assert body["errors"][0]["extensions"]["code"] == "NOT_SUPPORTED"


async def test_accepted_links_and_rejections_are_remembered(keylink: Keylink) -> None:
    found = (await _ask(keylink.client, SUGGEST, first=200))["linkSuggestions"]
    assert len(found) >= 50
    truth = keylink.data.truth
    assert all(truth.get(s["from"]["key"]) == s["to"]["key"] for s in found)
    assert all(s["reasons"] and s["kind"] == "customer" for s in found)
    accepted, rejected = found[0], found[1]
    pair = {"from": {"system": "crm", "key": accepted["from"]["key"]},
            "to": {"system": "erp", "key": accepted["to"]["key"]}}  # fmt: skip
    done = await _ask(keylink.client, DECIDE, verb=True, **pair)
    assert done["accept"]["created"] is True
    again = await _ask(keylink.client, DECIDE, verb=True, **pair)
    assert again["accept"] == {"entityId": done["accept"]["entityId"], "created": False}
    pair = {"from": {"system": "erp", "key": rejected["to"]["key"]},
            "to": {"system": "crm", "key": rejected["from"]["key"]}}  # fmt: skip
    assert (await _ask(keylink.client, DECIDE, verb=False, **pair))["reject"]["remembered"]
    assert not (await _ask(keylink.client, DECIDE, verb=False, **pair))["reject"]["remembered"]

    after = (await _ask(keylink.client, SUGGEST, first=200))["linkSuggestions"]
    keys = {(s["from"]["key"], s["to"]["key"]) for s in after}
    assert (accepted["from"]["key"], accepted["to"]["key"]) not in keys
    assert (rejected["from"]["key"], rejected["to"]["key"]) not in keys
    assert len(after) == len(found) - 2

    engine = create_engine(keylink.linkmap_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT system, key, provenance FROM entity_keys"))
            ).all()
    finally:
        await engine.dispose()
    assert sorted(rows) == sorted(
        [
            ("crm", accepted["from"]["key"], "suggestion"),
            ("erp", accepted["to"]["key"], "suggestion"),
        ]
    )
    browse = await _ask(
        keylink.client,
        'query($s: String) { browse(system: "erp", kind: "customer", search: $s) '
        "{ nodes { key linked } } }",
        s=accepted["to"]["key"],
    )
    assert {"key": accepted["to"]["key"], "linked": True} in browse["browse"]["nodes"]


async def test_dangling_links_found_and_nothing_changed(keylink: Keylink) -> None:
    found = (await _ask(keylink.client, SUGGEST, first=10))["linkSuggestions"]
    for suggestion in found:
        pair = {"from": {"system": "crm", "key": suggestion["from"]["key"]},
                "to": {"system": "erp", "key": suggestion["to"]["key"]}}  # fmt: skip
        await _ask(keylink.client, DECIDE, verb=True, **pair)
    clean = (await _ask(keylink.client, DANGLING))["danglingLinks"]
    assert clean == {"checked": 20, "dangling": [], "unchecked": []}

    gone_erp = [s["to"]["key"] for s in found[:2]]
    gone_crm = [found[5]["from"]["key"]]
    await delete_rows(keylink.erp, "customer", gone_erp)
    await delete_rows(keylink.crm, "account", gone_crm)
    before = await _link_map(keylink.linkmap_url)
    report = (await _ask(keylink.client, DANGLING))["danglingLinks"]
    after = await _link_map(keylink.linkmap_url)

    assert after == before
    assert report["checked"] == 20
    assert sorted((d["system"], d["key"], d["problem"]) for d in report["dangling"]) == sorted(
        [("erp", k, "VANISHED") for k in gone_erp] + [("crm", k, "VANISHED") for k in gone_crm]
    )
