"""Customer lists paged by the CRM's own search: the CRM filters AND orders its accounts a
page at a time (:class:`sources.base.AccountSearchPages`), and only the accounts of the
page are resolved in the link map. A page then costs the same upstream calls at 1,000 or
10,000 customers.

It applies to a customer list ordered by a CRM field the one configured CRM can order its
search by: SEGMENT, OWNER, TEAM or COUNTRY, and NAME only with a CRM filter (segment,
owner, team, country), since then every row has a CRM account. The list's order is the
CRM's: by the field as the CRM sorts it, ties by account key. Without a CRM filter the
customers without a CRM account follow, as in every order (no value sorts last), in
link-map id order, read in the link map by keyset (their cursor holds the id alone).
Accounts linked to no customer, outside the principal's scope or failing ``linkedIn`` are
skipped; conditions on upstream data (ERP, timesheets) are checked on each chunk. A row's
cursor keeps the CRM page token it was read from and its account key; the next page asks
for that CRM page again and resumes after the account.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from linkmap.records import Entity
from resolvers.context import Context
from resolvers.errors import BadInput
from resolvers.lists.cursors import Position
from resolvers.lists.facts import Row
from resolvers.lists.keyset import keyset_page
from resolvers.lists.ordering import Ordering, text
from resolvers.lists.selection import (
    MAX_CANDIDATES,
    Selection,
    meeting,
    upstream_conditions,
)
from sources.base import AccountPage, AccountSearchPages
from sources.errors import SourceError, Unsupported
from sources.records import AccountQuery

CRM_PAGE = 200
"""Accounts asked of the CRM per request (always the same, so that a page asked again
from its token holds the same accounts)."""


@dataclass(frozen=True)
class CrmPaged:
    """The CRM that pages a list, by name, and the account field it orders by."""

    system: str
    source: AccountSearchPages
    field: str


@dataclass(frozen=True)
class CrmPage:
    """Up to ``first`` rows with their positions (``resume`` set), whether more follow,
    and how many CRM accounts were read."""

    rows: list[tuple[Position, Row]]
    has_next: bool
    read: int


def crm_paging(ctx: Context, selection: Selection, ordering: Ordering) -> CrmPaged | None:
    """The CRM that can page this list (see the module docstring), or ``None``."""
    field = ordering.crm_field
    if selection.kind != "customer" or field is None or selection.keys is not None:
        return None
    if selection.accounts is None and field == "name":  # the ERP names those without
        return None
    systems = ctx.systems.of_kind("crm")
    if len(systems) != 1:
        return None
    source = ctx.systems.sources[systems[0]]
    if not isinstance(source, AccountSearchPages) or field not in source.account_orders:
        return None
    return CrmPaged(systems[0], source, field)


async def crm_page(
    ctx: Context,
    paged: CrmPaged,
    selection: Selection,
    ordering: Ordering,
    first: int,
    start: Position | None,
) -> CrmPage:
    """The first ``first`` rows after ``start`` in the CRM's order (``first + 1`` found
    to know whether more follow). ``BadInput`` for a cursor not read from the CRM, or
    when a page would read more than ``MAX_CANDIDATES`` accounts."""
    tail = selection.accounts is None
    in_tail = start is not None and start.resume is None
    if in_tail and not (tail and start is not None and start.value is None):
        raise BadInput("after: this cursor is not one of this list; start again without after")
    token: str | None = None
    skip_to: str | None = None
    if start is not None and start.resume is not None:
        token, skip_to = start.resume
    conditions = upstream_conditions(selection, pushed=True)
    wanted = first + 1
    found: list[tuple[Position, Row]] = []
    seen: set[int] = set()
    read = 0
    while not in_tail and len(found) < wanted:
        page = await _ask(ctx, paged, selection, ordering, token)
        read += len(page.accounts)
        accounts = list(page.accounts)
        if skip_to is not None:
            keys = [key for key, _ in accounts]
            accounts = accounts[keys.index(skip_to) + 1 :] if skip_to in keys else accounts
            skip_to = None
        by_key = dict(accounts)
        rows = await _rows(ctx, paged, selection, list(by_key), seen)
        kept = {id(row) for row in await meeting(ctx, [row for _, row in rows], conditions)}
        for key, row in rows:
            if id(row) in kept:
                value = text(getattr(by_key[key], paged.field))
                found.append((Position(value, row.entity.id, (token, key)), row))
        if page.next is None:
            break
        if read >= MAX_CANDIDATES and len(found) < wanted:
            raise BadInput(
                f"the filter matched too few of the first {read} CRM accounts read for this "
                "page; narrow the list"
            )
        token = page.next
    more = False
    if tail and len(found) < wanted:
        rest = await keyset_page(
            ctx,
            replace(selection, unlinked_in=frozenset({paged.system})),
            conditions,
            first=wanted - len(found),
            after_id=start.id if in_tail and start is not None else None,
            descending=False,
        )
        read += rest.read
        found.extend((Position(None, row.entity.id), row) for row in rest.rows)
        more = rest.has_next
    return CrmPage(found[:first], more or len(found) > first, read)


async def _ask(
    ctx: Context, paged: CrmPaged, selection: Selection, ordering: Ordering, token: str | None
) -> AccountPage:
    """One page of the CRM's search, recorded in the request's source states; the
    accounts found are handed to the request's loaders (the rows' ``account`` fields
    then read nothing more)."""
    try:
        page = await paged.source.search_account_page(
            selection.accounts or AccountQuery(),
            order_by=paged.field,
            descending=ordering.descending,
            after=token,
            limit=CRM_PAGE,
        )
    except Unsupported:
        raise
    except SourceError as exc:
        ctx.states.failed(paged.system, exc)
        raise
    ctx.states.ok(paged.system)
    loader = ctx.loaders.source(paged.system, "accounts", many=False)
    loader.prime_many(dict(page.accounts))
    return page


async def _rows(
    ctx: Context, paged: CrmPaged, selection: Selection, keys: list[str], seen: set[int]
) -> list[tuple[str, Row]]:
    """``(account key, row)`` for the accounts linked to a customer the link map admits
    (scope, ``linkedIn``), in the CRM's order; a customer already ``seen`` (a second
    account of it) is skipped."""
    if not keys:
        return []
    linked = await ctx.links.resolve_many(selection.kind, paged.system, keys)
    scope = ctx.scope
    rows: list[tuple[str, Row]] = []
    for key in keys:
        entity: Entity | None = linked.get(key)
        if entity is None or entity.id in seen:
            continue
        if scope is not None and not scope.admits(entity):
            continue
        if not all(entity.keys_in(system) for system in selection.linked_in):
            continue
        seen.add(entity.id)
        rows.append((key, Row(entity)))
    return rows
