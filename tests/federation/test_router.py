"""Keylink behind a federation router (Apollo Gateway), beside a subgraph that defines the
same ``PageInfo`` and ``Money`` value types: what a client of the router gets when Keylink
answers 429, when the router fetches 200 entities at once, when a system fails, and which
subgraph the router reads an entity's ``keys`` from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from linkmap.records import Entity
from tests.conftest import repo_root
from tests.federation.billing_subgraph import SCHEMA as BILLING_SCHEMA
from tests.federation.billing_subgraph import billing_app, last_payment_of
from tests.federation.composition import Composer
from tests.federation.links import linked_in
from tests.federation.notes_subgraph import SCHEMA as NOTES_SCHEMA
from tests.federation.notes_subgraph import notes_app
from tests.support.gateways import demo_gateway
from tests.support.servers import ServerThread

ROUTER_HEADERS = {"X-Keylink-Principal": "router", "X-Keylink-Roles": "analyst"}

Operation = tuple[str, dict[str, Any]]


@pytest.fixture(scope="module")
def subgraph_urls() -> Iterator[dict[str, str]]:
    """The notes and billing subgraphs on loopback: name -> GraphQL endpoint."""
    servers = {"notes": ServerThread(notes_app()), "billing": ServerThread(billing_app())}
    for server in servers.values():
        server.start()
    yield {name: f"{server.url}/graphql" for name, server in servers.items()}
    for server in servers.values():
        server.stop()


def compose_with(composer: Composer, keylink_url: str, subgraph_urls: dict[str, str]) -> str:
    """The supergraph of Keylink at ``keylink_url`` (its served SDL), notes and billing."""
    response = httpx.post(
        f"{keylink_url}/graphql",
        json={"query": "{ _service { sdl } }"},
        headers=ROUTER_HEADERS,
        timeout=30,
    )
    result = composer.compose(
        {
            "keylink": response.json()["data"]["_service"]["sdl"],
            "notes": NOTES_SCHEMA.as_str(),
            "billing": BILLING_SCHEMA.as_str(),
        },
        urls={"keylink": f"{keylink_url}/graphql", **subgraph_urls},
    )
    assert result.errors == []
    assert result.supergraph_sdl is not None
    return result.supergraph_sdl


@pytest.fixture(scope="module")
def supergraph(gateway_url: str, subgraph_urls: dict[str, str], composer: Composer) -> str:
    """The supergraph over the session's gateway."""
    return compose_with(composer, gateway_url, subgraph_urls)


def through_router(
    composer: Composer, supergraph: str, *operations: Operation
) -> list[dict[str, Any]]:
    """Apollo Gateway's answers (``data``, ``errors``) to ``operations``, in order."""
    return composer.execute(
        supergraph, [{"query": q, "variables": v} for q, v in operations], ROUTER_HEADERS
    )


def test_keylink_and_a_subgraph_with_its_own_pageinfo_and_money_answer_together(
    composer: Composer, supergraph: str
) -> None:
    query = """
    {
      payments(first: 2) { pageInfo { hasNextPage endCursor } nodes { amount { amount currency } } }
      customers(first: 2) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id lastPayment { amount currency } } }
      }
    }
    """
    [result] = through_router(composer, supergraph, (query, {}))

    assert result["errors"] == []
    payments = result["data"]["payments"]
    assert payments["pageInfo"] == {"hasNextPage": True, "endCursor": "PAY-2"}
    assert payments["nodes"][0]["amount"] == {"amount": "100.00", "currency": "EUR"}
    customers = result["data"]["customers"]
    edges = customers["edges"]
    assert customers["pageInfo"]["startCursor"] == edges[0]["cursor"]
    assert customers["pageInfo"]["endCursor"] == edges[-1]["cursor"]
    for edge in edges:
        paid = last_payment_of(edge["node"]["id"])
        assert edge["node"]["lastPayment"] == {"amount": str(paid.amount), "currency": "EUR"}


def test_an_entity_fetch_of_200_representations_answers_every_one(
    composer: Composer,
    supergraph: str,
    live_upstreams: DemoUpstreams,
    demo_entities: dict[str, list[Entity]],
    upstream_stats: dict[str, httpx.Client],
) -> None:
    customers = linked_in(demo_entities, "customer", {"erp", "crm"})[:200]
    assert len(customers) == 200
    query = """
    query($ids: [ID!]!) {
      notedCustomers(ids: $ids) {
        id
        notes
        account { name }
        erp { name creditLimit { amount currency } }
        financialOverview { overdueCount openBalance { amount currency } }
      }
    }
    """
    [result] = through_router(
        composer, supergraph, (query, {"ids": [str(c.id) for c in customers]})
    )

    assert result["errors"] == []
    found = result["data"]["notedCustomers"]
    data = live_upstreams.dataset
    assert [c["id"] for c in found] == [str(c.id) for c in customers]
    for entity, customer in zip(customers, found, strict=True):
        assert customer["account"]["name"] == data.accounts[entity.keys["crm"][0]].name
        assert customer["erp"]["name"] == data.customers[entity.keys["erp"][0]].name
        assert customer["financialOverview"] is not None
    # the 200 are read together: one upstream call per operation and batch of 100 keys
    # (the demo specs' batch_size), not one per customer
    calls = {name: c.get("/_stats").json()["requests"] for name, c in upstream_stats.items()}
    assert calls["crm"] == {"/accounts": 2}, calls
    assert calls["erp"] == {"/customers": 2, "/invoices": 2}, calls


