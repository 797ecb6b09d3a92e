"""Keys are checked at the edge, and logs hold neither SQL parameters nor a client's whole
request: a NUL in a key is BAD_INPUT (not INTERNAL_ERROR with the SQL and its parameters
in the log, as on PostgreSQL before); a 2 MB invalid document logs one capped line; a
client's mistake (BAD_INPUT) logs one line, no traceback."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from linkmap.db import create_engine
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from resolvers.errors import LOGGED_TEXT_MAX
from tests.support.postgres import create_pg_database, drop_pg_database
from tests.support.secret_scan import RecordKeeper

QUERY = 'query($k: String!) { customer(system: "crm", key: $k) { account { name } } }'
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) {
  ... on Customer { id } } }"""


@pytest.mark.parametrize("key", ["A-1\x00", "\x00", "A\n1", "A\x7f1"])
async def test_a_key_with_a_control_character_is_bad_input_at_the_edge(
    gateway: httpx.AsyncClient, log_records: RecordKeeper, key: str
) -> None:
    start = len(log_records.since(0))
    response = await gateway.post("/graphql", json={"query": QUERY, "variables": {"k": key}})
    body = response.json()
    assert body["data"] == {"customer": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_INPUT"]
    assert body["errors"][0]["message"] == "a key must not contain control characters"
    lines = log_records.since(start)
    assert not any("Traceback" in line for line in lines), lines


async def test_a_federation_reference_with_a_nul_in_its_key_is_bad_input(
    gateway: httpx.AsyncClient,
) -> None:
    reference = {"__typename": "Customer", "keys": [{"system": "crm", "key": "A\x00"}]}
    response = await gateway.post(
        "/graphql", json={"query": ENTITIES, "variables": {"r": [reference]}}
    )
    body = response.json()
    assert [e["extensions"]["code"] for e in body.get("errors", [])] == ["BAD_INPUT"]


@pytest.mark.postgres
async def test_the_store_never_sends_a_nul_key_to_postgresql(postgres_server: URL) -> None:
    database = await create_pg_database(postgres_server)
    url = database.render_as_string(hide_password=False)
    try:
        await upgrade_async(url)
        store = LinkStore.from_url(url)
        try:
            await store.create_entity("customer", {"crm": ["A-1"]}, actor="test")
            found = await store.resolve_many("customer", "crm", ["A-1", "A-1\x00", "\x00"])
            assert list(found) == ["A-1"]
        finally:
            await store.close()
    finally:
        await drop_pg_database(postgres_server, database)


async def test_a_database_error_never_shows_its_parameters(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    secret = "s3cr3t-parameter-value"
    try:
        async with engine.connect() as conn:
            with pytest.raises(Exception) as raised:
                await conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": secret})
    finally:
        await engine.dispose()
    assert "no_such_table" in str(raised.value)
    assert secret not in str(raised.value)


async def test_an_invalid_two_megabyte_document_logs_one_capped_line(
    gateway: httpx.AsyncClient, log_records: RecordKeeper
) -> None:
    start = len(log_records.since(0))
    document = '{ customer(system: "crm", key: "' + "x" * 1_900_000 + '") { nope } }'
    response = await gateway.post("/graphql", json={"query": document})
    assert response.status_code in (200, 400, 413)
    lines = log_records.since(start)
    assert lines, "the refusal was not logged at all"
    assert max(len(line) for line in lines) < LOGGED_TEXT_MAX + 500, [line[:200] for line in lines]


async def test_a_client_mistake_logs_one_line_without_a_traceback(
    gateway: httpx.AsyncClient, log_records: RecordKeeper
) -> None:
    start = len(log_records.since(0))
    bad = 'query { customer(system: "no-such-system", key: "A-1") { account { name } } }'
    body = (await gateway.post("/graphql", json={"query": bad})).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_INPUT"]
    lines = [line for line in log_records.since(start) if "no-such-system" in line]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    assert " INFO " in lines[0]
