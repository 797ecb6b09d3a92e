"""GraphQL over HTTP (the GraphQL Foundation's specification): media types, status codes
and ``GET``, checked here by hand and by the specification's own audit suite.

The audit suite is npm ``graphql-http`` (its ``serverAudits``), pinned by
``node/package.json`` and ``node/package-lock.json`` and installed with ``npm ci`` into
``.cache/graphql-http`` (again whenever the lock file changes), run by node against a
gateway set up as ``keylink demo`` sets it up (API keys enforced). Every audit must pass,
MAYs included. Without node or npm that test skips with the reason, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import create_demo_key, demo_settings, seed_demo_links
from tests.conftest import repo_root
from tests.support.npm import install_pinned
from tests.support.secret_scan import remember
from tests.support.servers import ServerThread

NODE_PROJECT = Path(__file__).resolve().parent / "node"
GRAPHQL_RESPONSE = "application/graphql-response+json"

PARSE_FAILURE = "{"
VALIDATION_FAILURE = "{ noSuchFieldAnywhere }"
COERCION_FAILURE = ("query Coerce($id: ID!) { __typename }", {"id": None})
MUTATION = (
    'mutation { removeOrderLine(input: {order: {system: "erp", key: "nope"}, '
    'line: "1", version: 1}) { __typename } }'
)


def post(url: str, payload: Any, accept: str | None = None, **headers: str) -> httpx.Response:
    sent = {"content-type": "application/json", **headers}
    if accept is not None:
        sent["accept"] = accept
    return httpx.post(url + "/graphql", content=json.dumps(payload), headers=sent, timeout=10)


def test_graphql_response_json_is_answered_in_that_media_type(gateway_url: str) -> None:
    response = post(gateway_url, {"query": "{ __typename }"}, GRAPHQL_RESPONSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["data"] == {"__typename": "Query"}
    # preference by quality, */* counts for application/json
    preferred = f"application/json;q=0.5, {GRAPHQL_RESPONSE}"
    assert (
        post(gateway_url, {"query": "{ __typename }"}, preferred).headers["content-type"]
        == GRAPHQL_RESPONSE
    )
    for accept in (None, "*/*", "application/json", f"{GRAPHQL_RESPONSE};q=0.1, */*"):
        plain = post(gateway_url, {"query": "{ __typename }"}, accept)
        assert plain.headers["content-type"] == "application/json", accept


@pytest.mark.parametrize(
    "payload",
    [
        {"query": PARSE_FAILURE},
        {"query": VALIDATION_FAILURE},
        {"query": COERCION_FAILURE[0], "variables": COERCION_FAILURE[1]},
    ],
    ids=["parse", "validation", "variable coercion"],
)
def test_request_errors_under_graphql_response_json_are_400_without_data(
    gateway_url: str, payload: dict[str, Any]
) -> None:
    response = post(gateway_url, payload, GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    body = response.json()
    assert "data" not in body and body["errors"], body
    # under application/json the same failure stays 200 with an errors entry
    legacy = post(gateway_url, payload, "application/json")
    assert legacy.status_code == 200 and legacy.json()["errors"]


def test_field_errors_under_graphql_response_json_stay_200(gateway_url: str) -> None:
    query = '{ customer(system: "nope", key: "1") { id } }'
    response = post(gateway_url, {"query": query}, GRAPHQL_RESPONSE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" in body and body["errors"][0]["path"] == ["customer"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_post_without_a_json_content_type_is_refused_with_415(
    gateway_url: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = httpx.post(
        gateway_url + "/graphql",
        content=json.dumps({"query": "{ __typename }"}).encode(),
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 415, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in error["message"]


def test_queries_run_over_get_and_mutations_are_refused_with_405(gateway_url: str) -> None:
    variables = json.dumps({"name": "Query"})
    answer = httpx.get(
        gateway_url + "/graphql",
        params={
            "query": "query T($name: String!) { __type(name: $name) { name } }",
            "variables": variables,
        },
        headers={"accept": GRAPHQL_RESPONSE},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"__type": {"name": "Query"}}
    refused = httpx.get(
        gateway_url + "/graphql",
        params={"query": MUTATION},
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert refused.status_code == 405, refused.text
    assert refused.headers["allow"] == "POST"
    assert refused.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_missing_query_and_unknown_operation_answer_400_in_graphql_shape(
    gateway_url: str,
) -> None:
    for payload in (
        {"qeury": "{ __typename }"},
        {"query": "query A { __typename }", "operationName": "B"},
    ):
        response = post(gateway_url, payload, GRAPHQL_RESPONSE)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == GRAPHQL_RESPONSE
        assert response.json()["errors"][0]["message"]


# --- the specification's audit suite --------------------------------------------------


def install_audit(cache: Path) -> tuple[str, Path]:
    """node and the pinned ``graphql-http`` installed into ``cache`` (see
    ``tests.support.npm.install_pinned``)."""
    return install_pinned(NODE_PROJECT, cache, "the GraphQL-over-HTTP audit")


@pytest.fixture(scope="module")
async def demo_gateway_with_key(
    live_upstreams: DemoUpstreams, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, str]]:
    """A gateway set up as ``keylink demo`` sets it up (its own seeded link map, API keys
    enforced, env dev) and a key with every role: ``(base URL, key)``."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('audit') / 'keylink.db'}"
    await seed_demo_links(url, live_upstreams.dataset)
    key = await create_demo_key(url)
    remember(key)
    settings = demo_settings(live_upstreams.urls, url, extra={"auth": {"mode": "enforce"}})
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url, key
    server.stop()


def test_the_graphql_over_http_server_audit_passes_every_audit(
    demo_gateway_with_key: tuple[str, str],
) -> None:
    node, modules = install_audit(repo_root() / ".cache" / "graphql-http")
    base, key = demo_gateway_with_key
    done = subprocess.run(
        [node, str(NODE_PROJECT / "audit.cjs")],
        input=json.dumps({"url": base + "/graphql", "headers": {"x-api-key": key}}),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(modules)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) >= 60  # the suite ran (graphql-http 1.23.1 has 65 audits)
    failed = [r for r in results if r["status"] != "ok"]
    assert not failed, json.dumps(failed, indent=2)
