"""Relay connections over linked entities: paging by cursor, and which systems answered.

``customers``, ``projects`` and ``suppliers`` answer ``{ edges { cursor node answeredBy
unanswered } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount
recordsRead }``. ``first`` defaults to 10 and is at most 100; ``after`` takes an
``endCursor`` of the same ordering. ``totalCount`` is computed only when selected;
``recordsRead`` tells how many candidates the page had to read. The connection, edge
and ``PageInfo`` types are ``@shareable`` (see :mod:`resolvers.federation`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace

import strawberry

from linkmap.records import Entity
from resolvers.context import Context, context_of
from resolvers.errors import BadInput
from resolvers.lists.crm_pages import CrmPaged, crm_page, crm_paging
from resolvers.lists.cursors import Position, decode, encode
from resolvers.lists.facts import Row
from resolvers.lists.keyset import keyset_count, keyset_page
from resolvers.lists.memo import MemoSlot, Ordered, after_position
from resolvers.lists.ordering import Ordering, arrange
from resolvers.lists.selection import (
    MAX_CANDIDATES,
    Searched,
    Selection,
    all_entities,
    meeting,
    search,
    searched_rows,
    select,
    upstream_conditions,
)
from resolvers.types.customer import Customer, ProjectType
from resolvers.types.supplier import SupplierType
from sources.base import KINDS
from sources.errors import SourceError, Unsupported

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
    """One page of a list: its rows with their cursors, how to count the whole list (run
    only when ``totalCount`` is selected, at most once), and how many candidate records
    were read to answer the page."""

    rows: list[tuple[str, Row]]
    has_next: bool
    count: Callable[[], Awaitable[int]]
    read: int
    has_previous: bool = False
    _total: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    async def total(self) -> int:
        """The list's size, counted on the first call and remembered."""
        if "n" not in self._total:
            self._total["n"] = await self.count()
        return self._total["n"]


async def paginate(
    ctx: Context,
    selection: Selection,
    ordering: Ordering,
    first: int,
    after: str | None,
    memo: MemoSlot | None = None,
) -> Page:
    """The ``first`` rows of ``selection`` in ``ordering`` after the cursor ``after``.

    Ordered by a CRM field the CRM can order its search by, the page is read in the
    CRM's order (:mod:`resolvers.lists.crm_pages`). In link-map id order without a search
    pushed upstream, the page is read in the link map (:mod:`resolvers.lists.keyset`).
    Otherwise the candidates (from the search, or
    the link map's, at most ``MAX_CANDIDATES``) are read, filtered and sorted here, once
    per export when ``memo`` (the export's memory of this list) is given."""
    if not 1 <= first <= MAX_FIRST:
        raise BadInput(f"first must be between 1 and {MAX_FIRST}")
    start = decode(after, ordering.name) if after is not None else None
    ordered = None if memo is None else memo.ordered()
    read = 0
    if ordered is None:
        paged = crm_paging(ctx, selection, ordering)
        if paged is not None:
            with suppress(Unsupported):  # the CRM declined this search: sort here
                crm = await _crm(ctx, paged, selection, ordering, first, start)
                return _remembered(crm, memo)
        searched = await search(ctx, selection)
        if searched is None and ordering.in_link_map:
            page = await _keyset(ctx, selection, ordering, first, start)
            return _remembered(page, memo)
        ordered, read = await _ordered(ctx, selection, ordering, searched)
        if memo is not None:
            memo.keep(ordered)
    index = after_position(ordered, start, ordering.descending)
    chosen = ordered[index : index + first]
    size = len(ordered)

    async def count() -> int:
        return size

    page = Page(
        rows=[(encode(ordering.name, position), Row(entity)) for position, entity in chosen],
        has_next=index + first < size,
        count=count,
        read=read,
        has_previous=index > 0,
    )
    return _remembered(page, memo)


async def _ordered(
    ctx: Context, selection: Selection, ordering: Ordering, searched: Searched | None
) -> tuple[Ordered, int]:
    """The whole list in ``ordering`` (positions and entities) and how many candidates
    were read for it: the search's, or the link map's (at most ``MAX_CANDIDATES``)."""
    if searched is None:
        rows = [Row(entity) for entity in await all_entities(ctx, selection)]
        pushed = False
    else:
        rows, pushed = searched_rows(ctx, selection, searched), searched.pushed
    read = len(rows)
    rows = await meeting(ctx, rows, upstream_conditions(selection, pushed=pushed))
    arranged = await arrange(ctx, rows, ordering)
    return [(position, row.entity) for position, row in arranged], read


