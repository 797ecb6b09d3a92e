"""Pagination styles of the REST adapter (sources/rest/paging.py), each walking a real
loopback upstream that pages its way: page numbers (with and without a total), offsets,
and the cursor style with the position read from a body field or from a ``Link`` header.
A new style is one registered class; a spec naming an unknown style is refused."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sources.records import AccountQuery
from sources.rest import RestConfig, RestSource
from sources.rest.paging import (
    PAGING_STYLES,
    PageAnswer,
    Pagination,
    PagingStyle,
    next_link,
    register_paging_style,
)
from sources.rest.spec import OrderSpec, RestSpec
from tests.support.servers import ServerThread

ACCOUNTS = [{"id": f"A-{n:03d}", "name": f"Account {n}", "team": "Oslo"} for n in range(1, 24)]
FIELDS = {"key": "id", "name": "name", "team": "team"}


def upstream_app() -> tuple[FastAPI, dict[str, int]]:
    """An upstream serving ACCOUNTS under one path per paging style; counts requests."""
    app = FastAPI()
    counts: dict[str, int] = {}

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        counts[request.url.path] = counts.get(request.url.path, 0) + 1
        return await call_next(request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/paged")
    async def paged(page: int = 1, per_page: int = 10, total: bool = True) -> dict[str, Any]:
        start = (page - 1) * per_page
        body: dict[str, Any] = {
            "items": ACCOUNTS[start : start + per_page],
            "next_page": page + 1 if start + per_page < len(ACCOUNTS) else None,
        }
        if total:
            body["total"] = len(ACCOUNTS)
        return body

    @app.get("/offset")
    async def offset(offset: int = 0, limit: int = 10) -> list[dict[str, Any]]:
        return ACCOUNTS[offset : offset + limit]

    def after(cursor: str | None, size: int) -> tuple[list[dict[str, Any]], str | None]:
        start = 0 if cursor is None else int(cursor.removeprefix("pos-"))
        chunk = ACCOUNTS[start : start + size]
        more = start + size < len(ACCOUNTS)
        return chunk, f"pos-{start + size}" if more else None

    @app.get("/cursor")
    async def cursor(cursor: str | None = None, size: int = 10) -> dict[str, Any]:
        chunk, token = after(cursor, size)
        return {"data": chunk, "paging": {"next": token}}

    @app.get("/linked")
    async def linked(request: Request, cursor: str | None = None, size: int = 10) -> Any:
        chunk, token = after(cursor, size)
        headers = {}
        if token is not None:
            next_url = request.url.include_query_params(cursor=token)
            headers["Link"] = f'<{request.url}>; rel="self", <{next_url}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    return app, counts


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, dict[str, int]]]:
    app, counts = upstream_app()
    server = ServerThread(app)
    server.start()
    yield server.url, counts
    server.stop()


def source(
    url: str,
    tmp_path: Path,
    path: str,
    pagination: dict[str, Any],
    params: dict[str, str] | None = None,
) -> RestSource:
    search = {"path": path, "pagination": pagination, "params": params or {}, "fields": FIELDS}
    spec = {"operations": {"account_search": search}}
    file = tmp_path / "spec.yaml"
    file.write_text(yaml.safe_dump(spec), encoding="utf-8")
    config = RestConfig(kind="crm", adapter="rest", url=url, spec=file)
    return RestSource("crm", config)


PAGE_SIZE = 5
PAGES = math.ceil(len(ACCOUNTS) / PAGE_SIZE)


@pytest.mark.parametrize(
    ("path", "params", "pagination"),
    [
        ("/paged", {}, {"style": "page", "page_size": PAGE_SIZE}),
        ("/paged", {"total": "false"}, {"style": "page", "page_size": PAGE_SIZE}),
        (
            "/offset",
            {},
            {"style": "offset", "size_param": "limit", "next": None, "page_size": PAGE_SIZE},
        ),
        (
            "/cursor",
            {},
            {
                "style": "cursor",
                "size_param": "size",
                "items": "data",
                "next": "paging.next",
                "page_size": PAGE_SIZE,
            },
        ),
        (
            "/linked",
            {},
            {"style": "cursor", "size_param": "size", "cursor_from": "link", "page_size": 5},
        ),
    ],
)
async def test_every_style_reads_every_record_once_with_one_request_per_page(
    upstream: tuple[str, dict[str, int]],
    tmp_path: Path,
    path: str,
    params: dict[str, str],
    pagination: dict[str, Any],
) -> None:
    url, counts = upstream
    crm = source(url, tmp_path, path, pagination, params)
    counts.clear()
    found = await crm.search_accounts(AccountQuery())
    await crm.aclose()
    assert list(found) == [a["id"] for a in ACCOUNTS]
    assert counts[path] == PAGES


async def test_max_pages_bounds_a_walk(
    upstream: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    url, counts = upstream
    pagination = {"style": "cursor", "size_param": "size", "cursor_from": "link", "page_size": 5}
    crm = source(url, tmp_path, "/linked", {**pagination, "max_pages": 2})
    counts.clear()
    found = await crm.search_accounts(AccountQuery())
    await crm.aclose()
    assert len(found) == 10
    assert counts["/linked"] == 2


class NextPageNumber(PagingStyle):
    """A style defined outside the adapter: the body says which page number comes next."""

    name = "test-next-page-number"

    def first(self, paging: Pagination) -> dict[str, str]:
        return {paging.size_param: str(paging.page_size)}

    def following(self, paging: Pagination, last: PageAnswer) -> dict[str, str] | None:
        number = last.body.get("next_page")
        if number is None:
            return None
        return {paging.page_param: str(number), paging.size_param: str(paging.page_size)}


async def test_a_new_style_is_one_registered_class(
    upstream: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    url, counts = upstream
    register_paging_style(NextPageNumber())
    try:
        crm = source(url, tmp_path, "/paged", {"style": NextPageNumber.name, "page_size": 5})
        counts.clear()
        found = await crm.search_accounts(AccountQuery())
        await crm.aclose()
    finally:
        del PAGING_STYLES[NextPageNumber.name]
    assert list(found) == [a["id"] for a in ACCOUNTS]
    assert counts["/paged"] == PAGES
    with pytest.raises(ValueError, match="already registered"):
        register_paging_style(PAGING_STYLES["cursor"])


def test_a_spec_naming_an_unknown_style_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown pagination style 'keyset'.*cursor"):
        RestSpec.model_validate(
            {"pagination": {"style": "keyset"}, "operations": {}},
        )


def spec_with_order(order: dict[str, Any], pagination: dict[str, Any]) -> dict[str, Any]:
    return {
        "operations": {
            "account_search": {
                "path": "/accounts",
                "pagination": pagination,
                "order": order,
                "fields": FIELDS,
            }
        }
    }


def test_an_order_needs_keyset_paging_and_known_fields() -> None:
    cursor = {"style": "cursor", "cursor_param": "after"}
    RestSpec.model_validate(spec_with_order({"fields": {"name": "name"}}, cursor))
    with pytest.raises(ValueError, match="keyset paging"):
        RestSpec.model_validate(spec_with_order({"fields": {"name": "name"}}, {"style": "page"}))
    with pytest.raises(ValueError, match="cannot order by \\['vat_id'\\]"):
        RestSpec.model_validate(spec_with_order({"fields": {"vat_id": "vat"}}, cursor))
    both = {"fields": {"name": "name"}, "direction_param": "dir"}
    with pytest.raises(ValueError, match="exactly one"):
        RestSpec.model_validate(spec_with_order(both, cursor))


def test_an_order_is_sent_as_a_prefix_or_as_a_direction_parameter() -> None:
    prefixed = OrderSpec(fields={"name": "display_name"}, key="id")
    assert prefixed.params("name", False) == {"sort": "display_name"}
    assert prefixed.params("name", True) == {"sort": "-display_name"}
    assert prefixed.params(None, True) == {"sort": "-id"}
    assert prefixed.params("team", False) is None
    directed = OrderSpec(
        param="order_by", fields={"name": "name"}, descending_prefix=None, direction_param="dir"
    )
    assert directed.params("name", True) == {"order_by": "name", "dir": "desc"}
    assert directed.params(None, False) == {}
    assert directed.params(None, True) is None


def test_the_next_link_is_found_among_several_links() -> None:
    headers = httpx.Headers(
        [
            ("Link", '<https://x.test/a?c=1>; rel="prev", <https://x.test/a?c=3>; rel="next"'),
        ]
    )
    assert next_link(headers) == "https://x.test/a?c=3"
    assert next_link(httpx.Headers({"Link": '<https://x.test/a>; rel="last"'})) is None
    assert next_link(httpx.Headers()) is None
    assert next_link(httpx.Headers({"Link": "<https://x.test/b>; rel=next"})) == (
        "https://x.test/b"
    )
