"""Request bodies are parsed once (gateway.http.graphql) and what that parser refuses is
refused with 400 on every path: /graphql, /export, persisted queries, the response cache.

A body in UTF-8 with a byte-order mark, or in UTF-16, used to be read by strawberry (Python's
``json``, which guesses encodings) but not by the persisted-query middleware or the
response cache (orjson): the safelist and the bump after a mutation were skipped for it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.auth.principal import Principal
from gateway.demo_mode import demo_systems
from gateway.export.endpoint import export_router
from gateway.http.persisted import query_hash
from gateway.settings import load_settings
from tests.export.connection_app import build_schema
from tests.support.servers import ServerThread

KNOWN = '{ customer(system: "erp", key: "10001") { keys { key } } }'
UNKNOWN = '{ customer(system: "erp", key: "10002") { keys { key } } }'
JSON_HEADERS = {"content-type": "application/json"}
EXPORTER = {"X-Keylink-Roles": "analyst"}

ENCODINGS = ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
"""Encodings Python's ``json`` reads from bytes and the gateway's parser refuses."""


def encoded(payload: dict[str, Any], encoding: str) -> bytes:
    return json.dumps(payload).encode(encoding)


@pytest.fixture(scope="module")
def enforcing(
    live_upstreams: DemoUpstreams, demo_linkmap_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A gateway enforcing a persisted-query safelist that holds only ``KNOWN``, with the
    response cache on."""
    manifest = tmp_path_factory.mktemp("persisted") / "operations.json"
    manifest.write_text(json.dumps({query_hash(KNOWN): KNOWN}), encoding="utf-8")
    settings = load_settings(
        overrides={
            "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
            "cache": {"url": "memory://"},
            "rate_limit": {"enabled": False},
            "persisted_queries": {"mode": "enforce", "manifest": str(manifest)},
            "systems": demo_systems(live_upstreams.urls),
        }
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", ["/graphql", "/export"])
def test_persisted_query_enforcement_cannot_be_skipped_by_the_body_encoding(
    enforcing: str, encoding: str, path: str
) -> None:
    response = httpx.post(
        enforcing + path,
        content=encoded({"query": UNKNOWN}, encoding),
        headers={**JSON_HEADERS, **EXPORTER},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "UTF-8" in body["errors"][0]["message"]


def test_the_safelist_still_holds_for_plain_utf8(enforcing: str) -> None:
    known = httpx.post(enforcing + "/graphql", json={"query": KNOWN}, timeout=10)
    unknown = httpx.post(enforcing + "/graphql", json={"query": UNKNOWN}, timeout=10)
    assert known.status_code == 200 and "errors" not in known.json(), known.text
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_mutation_the_response_cache_cannot_read_is_refused_not_run(
    enforcing: str, encoding: str
) -> None:
    # the mutation is in the safelist's blind spot only if the parsers disagree; with one
    # parser it is refused before anything runs (so no write escapes the cache's bump)
    mutation = (
        'mutation { removeOrderLine(input: {order: {system: "erp", key: "nope"}, '
        'line: "1", version: 1}) { __typename } }'
    )
    response = httpx.post(
        enforcing + "/graphql",
        content=encoded({"query": mutation}, encoding),
        headers={**JSON_HEADERS, "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert "data" not in response.json()


NESTED = b"[" * 100_000 + b"]" * 100_000
MALFORMED: dict[str, bytes] = {
    "invalid UTF-8": b'{"query": "{ __typename \xff }"}',
    "a lone surrogate": b'{"query": "\\ud800"}',
    "null": b"null",
    "a number": b"42",
    "a string": b'"{ __typename }"',
    "true": b"true",
    "nested 100k deep": NESTED,
    "an object nested 100k deep": b'{"query": "{ __typename }", "variables": '
    + b'{"a":' * 100_000
    + b"1"
    + b"}" * 100_001,
    "UTF-8 with a byte-order mark": b'\xef\xbb\xbf{"query": "{ __typename }"}',
    "UTF-16": '{"query": "{ __typename }"}'.encode("utf-16"),
    "empty": b"",
    "truncated": b'{"query": "{ __typ',
    "NaN": b'{"query": "{ __typename }", "variables": {"a": NaN}}',
    "a query that is no string": b'{"query": 5}',
    "variables that are no object": b'{"query": "{ __typename }", "variables": "x"}',
    "an operation name that is no string": b'{"query": "{ __typename }", "operationName": 1}',
    "extensions that are no object": b'{"query": "{ __typename }", "extensions": []}',
}


@pytest.mark.parametrize("case", list(MALFORMED))
@pytest.mark.parametrize("path", ["/graphql", "/export"])
def test_malformed_bodies_get_400_and_a_clear_message(
    gateway_url: str, path: str, case: str
) -> None:
    response = httpx.post(
        gateway_url + path, content=MALFORMED[case], headers={**JSON_HEADERS}, timeout=10
    )
    assert response.status_code == 400, (case, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT"
    message = error["message"]
    assert any(word in message for word in ("JSON", "object", "string", "empty")), message
    assert "Traceback" not in response.text and "Unexpected error" not in message


def test_a_batch_is_refused_on_every_path(gateway_url: str) -> None:
    for path in ("/graphql", "/export"):
        response = httpx.post(
            gateway_url + path, json=[{"query": "{ __typename }"}] * 2, timeout=10
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BATCHING_NOT_ENABLED"


FRAGMENT_CYCLE = (
    "query Cycle { ...A } fragment A on Query { ...B } fragment B on Query { customers(first: 1)"
    " { pageInfo { hasNextPage endCursor } nodes { ...A } } }"
)
SELF_SPREAD = "{ ...A } fragment A on Query { __typename ...A }"
BOMB = (
    "{ ...F0 } "
    + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    + " fragment F30 on Query { __typename }"
)


CHAIN = (
    '{ customer(system: "erp", key: "10001") { ...C0 } } '
    + " ".join(f"fragment C{i} on Customer {{ ...C{i + 1} }}" for i in range(1400))
    + " fragment C1400 on Customer { id }"
)


@pytest.mark.parametrize(
    ("document", "codes", "words"),
    [
        (FRAGMENT_CYCLE, {"BAD_INPUT", "GRAPHQL_VALIDATION_FAILED"}, "within itself"),
        (SELF_SPREAD, {"BAD_INPUT", "GRAPHQL_VALIDATION_FAILED"}, "within itself"),
        (BOMB, {"LIMIT_EXCEEDED"}, "fields"),
        (CHAIN, {"LIMIT_EXCEEDED"}, "nested"),
    ],
    ids=["cycle", "self-spread", "bomb", "chain of 1400"],
)
def test_circular_fragments_and_fragment_bombs_on_export_get_400(
    gateway_url: str, document: str, codes: set[str], words: str
) -> None:
    response = httpx.post(
        gateway_url + "/export", json={"query": document}, headers=EXPORTER, timeout=10
    )
    assert response.status_code == 400, response.text[:300]
    assert response.elapsed.total_seconds() < 1
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] in codes
    assert words in error["message"], error["message"]


async def test_the_export_router_alone_parses_the_same_way() -> None:
    """Mounted without the gateway's middleware (as tests/export mounts it), the export
    router parses the body with the same parser, so it refuses the same bodies."""
    app = FastAPI()
    app.include_router(export_router(build_schema(3), 5.0))

    @app.middleware("http")
    async def analyst(request: Request, call_next: Any) -> Any:
        request.state.principal = Principal("analyst-1", frozenset({"analyst"}))
        return await call_next(request)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for case in ("null", "UTF-16", "nested 100k deep"):
            response = await client.post("/export", content=MALFORMED[case], headers=JSON_HEADERS)
            assert response.status_code == 400, (case, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
