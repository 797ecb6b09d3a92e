"""The export core over a test-owned Relay connection: paging, columns, failures."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from gateway.export import (
    BadExportDocument,
    ExportQueryFailed,
    ExportRun,
    ExportTransportError,
    HttpExecutor,
    SchemaExecutor,
    plan_export,
    stream_export,
)
from tests.export.connection_app import ITEMS, build_app, build_schema, row
from tests.support.servers import ServerThread

SIZE = 237
COLUMNS = [
    "number",
    "name",
    "active",
    "score",
    "owner.name",
    "owner.team",
    "tags",
    "totals",
    "note",
]


@pytest.fixture(scope="module")
def items_url() -> Iterator[str]:
    server = ServerThread(build_app(SIZE))
    server.start()
    yield server.url
    server.stop()


def expected(i: int) -> dict[str, Any]:
    item = row(i)
    return {
        "number": i,
        "name": item.name,
        "active": item.active,
        "score": item.score,
        "owner.name": item.owner.name if item.owner else None,
        "owner.team": item.owner.team if item.owner else None,
        "tags": item.tags,
        "totals": [{"amount": str(m.amount), "currency": m.currency} for m in item.totals],
        "note": item.note,
    }


async def run_to_bytes(run: ExportRun, fmt: str) -> tuple[bytes, int]:
    chunks = [chunk async for chunk in stream_export(run, fmt)]  # type: ignore[arg-type]
    return b"".join(chunks), len(chunks)


async def test_http_export_follows_every_page_of_the_connection(items_url: str) -> None:
    calls: list[Mapping[str, Any]] = []
    async with httpx.AsyncClient() as client:
        inner = HttpExecutor(client, items_url)

        async def counting(doc: str, variables: Mapping[str, Any], name: str | None) -> Any:
            calls.append(dict(variables))
            return await inner(doc, variables, name)

        run = ExportRun(plan_export(ITEMS), counting, {"first": 50})
        body, chunks = await run_to_bytes(run, "jsonl")
    rows = [json.loads(line) for line in body.splitlines()]
    assert run.columns == COLUMNS
    assert rows == [expected(i) for i in range(SIZE)]
    assert len(calls) == 5 and chunks == 5  # 237 rows / 50 a page, a chunk per page
    assert "after" not in calls[0] and all(c["after"] for c in calls[1:])


async def test_in_process_parquet_has_a_row_group_per_page() -> None:
    run = ExportRun(plan_export(ITEMS), SchemaExecutor(build_schema(SIZE), dict), {"first": 40})
    body, _ = await run_to_bytes(run, "parquet")
    parquet = pq.ParquetFile(io.BytesIO(body))
    assert parquet.num_row_groups == 6
    table = parquet.read()
    types = {f.name: str(f.type) for f in table.schema}
    assert types["number"] == "int64" and types["active"] == "bool"
    assert types["score"] == "double" and types["totals"] == "string"
    got = table.to_pylist()
    assert len(got) == SIZE
    for i in (0, 1, 5, 236):
        want = expected(i)
        assert got[i]["number"] == i and got[i]["owner.team"] == want["owner.team"]
        assert got[i]["tags"] == "; ".join(want["tags"])
        assert json.loads(got[i]["totals"]) == want["totals"]


async def test_csv_renders_nulls_lists_and_quotes() -> None:
    run = ExportRun(plan_export(ITEMS), SchemaExecutor(build_schema(12), dict), {"first": 5})
    body, _ = await run_to_bytes(run, "csv")
    import csv

    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 12
    assert rows[0]["owner.name"] == "" and rows[0]["tags"] == "" and rows[0]["active"] == "true"
    assert rows[3]["tags"] == "t3; x;y" and rows[3]["name"] == 'item, "3"'
    assert json.loads(rows[1]["totals"]) == expected(1)["totals"]


async def test_a_document_without_connection_is_one_result() -> None:
    run = ExportRun(plan_export("{ hello }"), SchemaExecutor(build_schema(1), dict))
    body, _ = await run_to_bytes(run, "csv")
    assert body.decode().splitlines() == ["hello", "world"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "{ items { edges { node { number } } pageInfo { hasNextPage endCursor } } }",
            "needs `after: $after`",
        ),
        (
            "query($a: String) { items(after: $a) { edges { node { number } } } pageInfo: hello }",
            None,
        ),
        (
            "query($a: String) { items(after: $a) { edges { node { number } } "
            "pageInfo { endCursor } } }",
            "must select `pageInfo { hasNextPage endCursor }`",
        ),
        ("mutation { x }", "only queries can be exported"),
        ("query A { hello } query B { hello }", "several operations"),
        ("{ hello", "does not parse"),
        (
            "query($a: String, $b: String) { x: items(after: $a) { edges { node { number } } "
            "pageInfo { hasNextPage endCursor } } y: items(after: $b) { edges { node { number } } "
            "pageInfo { hasNextPage endCursor } } }",
            "2 connections",
        ),
    ],
)
def test_documents_that_cannot_be_exported_say_why(document: str, message: str | None) -> None:
    if message is None:  # no connection here: a plain result, which is fine
        plan_export(document)
        return
    with pytest.raises(BadExportDocument, match=re.escape(message)):
        plan_export(document)


def test_vars_follow_the_declared_types() -> None:
    plan = plan_export("query($n: Int!, $s: String, $keys: [String!]!, $flag: Boolean) { hello }")
    assert plan.coerce("n", "100") == 100
    assert plan.coerce("s", "10023") == "10023"
    assert plan.coerce("keys", '["a","b"]') == ["a", "b"]
    assert plan.coerce("flag", "true") is True
    with pytest.raises(BadExportDocument, match="declares no"):
        plan.coerce("other", "1")
    with pytest.raises(BadExportDocument, match="not a value"):
        plan.coerce("n", "ten")


async def test_graphql_errors_stop_the_export_unless_partial_is_allowed() -> None:
    document = (
        "query($first: Int!, $after: String) { items(first: $first, after: $after) "
        "{ edges { node { number } } pageInfo { hasNextPage endCursor } } nope: hello }"
    )
    schema = build_schema(10)

    async def failing(doc: str, variables: Mapping[str, Any], name: str | None) -> Any:
        result = await SchemaExecutor(schema, dict)(doc, variables, name)
        return {
            **result,
            "errors": [{"message": "ERP down", "extensions": {"code": "SOURCE_TIMEOUT"}}],
        }

    strict = ExportRun(plan_export(document), failing, {"first": 4})
    with pytest.raises(ExportQueryFailed) as failed:
        await run_to_bytes(strict, "csv")
    assert failed.value.code == "SOURCE_TIMEOUT" and failed.value.page == 1
    lenient = ExportRun(plan_export(document), failing, {"first": 4}, allow_partial=True)
    body, _ = await run_to_bytes(lenient, "csv")
    assert len(body.decode().splitlines()) == 11 and len(lenient.errors) == 3


async def test_an_unreachable_gateway_is_a_transport_error() -> None:
    async with httpx.AsyncClient() as client:
        run = ExportRun(plan_export("{ hello }"), HttpExecutor(client, "http://127.0.0.1:9", "k-1"))
        with pytest.raises(ExportTransportError) as failed:
            await run_to_bytes(run, "csv")
    assert "127.0.0.1:9" in failed.value.message and "k-1" not in failed.value.message
