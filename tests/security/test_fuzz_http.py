"""Fuzzing every HTTP endpoint with malformed requests (hypothesis): bodies in every
encoding, JSON nested 100 000 deep, documents with deep selections, fragment cycles,
fragment bombs, long fragment chains and hostile variable defaults, under every content
type and ``Accept`` header. Whatever arrives: no 500, no answer slower than 1 s, no
traceback or SQL in any answer or log line.

The same hostile documents are also sent by name (:func:`test_each_hostile_document_on_
every_graphql_endpoint`), so each kind runs on every run whatever hypothesis draws.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_settings
from tests.support.secret_scan import RecordKeeper
from tests.support.servers import ServerThread

SLOWEST = 1.0
"""Seconds any answer may take."""

MAX_IN_URL = 20_000
"""Longest document sent by GET (percent-encoded, a URL holds at most 64 KiB in httpx)."""

LEAKS = re.compile(
    r"Traceback|RecursionError|SELECT |INSERT INTO|DELETE FROM|UPDATE \w+ SET|"
    r"sqlalchemy|sqlite3|asyncpg|psycopg"
)
"""What no answer and no log line may contain (a traceback or SQL)."""


@dataclass(frozen=True)
class Probe:
    """One HTTP request to send."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    params: dict[str, str] | None = None

    def describe(self) -> str:
        """A short description for hypothesis' report."""
        body = (self.content or b"")[:300]
        return f"{self.method} {self.path} {self.headers} params={self.params} body={body!r}"


GRAPHQL_ENDPOINTS = [
    ("POST", "/graphql"),
    ("GET", "/graphql"),
    ("POST", "/export?format=csv"),
    ("POST", "/export?format=jsonl"),
    ("POST", "/export?format=parquet"),
]
OTHER_ENDPOINTS = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("POST", "/healthz"),
    ("PUT", "/graphql"),
    ("DELETE", "/export"),
]
"""Every route of the application (and wrong methods on them): the GraphQL ones get
documents, the others the same junk bodies."""


# --- hostile documents ----------------------------------------------------------------


def deep_selection(depth: int) -> str:
    return "{ " + 'customer(system: "erp", key: "1") { ' * depth + "id" + " }" * depth + " }"


def fragment_cycle(length: int, on: str = "Query") -> str:
    names = [f"C{i}" for i in range(length)]
    fragments = " ".join(
        f"fragment {name} on {on} {{ __typename ...{names[(i + 1) % length]} }}"
        for i, name in enumerate(names)
    )
    return f"{{ ...C0 }} {fragments}"


def fragment_bomb(depth: int, width: int) -> str:
    spreads = lambda i: " ".join([f"...B{i + 1}"] * width)  # noqa: E731
    fragments = " ".join(f"fragment B{i} on Query {{ {spreads(i)} }}" for i in range(depth))
    return f"{{ ...B0 }} {fragments} fragment B{depth} on Query {{ __typename }}"


def nested_fragment_bomb(depth: int) -> str:
    fragments = " ".join(
        f"fragment N{i} on Customer {{ id keys {{ key }} ...N{i + 1} ...N{i + 1} }}"
        for i in range(depth)
    )
    return (
        '{ customer(system: "erp", key: "10001") { ...N0 } } '
        f"{fragments} fragment N{depth} on Customer {{ id }}"
    )


def fragment_chain(length: int) -> str:
    fragments = " ".join(f"fragment L{i} on Query {{ ...L{i + 1} }}" for i in range(length))
    return f"{{ ...L0 }} {fragments} fragment L{length} on Query {{ __typename }}"


def field_fragment_chain(length: int) -> str:
    fragments = " ".join(f"fragment K{i} on Customer {{ ...K{i + 1} }}" for i in range(length))
    return (
        '{ customer(system: "erp", key: "10001") { ...K0 } } '
        f"{fragments} fragment K{length} on Customer {{ id }}"
    )


