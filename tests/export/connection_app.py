"""A test-owned GraphQL service with one Relay-style connection of ``size`` generated rows.

It stands in for the gateway's list queries where a test needs many pages or many rows
(10x the demo): ``items(first:, after:)`` gives ``totalCount``, ``edges { cursor node }``
and ``pageInfo``. Row ``i`` is a pure function of ``i`` (see :func:`row`), so a test can
check any exported row without keeping the others. ``gate`` lets a test hold every page
after the first until it has seen the first chunk of a stream.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from decimal import Decimal

import strawberry
from fastapi import FastAPI
from strawberry.fastapi import GraphQLRouter

PAD = 600
"""Characters of filler text per row (makes rows about 1 kB, so memory growth shows)."""


@strawberry.type
class Money:
    amount: Decimal
    currency: str


@strawberry.type
class Owner:
    name: str
    team: str | None


@strawberry.type
class Item:
    number: int
    name: str
    active: bool
    score: float
    owner: Owner | None
    tags: list[str]
    totals: list[Money]
    note: str


@strawberry.type
class Edge:
    cursor: str
    node: Item


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ItemConnection:
    total_count: int
    edges: list[Edge]
    page_info: PageInfo


def row(i: int) -> Item:
    """Row ``i`` (0-based) of every connection of this service."""
    return Item(
        number=i,
        name=f'item, "{i}"',
        active=i % 3 == 0,
        score=i / 4,
        owner=None if i % 5 == 0 else Owner(name=f"owner {i % 7}", team=None if i % 2 else "Oslo"),
        tags=[f"t{i % 4}", "x;y"] if i % 2 else [],
        totals=[Money(amount=Decimal(i) + Decimal("0.10"), currency="EUR")]
        + ([Money(amount=Decimal("-1.05"), currency="NOK")] if i % 3 == 1 else []),
        note=("n" * PAD) + str(i),
    )


def _cursor(i: int) -> str:
    return base64.b64encode(f"item:{i}".encode()).decode()


def _offset(cursor: str | None) -> int:
    return 0 if cursor is None else int(base64.b64decode(cursor).decode().split(":")[1]) + 1


def build_schema(
    size: int, gate: threading.Event | None = None, fail_from: int | None = None
) -> strawberry.Schema:
    """A schema whose ``items`` connection holds ``size`` rows; pages after the first wait
    for ``gate``; a page starting at row ``fail_from`` or later fails."""

    @strawberry.type
    class Query:
        @strawberry.field
        async def items(self, first: int = 10, after: str | None = None) -> ItemConnection:
            start = _offset(after)
            if start > 0 and gate is not None:
                await asyncio.to_thread(gate.wait, 30)
            if fail_from is not None and start >= fail_from:
                raise RuntimeError("the items store is down")
            end = min(start + first, size)
            edges = [Edge(cursor=_cursor(i), node=row(i)) for i in range(start, end)]
            return ItemConnection(
                total_count=size,
                edges=edges,
                page_info=PageInfo(
                    has_next_page=end < size, end_cursor=_cursor(end - 1) if edges else None
                ),
            )

        @strawberry.field
        def hello(self) -> str:
            return "world"

    return strawberry.Schema(query=Query)


def build_app(size: int) -> FastAPI:
    """The service over HTTP (``/graphql``, ``/healthz``)."""
    app = FastAPI()
    app.include_router(GraphQLRouter(build_schema(size)), prefix="/graphql")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


ITEMS = """
query Items($first: Int!, $after: String) {
  items(first: $first, after: $after) {
    totalCount
    edges { cursor node { number name active score owner { name team } tags
                          totals { amount currency } note } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
