"""The export pages through the ``customers`` connection: the overview document of the
export tests, run by the exporter's own paging over real HTTP, one request per 100 rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from gateway.export import ExportRun, HttpExecutor, plan_export
from tests.export.conftest import OVERVIEW_DOCUMENT
from tests.lists.expected import Raw


async def test_the_overview_export_follows_the_customer_connection(
    gateway_url: str, raw: Raw
) -> None:
    keys = [k["erp"] for k in raw.links["customer"] if "erp" in k]
    plan = plan_export(OVERVIEW_DOCUMENT)
    assert plan.paging is not None and plan.paging.path == ("customers",)
    sent: list[Mapping[str, Any]] = []
    async with httpx.AsyncClient(timeout=60) as client:
        inner = HttpExecutor(client, gateway_url)

        async def counting(doc: str, variables: Mapping[str, Any], name: str | None) -> Any:
            sent.append(dict(variables))
            return await inner(doc, variables, name)

        run = ExportRun(plan, counting, {"keys": keys})
        pages = [page async for page in run.pages()]
    assert len(pages) == len(sent) == -(-len(keys) // 100)
    assert [len(p.rows) for p in pages[:-1]] == [100] * (len(pages) - 1)
    exported = [row[run.columns.index("erp.key")] for p in pages for row in p.rows]
    assert sorted(exported) == sorted(keys)
    assert sent[0].get("after") is None
    assert all(isinstance(v.get("after"), str) for v in sent[1:])