def deep_variable_type(depth: int) -> str:
    return f"query($v: {'[' * depth}Int{']' * depth}) {{ __typename }}"


def deep_default(depth: int) -> str:
    return f"query($v: [Int] = {'[' * depth}1{']' * depth}) {{ __typename }}"


def long_default(length: int) -> str:
    values = ", ".join(str(i) for i in range(length))
    return (
        f'query($v: [String!] = [{values}]) {{ customersByKey(system: "erp", keys: $v) {{ id }} }}'
    )


def wrong_default(value: str) -> str:
    return f'query($k: String! = {value}) {{ customer(system: "erp", key: $k) {{ id }} }}'


def many_aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def directive_spam(count: int) -> str:
    return "{ __typename " + " ".join(["@skip(if: false)"] * count) + " }"


HOSTILE: dict[str, str] = {
    "selection nested 300 deep": deep_selection(300),
    "fragment cycle": fragment_cycle(2),
    "self-spread": fragment_cycle(1),
    "fragment cycle of 200": fragment_cycle(200),
    "fragment cycle on an object type": fragment_cycle(3, "Customer"),
    "fragment bomb 2^30": fragment_bomb(30, 2),
    "fragment bomb 10^8": fragment_bomb(8, 10),
    "nested fragment bomb": nested_fragment_bomb(24),
    "fragment chain of 3000": fragment_chain(3000),
    "fragment chain of 1400 under a field": field_fragment_chain(1400),
    "fragment chain of 199 under a field": field_fragment_chain(199),
    "variable type nested 2000 deep": deep_variable_type(2000),
    "variable default nested 2000 deep": deep_default(2000),
    "variable default of 5000 values": long_default(5000),
    "variable default of the wrong type": wrong_default("{a: [1, {b: 2}]}"),
    "variable default naming a variable": wrong_default("$k"),
    "5000 aliases": many_aliases(5000),
    "5000 directives": directive_spam(5000),
    "unterminated string": '{ customer(system: "erp, key: "1") { id } }',
    "a lone surrogate in the document": "{ __typename } # \ud800",
    "a NUL in the document": "{ __typename \x00 }",
}


