"""Relay connections over linked entities: paging by cursor, and which systems answered.

``customers``, ``projects`` and ``suppliers`` answer ``{ edges { cursor node answeredBy
unanswered } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount }``.
``first`` defaults to 10 and is at most 100; ``after`` takes an ``endCursor`` of the same
ordering. The connection, edge and ``PageInfo`` types are ``@shareable`` (see
:mod:`resolvers.federation`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import strawberry

from linkmap.records import Entity
from resolvers.context import Context, context_of
from resolvers.errors import BadInput
from resolvers.lists.cursors import compare, decode, encode
from resolvers.lists.facts import Row
from resolvers.lists.ordering import Ordering, arrange
from resolvers.lists.selection import Selection, select
from resolvers.types.customer import Customer, ProjectType
from resolvers.types.supplier import SupplierType
from sources.base import KINDS
from sources.errors import SourceError

DEFAULT_FIRST = 10
MAX_FIRST = 100

MASTER_DATA: dict[str, dict[str, str]] = {
    "customer": {"erp": "customers", "crm": "accounts", "timesheet": "clients"},
    "project": {"erp": "projects", "timesheet": "timesheet_projects"},
    "supplier": {"erp": "suppliers"},
}
"""Per entity kind and system kind: the read that shows a system answers for a row."""


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows with their cursors, and the list's size."""

    rows: list[tuple[str, Row]]
    has_next: bool
    total: int
    has_previous: bool = False


async def paginate(
    ctx: Context, selection: Selection, ordering: Ordering, first: int, after: str | None
) -> Page:
    """The ``first`` rows of ``selection`` in ``ordering`` after the cursor ``after``."""
    if not 1 <= first <= MAX_FIRST:
        raise BadInput(f"first must be between 1 and {MAX_FIRST}")
    start = decode(after, ordering.name) if after is not None else None
    rows = await select(ctx, selection)
    ordered = await arrange(ctx, rows, ordering)
    index = 0
    if start is not None:
        while index < len(ordered) and compare(ordered[index][0], start, ordering.descending) <= 0:
            index += 1
    chosen = ordered[index : index + first]
    return Page(
        rows=[(encode(ordering.name, position), row) for position, row in chosen],
        has_next=index + first < len(ordered),
        total=len(ordered),
        has_previous=index > 0,
    )


async def answers(ctx: Context, entity: Entity) -> tuple[list[str], list[str]]:
    """The linked systems that answered for ``entity`` in this request and those that
    failed, each in configuration order (a system answering "no such record" answered)."""
    reads: list[tuple[str, asyncio.Future[object]]] = []
    operations = MASTER_DATA.get(entity.kind, {})
    for system, source in ctx.systems.sources.items():
        keys = entity.keys_in(system)
        operation = next(
            (operations[k] for k in KINDS if k in source.kinds and k in operations), None
        )
        if keys and operation is not None:
            loader = ctx.loaders.source(system, operation, many=False)
            reads.append((system, asyncio.ensure_future(loader.load_many(list(keys)))))
    results = await asyncio.gather(*(read for _, read in reads), return_exceptions=True)
    answered = [
        s for (s, _), r in zip(reads, results, strict=True) if not isinstance(r, BaseException)
    ]
    failed = [s for (s, _), r in zip(reads, results, strict=True) if isinstance(r, SourceError)]
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, SourceError):
            raise result
    return answered, failed


@strawberry.federation.type(
    description="Where a page of a list ends and whether more rows follow.", shareable=True
)
class PageInfo:
    """Relay page info, with the four fields of the Relay specification, so that it is the
    same value type as the ``PageInfo`` of other subgraphs in a supergraph (``@shareable``)."""

    has_next_page: bool = strawberry.field(description="Whether rows follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Whether rows come before this page in the list."
    )
    start_cursor: str | None = strawberry.field(description="The first row's cursor.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")


@strawberry.type
class EdgeBase:
    """What every list row has besides its node: its cursor and its systems."""

    cursor: str = strawberry.field(description="This row's position, for `after`.")
    entity: strawberry.Private[Entity]

    @strawberry.field(
        description="The linked systems that answered for this row (master data read)."
    )
    async def answered_by(self, info: strawberry.Info) -> list[str]:
        """Systems holding a key of the row whose read succeeded."""
        return (await answers(context_of(info), self.entity))[0]

    @strawberry.field(description="The linked systems that failed to answer for this row.")
    async def unanswered(self, info: strawberry.Info) -> list[str]:
        """Systems holding a key of the row whose read failed."""
        return (await answers(context_of(info), self.entity))[1]


@strawberry.federation.type(description="A customer in a list.", shareable=True)
class CustomerEdge(EdgeBase):
    """A customer row."""

    node: Customer


@strawberry.federation.type(description="A page of customers.", shareable=True)
class CustomerConnection:
    """Customers matching a filter, one page at a time."""

    edges: list[CustomerEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Rows in the whole list.")

    @staticmethod
    def of(page: Page) -> CustomerConnection:
        """The GraphQL form of a page of customers."""
        edges = [
            CustomerEdge(cursor=c, entity=r.entity, node=Customer(entity=r.entity))
            for c, r in page.rows
        ]
        return CustomerConnection(edges=edges, page_info=_info(page), total_count=page.total)


@strawberry.federation.type(description="A project in a list.", shareable=True)
class ProjectEdge(EdgeBase):
    """A project row."""

    node: ProjectType


@strawberry.federation.type(description="A page of projects.", shareable=True)
class ProjectConnection:
    """Projects matching a filter, one page at a time."""

    edges: list[ProjectEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Rows in the whole list.")

    @staticmethod
    def of(page: Page) -> ProjectConnection:
        """The GraphQL form of a page of projects."""
        edges = [
            ProjectEdge(
                cursor=c,
                entity=r.entity,
                node=ProjectType(entity=r.entity, project_keys=r.entity.keys),
            )
            for c, r in page.rows
        ]
        return ProjectConnection(edges=edges, page_info=_info(page), total_count=page.total)


@strawberry.federation.type(description="A supplier in a list.", shareable=True)
class SupplierEdge(EdgeBase):
    """A supplier row."""

    node: SupplierType


@strawberry.federation.type(description="A page of suppliers.", shareable=True)
class SupplierConnection:
    """Suppliers matching a filter, one page at a time."""

    edges: list[SupplierEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Rows in the whole list.")

    @staticmethod
    def of(page: Page) -> SupplierConnection:
        """The GraphQL form of a page of suppliers."""
        edges = [
            SupplierEdge(cursor=c, entity=r.entity, node=SupplierType(entity=r.entity))
            for c, r in page.rows
        ]
        return SupplierConnection(edges=edges, page_info=_info(page), total_count=page.total)


def _info(page: Page) -> PageInfo:
    start, end = (page.rows[0][0], page.rows[-1][0]) if page.rows else (None, None)
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=start,
        end_cursor=end,
    )
