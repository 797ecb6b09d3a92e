"""S1: fragment bombs, cycles and chains are refused at once, over real HTTP.

A document of n fragments, each spreading the previous one twice, is 2^(n-1) copies of
the first fragment once spread in place: 19 of them are 1.2 KB of text. Every limit
(depth, aliases, cost, the document's expanded size) is measured in time linear in the
document, and a document whose expanded size is over the limit is refused before
anything else walks it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from gateway.http.cost import operation_cost
from gateway.http.limits import LimitSettings, limit_extensions
from resolvers.schema import build_schema

HANG = 10.0
"""Seconds after which a check counts as hung. Not a speed target (the bench measures
speed): the documents below are 2^18 to 2^39 copies of a fragment once spread, so a walk
exponential in the document would not end in any test run, while the linear checks take
milliseconds. The margin keeps a loaded machine from failing a correct gateway."""

FIRST = (
    "fragment F0 on Customer { id keys { system key } account { name segment } "
    "erp { name currency } }"
)


def doubling_fragments(count: int) -> str:
    """The issue's document: ``count`` fragments, each spreading the previous one twice."""
    spreads = [f"fragment F{i} on Customer {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, count)]
    operation = f'query Bomb {{ customer(system: "erp", key: "10001") {{ ...F{count - 1} }} }}'
    return " ".join([operation, FIRST, *spreads])


def fragment_chain(count: int) -> str:
    """``count`` fragments, each spreading the next: small, but nested ``count`` deep."""
    chain = [f"fragment C{i} on Customer {{ ...C{i + 1} }}" for i in range(count - 1)]
    last = f"fragment C{count - 1} on Customer {{ id }}"
    return " ".join(['{ customer(system: "erp", key: "10001") { ...C0 } }', *chain, last])


CYCLES = {
    "itself": 'fragment A on Customer { id ...A } { customer(system: "erp", key: "1") { ...A } }',
    "through another": (
        "fragment A on Customer { id ...B } fragment B on Customer { keys { key } ...A } "
        '{ customer(system: "erp", key: "1") { ...A } }'
    ),
    "inside a bomb": doubling_fragments(12).replace(
        "fragment F0 on Customer { id", "fragment F0 on Customer { id ...F11"
    ),
    "in an unused fragment": (
        "fragment A on Customer { ...B } fragment B on Customer { ...A } "
        '{ customer(system: "erp", key: "1") { id } }'
    ),
}


DEEP_BUT_SMALL = """
query Deep { customer(system: "erp", key: "10001") { ...Ids ...L1 ...Ids } }
fragment Ids on Customer { id keys { system key } }
fragment L1 on Customer { id projects { ...L2 } }
fragment L2 on Project { customer { ...L3 } }
fragment L3 on Customer { id projects { ...L4 } }
fragment L4 on Project { customer { ...L5 } }
fragment L5 on Customer { id projects { ...L6 } }
fragment L6 on Project { customer { ...L7 } }
fragment L7 on Customer { id projects { ...L8 } }
fragment L8 on Project { customer { ...L9 } }
fragment L9 on Customer { id ... on Customer { erp { ...Name } } }
fragment Name on ErpCustomer { name }
"""
"""A legitimate document at the depth limit: ``name`` is 10 levels below ``customer``
(customer -> projects -> customer ... -> erp -> name), each level its own fragment, and a
fragment spread twice."""


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def timed_post(
    client: httpx.AsyncClient, path: str, query: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.post(path, json={"query": query}, timeout=2 * HANG, **kwargs)
    return response, time.perf_counter() - started


def within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()``'s result, failing the test if it takes longer than ``seconds`` (the work
    goes on in a daemon thread then: a CPU-bound call cannot be interrupted)."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    started = time.perf_counter()
    thread.start()
    thread.join(seconds)
    assert done, f"still running after {seconds} s"
    assert time.perf_counter() - started < seconds
    return done[0]


def test_the_issues_document_is_small() -> None:
    assert len(doubling_fragments(19).encode()) < 1300


@pytest.mark.parametrize("count", [19, 24, 40])
async def test_doubling_fragments_are_refused_without_expanding_them(
    gateway: httpx.AsyncClient, upstream_stats: dict[str, httpx.Client], count: int
) -> None:
    response, elapsed = await timed_post(gateway, "/graphql", doubling_fragments(count))
    assert elapsed < HANG, elapsed
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert "fields once its fragments are spread" in body["errors"][0]["message"]
    for client in upstream_stats.values():
        assert client.get("/_stats").json()["total"] == 0


@pytest.mark.parametrize("count", [19, 24, 40])
def test_validation_refuses_doubling_fragments_without_expanding_them(count: int) -> None:
    schema = build_schema(limit_extensions(LimitSettings(), dev=False), suggestions=False)
    result = within(HANG, lambda: asyncio.run(schema.execute(doubling_fragments(count))))
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["LIMIT_EXCEEDED"]


@pytest.mark.parametrize("count", [19, 24, 40])
def test_the_cost_of_doubling_fragments_is_computed_in_linear_time(count: int) -> None:
    document = parse(doubling_fragments(count))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    schema = build_schema([], suggestions=False)._schema
    cost = within(HANG, lambda: operation_cost(schema, operation, fragments, {}, 10))
    # customer (1) + 2^(count-1) copies of F0: id 1, keys 1 + 10 * 2, account 3, erp 3
    assert cost == 1 + 2 ** (count - 1) * 28


@pytest.mark.parametrize("count", [24, 40])
def test_depth_and_aliases_of_doubling_fragments_are_measured_in_linear_time(count: int) -> None:
    from gateway.http.limits import document_errors

    aliased = doubling_fragments(count).replace("{ id keys", "{ a: id keys")
    aliased = aliased.replace("erp { name currency }", "erp { creditLimit { amount } }")
    limits = LimitSettings(max_expanded_fields=2**62, max_depth=2)
    document = parse(aliased)
    errors = within(HANG, lambda: document_errors(document, limits))
    messages = [e.message for e in errors]
    assert messages == [
        "'Bomb' exceeds maximum operation depth of 2",
        f"{2 ** (count - 1)} aliases found. Allowed: 30",
    ]


@pytest.mark.parametrize("case", list(CYCLES))
async def test_fragment_cycles_are_refused_as_validation_errors(
    gateway: httpx.AsyncClient, case: str
) -> None:
    response, elapsed = await timed_post(gateway, "/graphql", CYCLES[case])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None
    assert set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}, body
    assert all("within itself" in e["message"] for e in body["errors"]), body
    assert elapsed < HANG