def nested_json(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# --- strategies -----------------------------------------------------------------------


def documents(most: int) -> st.SearchStrategy[str]:
    """Hostile and random documents, each kind scaled to at most ``most`` repetitions of
    its unit (fragments, values, aliases), so those sent by GET fit in a URL."""
    return st.one_of(
        st.sampled_from([d for d in HOSTILE.values() if len(d) <= most * 40]),
        st.integers(1, min(500, most)).map(deep_selection),
        st.integers(1, min(300, most)).map(fragment_cycle),
        st.builds(fragment_bomb, st.integers(1, 40), st.integers(1, 12)),
        st.integers(1, 40).map(nested_fragment_bomb),
        st.integers(1, most).map(fragment_chain),
        st.integers(1, min(2000, most)).map(field_fragment_chain),
        st.integers(1, min(3000, most * 4)).map(deep_variable_type),
        st.integers(1, min(3000, most * 4)).map(deep_default),
        st.integers(0, most).map(long_default),
        st.sampled_from(["1", '"x"', "null", "[]", "{}", "$k", "true", "ERP", "1.5e400"]).map(
            wrong_default
        ),
        st.integers(0, most).map(many_aliases),
        st.integers(0, most).map(directive_spam),
        st.text(alphabet='{}()[]:.$@!=",# \n\tabcdefgxyz_01_onquery', max_size=400),
        st.text(max_size=200),
        st.just('{ customer(system: "erp", key: "10001") { id keys { system key } } }'),
    )


DOCUMENTS = documents(6000)
"""Documents for a body."""

URL_DOCUMENTS = documents(400)
"""Documents for a URL (at most about 20 kB)."""

VARIABLES = st.one_of(
    st.none(),
    st.just("{}"),
    st.builds(
        lambda d, k: f'{{"v": {nested_json(d, k)}}}',
        st.integers(1, 3000),
        st.sampled_from(["list", "object"]),
    ),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=5)
        ),
        max_leaves=20,
    ).map(lambda value: json.dumps({"v": value, "k": value})),
    st.sampled_from(['"text"', "[1]", "42", "null"]),
)
ENCODINGS = st.sampled_from(
    ["utf-8"] * 12 + ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]
)
CONTENT_TYPES = st.sampled_from(
    [
        *["application/json"] * 12,
        "application/json; charset=utf-8",
        "application/json; charset=UTF-16",
        "text/plain",
        "application/graphql",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "",
        None,
    ]
)
ACCEPTS = st.sampled_from(
    [
        None,
        "*/*",
        "application/json",
        "application/graphql-response+json",
        "application/graphql-response+json, application/json;q=0.9",
        "text/html",
        "application/json;q=abc, */*;q=",
        ";;;,",
    ]
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A request body: a GraphQL request in some encoding, deep JSON, a JSON scalar, or
    bytes."""
    kind = draw(st.sampled_from(["request"] * 8 + ["deep", "scalar", "bytes"]))
    if kind == "deep":
        depth = draw(st.sampled_from([1023, 1024, 1025, 5000, 100_000]))
        return nested_json(depth, draw(st.sampled_from(["list", "object"]))).encode()
    if kind == "scalar":
        return draw(st.sampled_from([b"null", b"42", b'"q"', b"true", b"[]", b"", b"NaN"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    parts = [f'"query": {json.dumps(draw(DOCUMENTS))}']
    variables = draw(VARIABLES)
    if variables is not None:
        parts.append(f'"variables": {variables}')
    name = draw(st.one_of(st.none(), st.sampled_from(['"A"', "1", "null", '["A"]'])))
    if name is not None:
        parts.append(f'"operationName": {name}')
    extensions = draw(
        st.sampled_from(
            [
                None,
                '{"persistedQuery": {"version": 1, "sha256Hash": "00"}}',
                '{"persistedQuery": {"sha256Hash": 5}}',
                '"x"',
            ]
        )
    )
    if extensions is not None:
        parts.append(f'"extensions": {extensions}')
    text = "{" + ", ".join(parts) + "}"
    return text.encode(draw(ENCODINGS), errors="surrogatepass")


@st.composite
def probes(draw: st.DrawFn) -> Probe:
    """One request to one endpoint."""
    method, path = draw(st.sampled_from(GRAPHQL_ENDPOINTS * 6 + OTHER_ENDPOINTS))
    headers: dict[str, str] = {}
    accept = draw(ACCEPTS)
    if accept is not None:
        headers["accept"] = accept
    if method == "GET" and path == "/graphql":
        document = draw(URL_DOCUMENTS)
        params = {"query": document.replace("\ud800", "?")}
        variables = draw(VARIABLES)
        if variables is not None:
            params["variables"] = variables
        if draw(st.booleans()):
            params["extensions"] = draw(st.sampled_from(['{"a": 1}', "[", "{" * 5000]))
        return Probe(method, path, headers, params=params)
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers["content-type"] = content_type
    return Probe(method, path, headers, content=draw(bodies()))


# --- the gateway and the checks -------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed_gateway(live_upstreams: DemoUpstreams, demo_linkmap_url: str) -> Iterator[str]:
    """A gateway over the demo upstreams with the response cache and persisted queries on
    (so every layer that reads a request is fuzzed), rate limit off."""
    from gateway.app import create_app

    settings = demo_settings(
        live_upstreams.urls,
        demo_linkmap_url,
        rate_limit={"enabled": False},
        extra={"persisted_queries": {"mode": "off", "apq": True}},
    )
    server = ServerThread(create_app(settings))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def client(fuzzed_gateway: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzzed_gateway, timeout=10) as client:
        yield client


def send_and_check(client: httpx.Client, log_records: RecordKeeper, probe: Probe) -> int:
    """Send ``probe``; no 5xx, at most ``SLOWEST`` seconds, no traceback or SQL in the
    answer or in any log line it caused."""
    start = len(log_records.since(0))
    began = time.perf_counter()
    response = client.request(
        probe.method, probe.path, headers=probe.headers, content=probe.content, params=probe.params
    )
    elapsed = time.perf_counter() - began
    text = response.content.decode("utf-8", errors="replace")
    sent = probe.describe()
    assert response.status_code < 500, (response.status_code, text[:500], sent)
    assert elapsed < SLOWEST, f"{elapsed:.2f} s: {response.status_code} {text[:300]} {sent}"
    leak = LEAKS.search(text)
    assert leak is None, (text[max(0, leak.start() - 200) : leak.end() + 200], sent)
    lines = [line for line in log_records.since(start) if LEAKS.search(line)]
    assert not lines, (lines[0][:2000], sent)
    return response.status_code


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(probe=probes())
def test_no_malformed_request_gets_a_500_a_slow_answer_or_a_leak(
    client: httpx.Client, log_records: RecordKeeper, probe: Probe
) -> None:
    note(probe.describe())
    status = send_and_check(client, log_records, probe)
    event(f"{probe.method} {probe.path.partition('?')[0]} -> {status}")


HOSTILE_REQUESTS = [
    pytest.param(method, path, name, id=f"{method} {path} {name}")
    for method, path in GRAPHQL_ENDPOINTS[:3]
    for name, text in HOSTILE.items()
    if method == "POST" or len(text) <= MAX_IN_URL
]
"""Each hostile document on each GraphQL endpoint (by GET only those a URL can hold)."""


@pytest.mark.parametrize(("method", "path", "document"), HOSTILE_REQUESTS)
def test_each_hostile_document_on_every_graphql_endpoint(
    client: httpx.Client, log_records: RecordKeeper, method: str, path: str, document: str
) -> None:
    text = HOSTILE[document]
    if method == "GET":
        probe = Probe(method, path, params={"query": text.replace("\ud800", "?")})
    else:
        body = json.dumps({"query": text}).encode()
        probe = Probe(method, path, {"content-type": "application/json"}, content=body)
    send_and_check(client, log_records, probe)
    # under application/graphql-response+json, too
    accept = {**probe.headers, "accept": "application/graphql-response+json"}
    send_and_check(client, log_records, Probe(method, path, accept, probe.content, probe.params))


@pytest.mark.parametrize("depth", [1024, 1025, 100_000])
@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize(("method", "path"), [("POST", "/graphql"), ("POST", "/export")])
def test_json_nested_deep_on_every_endpoint(
    client: httpx.Client,
    log_records: RecordKeeper,
    method: str,
    path: str,
    depth: int,
    kind: str,
) -> None:
    headers = {"content-type": "application/json"}
    for body in (
        nested_json(depth, kind),
        '{"query": "query($v: [Int]) { __typename }", "variables": {"v": '
        + nested_json(depth, kind)
        + "}}",
    ):
        send_and_check(client, log_records, Probe(method, path, headers, body.encode()))
    in_url = min(depth, 3000)  # a URL holds at most 64 KiB (httpx)
    params = {"query": "{ __typename }", "variables": '{"v": ' + nested_json(in_url, kind) + "}"}
    send_and_check(client, log_records, Probe("GET", "/graphql", params=params))


def test_the_hostile_documents_are_what_they_say(client: httpx.Client) -> None:
    """The named documents reach the guards they are meant for (so the fuzz test is not
    passing only because every document is refused at the door)."""
    answers: dict[str, Any] = {}
    for name in ("fragment bomb 2^30", "fragment cycle", "variable default of the wrong type"):
        response = client.post("/graphql", json={"query": HOSTILE[name]})
        assert response.status_code == 200, response.text
        answers[name] = response.json()["errors"][0]["message"]
    assert "fields" in answers["fragment bomb 2^30"]
    assert "within itself" in answers["fragment cycle"]
    assert "String cannot represent" in answers["variable default of the wrong type"]
