"""Browsing a REST upstream (``sources.base.BrowsesRecords``): one request per page.

A spec gives ``browse_customers`` (``browse_suppliers``, ``browse_projects``,
``browse_orders``) as a search operation on a list endpoint, its fields mapped onto
``sources.records.Candidate``; a ``search`` filter sends the search to the upstream,
otherwise the records of each page are checked here (a page may then hold fewer records
than asked, even none, before the end). The position token holds the next page's query
parameters, so the upstream's own paging style (page numbers, offsets, cursors) is kept::

    browse_customers:
      path: /customers
      filters: {search: {param: q}}
      fields: {key: number, name: name, vat: vat_id, country: country}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sources.base import BrowsePage, Candidate
from sources.browse import check_first, decode_position, encode_position, matches_search
from sources.rest.paging import PageAnswer, Pagination
from sources.rest.spec import CATALOGUE, OperationShape, OperationSpec, RestSpec


class RestReads(Protocol):
    """What browsing uses of ``sources.rest.adapter.RestSource``: its spec and the steps
    of its reads (one operation's spec, its parameters, one page, records by key)."""

    name: str
    spec: RestSpec

    def _operation(self, operation: str) -> OperationSpec: ...

    def _params(
        self, operation: str, spec: OperationSpec, filters: Mapping[str, Any] | None
    ) -> dict[str, str]: ...

    async def _page(
        self, spec: OperationSpec, paging: Pagination, params: dict[str, str], index: int
    ) -> PageAnswer: ...

    def _group(
        self,
        operation: str,
        shape: OperationShape,
        spec: OperationSpec,
        wanted: list[str] | None,
        items: list[Any],
    ) -> dict[str, Any]: ...


async def rest_browse(
    source: RestReads, kind: str, search: str | None, after: str | None, first: int
) -> BrowsePage:
    """One page of ``kind`` records read through ``source``'s ``browse_<kind>s`` operation
    (``Unsupported`` when its spec has none): at most ``first`` records, in the upstream's
    order; ``next`` holds the following page's parameters."""
    check_first(first)
    operation = f"browse_{kind}s"
    spec = source._operation(operation)
    paging = spec.pagination or source.spec.pagination
    if first < paging.page_size:
        paging = paging.model_copy(update={"page_size": first})
    style = paging.paging_style
    sent_search = "search" in spec.filters and bool(search and search.strip())
    filters = {"search": search.strip()} if sent_search and search else {}
    position = decode_position(source.name, after)
    page_params: dict[str, str]
    if position is None:
        page_params = style.first(paging)
        index = 0
    else:
        page_params = {str(k): str(v) for k, v in position.get("params", {}).items()}
        index = int(position.get("index", 0))
    params = {**source._params(operation, spec, filters), **page_params}
    answer = await source._page(spec, paging, params, index)
    found: dict[str, Any] = source._group(
        operation, CATALOGUE[operation], spec, None, list(answer.items)
    )
    candidates: list[Candidate] = [c for c in found.values() if matches_search(c, search)]
    following = style.following(paging, answer) if answer.items else None
    next_token = (
        None
        if following is None
        else encode_position({"params": following, "index": answer.index + 1})
    )
    return BrowsePage(tuple(candidates), next_token)


__all__ = ["RestReads", "rest_browse"]
