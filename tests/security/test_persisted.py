"""S7: persisted-operation safelist modes and automatic persisted queries, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.runner import DemoUpstreams
from gateway.app import create_app
from gateway.demo_mode import demo_systems
from gateway.http.persisted import query_hash
from gateway.settings import load_settings
from tests.support.servers import ServerThread

KNOWN = '{ customer(system: "erp", key: "10001") { keys { key } } }'
UNKNOWN = '{ customer(system: "erp", key: "10002") { keys { key } } }'


@pytest.fixture
def start(live_upstreams: DemoUpstreams, demo_linkmap_url: str, tmp_path: Path) -> Iterator[Any]:
    servers: list[ServerThread] = []
    manifest = tmp_path / "operations.json"
    manifest.write_text(json.dumps({query_hash(KNOWN): KNOWN}), encoding="utf-8")

    def run(mode: str, apq: bool = True) -> httpx.Client:
        settings = load_settings(
            overrides={
                "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
                "cache": {"url": "none"},
                "rate_limit": {"enabled": False},
                "persisted_queries": {"mode": mode, "manifest": str(manifest), "apq": apq},
                "systems": demo_systems(live_upstreams.urls),
            }
        )
        server = ServerThread(create_app(settings))
        server.start()
        servers.append(server)
        return httpx.Client(base_url=server.url, timeout=10)

    yield run
    for server in servers:
        server.stop()


def ask(client: httpx.Client, query: str | None, digest: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if query is not None:
        payload["query"] = query
    if digest is not None:
        payload["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    response = client.post("/graphql", json=payload)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


def test_enforce_runs_only_known_operations(start: Any) -> None:
    client = start("enforce")
    assert code(ask(client, KNOWN)) is None
    assert code(ask(client, None, query_hash(KNOWN))) is None
    assert code(ask(client, UNKNOWN)) == "PERSISTED_QUERY_NOT_ALLOWED"


def test_log_unknown_serves_and_logs(start: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = start("log_unknown")
    with caplog.at_level("INFO", logger="keylink.persisted"):
        assert code(ask(client, UNKNOWN)) is None
    assert query_hash(UNKNOWN) in caplog.text


def test_require_id_refuses_query_text(start: Any) -> None:
    client = start("require_id")
    assert code(ask(client, KNOWN)) == "PERSISTED_QUERY_ID_REQUIRED"
    assert code(ask(client, None, query_hash(KNOWN))) is None


def test_automatic_persisted_queries(start: Any) -> None:
    client = start("off")
    digest = query_hash(UNKNOWN)
    assert code(ask(client, None, digest)) == "PERSISTED_QUERY_NOT_FOUND"
    assert code(ask(client, UNKNOWN, digest)) is None  # registers it
    body = ask(client, None, digest)
    assert code(body) is None and body["data"]["customer"] is not None
    assert code(ask(client, KNOWN, digest)) == "PERSISTED_QUERY_HASH_MISMATCH"


def test_a_manifest_entry_with_a_wrong_hash_fails_at_start(tmp_path: Path) -> None:
    from gateway.http.persisted import load_manifest

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"0" * 64: KNOWN}), encoding="utf-8")
    with pytest.raises(ValueError, match="does not match"):
        load_manifest(bad)


def test_the_safelist_holds_for_get_as_for_post(start: Any) -> None:
    client = start("enforce")
    known = client.get("/graphql", params={"query": KNOWN})
    assert known.status_code == 200 and "errors" not in known.json(), known.text
    unknown = client.get("/graphql", params={"query": UNKNOWN})
    assert code(unknown.json()) == "PERSISTED_QUERY_NOT_ALLOWED"
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": query_hash(KNOWN)}})
    by_hash = client.get("/graphql", params={"extensions": extensions})
    assert by_hash.status_code == 200 and "errors" not in by_hash.json(), by_hash.text


def test_a_refusal_under_graphql_response_json_is_400_without_data(start: Any) -> None:
    client = start("enforce")
    response = client.post(
        "/graphql",
        json={"query": UNKNOWN},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/graphql-response+json"
    body = response.json()
    assert "data" not in body and code(body) == "PERSISTED_QUERY_NOT_ALLOWED"