def _remembered(page: Page, memo: MemoSlot | None) -> Page:
    """``page`` counting its list through ``memo`` (once per export), its reads added."""
    if memo is None:
        return page
    memo.add_read(page.read)
    count = page.count
    return replace(page, count=lambda: memo.total(count))


async def _crm(
    ctx: Context,
    paged: CrmPaged,
    selection: Selection,
    ordering: Ordering,
    first: int,
    start: Position | None,
) -> Page:
    """A page read in the CRM's order (see :mod:`resolvers.lists.crm_pages`); its count
    is a walk of every candidate (the CRM's whole answer)."""
    page = await crm_page(ctx, paged, selection, ordering, first, start)

    async def count() -> int:
        if selection.accounts is None:  # every customer the link map admits
            return await keyset_count(ctx, selection, upstream_conditions(selection, pushed=False))
        return len(await select(ctx, selection))

    return Page(
        rows=[(encode(ordering.name, position), row) for position, row in page.rows],
        has_next=page.has_next,
        count=count,
        read=page.read,
        has_previous=start is not None,
    )


async def _keyset(
    ctx: Context, selection: Selection, ordering: Ordering, first: int, start: Position | None
) -> Page:
    """A page read in the link map in id order (see :mod:`resolvers.lists.keyset`)."""
    conditions = upstream_conditions(selection, pushed=False)
    page = await keyset_page(
        ctx,
        selection,
        conditions,
        first=first,
        after_id=None if start is None else start.id,
        descending=ordering.descending,
    )

    def cursor(row: Row) -> str:
        return encode(ordering.name, Position(ordering.value(row), row.entity.id))

    return Page(
        rows=[(cursor(row), row) for row in page.rows],
        has_next=page.has_next,
        count=lambda: keyset_count(ctx, selection, conditions),
        read=page.read,
        has_previous=start is not None,
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


@strawberry.type
class ConnectionBase:
    """What every list page has besides its edges: paging, the list's size (counted only
    when asked for) and the work the page took."""

    page_info: PageInfo
    page: strawberry.Private[Page]

    @strawberry.field(
        description="Rows in the whole list, counted only when this field is selected: one "
        "count in the link map, or, when a filter needs upstream data, a walk of every "
        f"candidate (refused past {MAX_CANDIDATES})."
    )
    async def total_count(self) -> int:
        """The list's size (see the field's description)."""
        return await self.page.total()

    @strawberry.field(
        description="Candidate records read to answer this page: about `first` when the "
        "page is read in the link map (ID order), more when a filter needs upstream data "
        "and skips rows; the whole candidate set when the order is computed in the gateway "
        f"(NAME, CREDIT_LIMIT, ...; at most {MAX_CANDIDATES})."
    )
    def records_read(self) -> int:
        """How many candidates this page read."""
        return self.page.read


@strawberry.federation.type(description="A customer in a list.", shareable=True)
class CustomerEdge(EdgeBase):
    """A customer row."""

    node: Customer


@strawberry.federation.type(description="A page of customers.", shareable=True)
class CustomerConnection(ConnectionBase):
    """Customers matching a filter, one page at a time."""

    edges: list[CustomerEdge]

    @staticmethod
    def of(page: Page) -> CustomerConnection:
        """The GraphQL form of a page of customers."""
        edges = [
            CustomerEdge(cursor=c, entity=r.entity, node=Customer(entity=r.entity))
            for c, r in page.rows
        ]
        return CustomerConnection(edges=edges, page_info=_info(page), page=page)


@strawberry.federation.type(description="A project in a list.", shareable=True)
class ProjectEdge(EdgeBase):
    """A project row."""

    node: ProjectType


@strawberry.federation.type(description="A page of projects.", shareable=True)
class ProjectConnection(ConnectionBase):
    """Projects matching a filter, one page at a time."""

    edges: list[ProjectEdge]

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
        return ProjectConnection(edges=edges, page_info=_info(page), page=page)


@strawberry.federation.type(description="A supplier in a list.", shareable=True)
class SupplierEdge(EdgeBase):
    """A supplier row."""

    node: SupplierType


@strawberry.federation.type(description="A page of suppliers.", shareable=True)
class SupplierConnection(ConnectionBase):
    """Suppliers matching a filter, one page at a time."""

    edges: list[SupplierEdge]

    @staticmethod
    def of(page: Page) -> SupplierConnection:
        """The GraphQL form of a page of suppliers."""
        edges = [
            SupplierEdge(cursor=c, entity=r.entity, node=SupplierType(entity=r.entity))
            for c, r in page.rows
        ]
        return SupplierConnection(edges=edges, page_info=_info(page), page=page)


def _info(page: Page) -> PageInfo:
    start, end = (page.rows[0][0], page.rows[-1][0]) if page.rows else (None, None)
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=start,
        end_cursor=end,
    )