async def test_long_fragment_chains_are_refused_without_recursion_error(
    gateway: httpx.AsyncClient,
) -> None:
    response, elapsed = await timed_post(gateway, "/graphql", fragment_chain(1400))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None
    assert codes(body) == ["LIMIT_EXCEEDED"], body
    assert "nested 1402 deep; at most 200" in body["errors"][0]["message"]
    assert elapsed < HANG


async def test_a_chain_of_fragments_within_the_nesting_bound_passes(
    gateway: httpx.AsyncClient,
) -> None:
    response, _ = await timed_post(gateway, "/graphql", fragment_chain(150))
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["customer"]["id"]


async def test_a_deep_but_small_document_still_passes(gateway: httpx.AsyncClient) -> None:
    response, elapsed = await timed_post(gateway, "/graphql", DEEP_BUT_SMALL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["customer"]["id"]
    assert "projects" in body["data"]["customer"]
    assert elapsed < HANG


async def test_depth_counts_through_fragments(gateway: httpx.AsyncClient) -> None:
    too_deep = DEEP_BUT_SMALL.replace(
        "fragment Name on ErpCustomer { name }",
        "fragment Name on ErpCustomer { creditLimit { amount } }",
    )
    response, _ = await timed_post(gateway, "/graphql", too_deep)
    body = response.json()
    assert codes(body) == ["LIMIT_EXCEEDED"]
    assert "'Deep' exceeds maximum operation depth of 10" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doubling_fragments(40), id="bomb"),
        pytest.param(CYCLES["through another"], id="cycle"),
        pytest.param(fragment_chain(1400), id="chain"),
    ],
)
async def test_export_refuses_bombs_cycles_and_chains_before_planning(
    gateway: httpx.AsyncClient, document: str
) -> None:
    response, elapsed = await timed_post(
        gateway, "/export?format=csv", document, headers={"X-Keylink-Roles": "analyst"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"][0]["extensions"]["code"] in (
        "BAD_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
        "LIMIT_EXCEEDED",
    )
    assert elapsed < HANG


def wide_selection(copies: int) -> str:
    """One selection set holding ``copies`` copies of the same field: what graphql-core's
    check that fields can be merged compares pairwise."""
    return '{ customer(system: "erp", key: "10001") { ' + "keys { key } " * copies + "} }"


def many_spreads(count: int) -> str:
    """``count`` small fragments, all spread into one selection set."""
    fragments = [f"fragment S{i} on Customer {{ id }}" for i in range(count)]
    spreads = " ".join(f"...S{i}" for i in range(count))
    return " ".join(['{ customer(system: "erp", key: "10001") { ' + spreads + " } }", *fragments])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (wide_selection(3500), "A selection set holds 3500 fields"),
        (many_spreads(1300), "A selection set holds 1300 fields"),
        (many_spreads(300), "A selection set spreads 300 fragments"),
        (wide_selection(200), "A selection set repeats fields too heavily"),
    ],
    ids=[
        "3500 copies of one field",
        "1300 fragments in one set",
        "300 fragments in one set",
        "200 copies of one field",
    ],
)
def test_a_selection_too_wide_to_compare_pairwise_is_refused_at_once(
    document: str, message: str
) -> None:
    schema = build_schema(limit_extensions(LimitSettings(), dev=False), suggestions=False)
    result = within(HANG, lambda: asyncio.run(schema.execute(document)))
    assert result.data is None
    assert [e.extensions["code"] for e in result.errors] == ["LIMIT_EXCEEDED"]
    assert result.errors[0].message.startswith(message)


def test_a_wide_but_ordinary_selection_still_passes_validation() -> None:
    schema = build_schema(limit_extensions(LimitSettings(), dev=False), suggestions=False)
    document = wide_selection(60)
    shape_errors = [
        e
        for e in within(HANG, lambda: asyncio.run(schema.execute(document))).errors or []
        if e.extensions and e.extensions.get("code") == "LIMIT_EXCEEDED"
    ]
    assert shape_errors == []