@pytest.fixture(scope="module")
def limited_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """A gateway allowing 2 operations per minute per principal."""
    with demo_gateway(live_upstreams, demo_linkmap_url, rate_limit={"per_minute": 2}) as url:
        yield url


def forwarded_codes(error: dict[str, Any]) -> set[str]:
    """The codes of ``error`` and of the GraphQL errors in the subgraph answer the router
    attached to it (Apollo Gateway puts a non-2xx answer under ``extensions.response``)."""
    extensions = error.get("extensions") or {}
    codes = {extensions.get("code")}
    body = (extensions.get("response") or {}).get("body")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict):
        codes |= {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    return {c for c in codes if isinstance(c, str)}


def test_a_rate_limited_request_reaches_the_client_as_429_rate_limited(
    composer: Composer,
    limited_gateway: str,
    subgraph_urls: dict[str, str],
    demo_entities: dict[str, list[Entity]],
) -> None:
    limited = compose_with(composer, limited_gateway, subgraph_urls)  # the SDL costs one
    key = linked_in(demo_entities, "customer", {"crm"})[0].keys["crm"][0]
    query = 'query($k: String!) { customer(system: "crm", key: $k) { id account { name } } }'

    answers = through_router(composer, limited, (query, {"k": key}), (query, {"k": key}))

    assert answers[0]["errors"] == [] and answers[0]["data"]["customer"] is not None
    refused = answers[1]
    assert refused["data"] is None or refused["data"]["customer"] is None
    [error] = refused["errors"]
    assert error["extensions"]["response"]["status"] == 429
    assert "RATE_LIMITED" in forwarded_codes(error), error


def test_a_failing_systems_state_reaches_the_client_through_the_router(
    composer: Composer,
    supergraph: str,
    live_upstreams: DemoUpstreams,
    upstream_stats: dict[str, httpx.Client],
    demo_entities: dict[str, list[Entity]],
) -> None:
    entity = linked_in(demo_entities, "customer", {"erp", "crm"})[0]
    live_upstreams.knobs["erp"].update(fault="503")  # reset by upstream_stats
    root = """
    query($k: String!) {
      customer(system: "crm", key: $k) { id account { name } erp { name } notes }
      sourceStatus { stale systems { system state code } }
    }
    """
    by_reference = "query($ids: [ID!]!) { notedCustomers(ids: $ids) { id erp { name } } }"

    first, second = through_router(
        composer,
        supergraph,
        (root, {"k": entity.keys["crm"][0]}),
        (by_reference, {"ids": [str(entity.id)]}),
    )

    customer = first["data"]["customer"]
    assert customer["erp"] is None
    assert customer["account"] is not None and customer["notes"]
    status = {s["system"]: s for s in first["data"]["sourceStatus"]["systems"]}
    assert status["erp"] == {"system": "erp", "state": "ERROR", "code": "SOURCE_UNAVAILABLE"}
    assert status["crm"]["state"] == "OK"
    assert first["data"]["sourceStatus"]["stale"] is False
    [error] = first["errors"]
    assert error["path"] == ["customer", "erp"]
    assert error["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert error["extensions"]["system"] == "erp"
    assert error["extensions"]["serviceName"] == "keylink"
    # a field Keylink answers in an entity fetch carries the same error extensions
    assert second["data"]["notedCustomers"] == [{"id": str(entity.id), "erp": None}]
    [error] = second["errors"]
    assert error["path"] == ["notedCustomers", 0, "erp"]
    assert (error["extensions"]["code"], error["extensions"]["system"]) == (
        "SOURCE_UNAVAILABLE",
        "erp",
    )


def test_keys_of_an_entity_referenced_by_keys_come_from_the_referencing_subgraph(
    composer: Composer, supergraph: str, demo_entities: dict[str, list[Entity]]
) -> None:
    project = linked_in(demo_entities, "project", {"erp", "timesheet"})[0]
    customer = linked_in(demo_entities, "customer", {"erp", "crm", "timesheet"})[0]
    timesheet_key = project.keys["timesheet"][0]
    all_project_keys = [{"system": s, "key": k} for s, ks in project.keys.items() for k in ks]
    all_customer_keys = [{"system": s, "key": k} for s, ks in customer.keys.items() for k in ks]

    by_keys, by_id, own_field = through_router(
        composer,
        supergraph,
        (
            "query($k: [String!]!) { timesheetProjects(keys: $k) { id keys { system key } } }",
            {"k": [timesheet_key]},
        ),
        (
            "query($ids: [ID!]!) { notedCustomers(ids: $ids) { keys { system key } } }",
            {"ids": [str(customer.id)]},
        ),
        (
            'query($k: String!) { project(system: "timesheet", key: $k) { keys { system key } } }',
            {"k": timesheet_key},
        ),
    )

    # referenced by `keys`: the router takes `keys` from the referencing subgraph
    assert by_keys["data"]["timesheetProjects"] == [
        {"id": str(project.id), "keys": [{"system": "timesheet", "key": timesheet_key}]}
    ]
    assert len(all_project_keys) > 1
    # referenced by `id`, or read through Keylink's own fields: Keylink's keys, all of them
    assert by_id["data"]["notedCustomers"] == [{"keys": all_customer_keys}]
    assert own_field["data"]["project"] == {"keys": all_project_keys}


def test_the_readme_says_where_the_router_reads_keys_from() -> None:
    readme = (repo_root() / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Apollo Federation", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.split())
    assert "the router reads `keys` from the referencing subgraph" in flat
    assert "selects them by `id`" in flat
