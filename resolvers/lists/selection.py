"""Which entities a list holds: candidates from the link map (or from a search pushed down
to the CRM), narrowed by the principal's row scope, then by the remaining conditions.

Conditions are checked in the order given (link map first, then CRM, ERP, timesheets), each
on the rows the previous ones left, so a narrow early condition spares later reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from linkmap.records import Entity
from linkmap.store import MAX_PAGE
from resolvers.context import Context
from resolvers.errors import BadInput
from resolvers.lists.facts import ACCOUNTS, OVERDUE_INVOICES, Fact, Row, gather_facts
from resolvers.lists.inputs import MAX_KEYS, KeysFilter
from sources.base import AccountSearch, OverdueSearch
from sources.errors import SourceError, Unsupported
from sources.records import AccountQuery, Invoice

MAX_CANDIDATES = 100_000
"""Most link-map entities one list walks; past it the list asks for a narrower filter."""


@dataclass(frozen=True)
class Condition:
    """One filter condition: the facts it reads and the test a row must pass."""

    facts: tuple[Fact, ...]
    holds: Callable[[Row], bool]


@dataclass(frozen=True)
class Selection:
    """What a list selects, before ordering.

    ``keys``: only entities holding one of these keys in that system; ``linked_in``: only
    entities with keys in all these systems; ``accounts``: conditions on the CRM account
    (pushed down to the CRM when every CRM can search and no ``keys`` narrow the list
    already); ``overdue_only``: the conditions admit only customers with an overdue
    invoice (then, failing the above, candidates come from an overdue search in every
    ERP that can do one); ``conditions``: everything else, checked in order;
    ``unlinked_in``: only entities with no key in these systems (the tail of a list
    paged by the CRM: its customers without a CRM account).
    """

    kind: str
    keys: tuple[str, tuple[str, ...]] | None = None
    linked_in: frozenset[str] = frozenset()
    accounts: AccountQuery | None = None
    overdue_only: bool = False
    conditions: Sequence[Condition] = field(default_factory=tuple)
    unlinked_in: frozenset[str] = frozenset()


def keys_filter(ctx: Context, given: KeysFilter | None) -> tuple[str, tuple[str, ...]] | None:
    """The ``keys`` filter checked: a known system and 1 to ``MAX_KEYS`` keys."""
    if given is None:
        return None
    known_system(ctx, "keys.system", given.system)
    if not given.keys or len(given.keys) > MAX_KEYS:
        raise BadInput(f"keys.keys: give 1 to {MAX_KEYS} keys")
    if any(not k or len(k) > 255 for k in given.keys):
        raise BadInput("keys.keys: a key must have 1 to 255 characters")
    return given.system, tuple(dict.fromkeys(given.keys))


def linked_in(ctx: Context, given: list[str] | None) -> frozenset[str]:
    """The ``linkedIn`` filter checked: known system names."""
    if given is None:
        return frozenset()
    if not given:
        raise BadInput("linkedIn: give at least one system")
    for system in given:
        known_system(ctx, "linkedIn", system)
    return frozenset(given)


def known_system(ctx: Context, where: str, system: str) -> None:
    """``BadInput`` unless ``system`` is configured."""
    if system not in ctx.systems:
        known = ", ".join(ctx.systems.sources)
        raise BadInput(f"{where}: unknown system {system!r}; known systems: {known}")


@dataclass(frozen=True)
class Searched:
    """Candidates found by a search pushed down to the CRM or the ERP: the entities,
    whether the CRM conditions were pushed down, and the overdue invoices per entity id
    when the candidates came from an overdue search."""

    entities: list[Entity]
    pushed: bool
    overdue: dict[int, list[Invoice]] | None = None


async def select(ctx: Context, selection: Selection) -> list[Row]:
    """The rows of ``selection`` in link-map id order, every condition met (the whole
    list: at most ``MAX_CANDIDATES`` candidates are read)."""
    return (await candidates(ctx, selection))[0]


async def candidates(ctx: Context, selection: Selection) -> tuple[list[Row], int]:
    """The rows of ``selection`` in link-map id order, every condition met, and how many
    candidates were read to find them (from a search, or from the link map: at most
    ``MAX_CANDIDATES``)."""
    searched = await search(ctx, selection)
    if searched is None:
        rows = [Row(entity) for entity in await all_entities(ctx, selection)]
        read = len(rows)
        return await meeting(ctx, rows, upstream_conditions(selection, pushed=False)), read
    rows = searched_rows(ctx, selection, searched)
    read = len(rows)
    return await meeting(ctx, rows, upstream_conditions(selection, pushed=searched.pushed)), read


def searched_rows(ctx: Context, selection: Selection, searched: Searched) -> list[Row]:
    """The rows of a search's candidates within the principal's scope and ``linked_in``,
    in link-map id order, with the overdue invoices the search found."""
    unique = {entity.id: entity for entity in searched.entities}
    scope = ctx.scope
    chosen = sorted(
        (
            entity
            for entity in unique.values()
            if (scope is None or scope.admits(entity))
            and all(entity.keys_in(system) for system in selection.linked_in)
            and not any(entity.keys_in(system) for system in selection.unlinked_in)
            and _has_keys(entity, selection.keys)
        ),
        key=lambda entity: entity.id,
    )
    rows = [Row(entity) for entity in chosen]
    if searched.overdue is not None:
        for row in rows:
            row.facts[OVERDUE_INVOICES.name] = searched.overdue.get(row.entity.id, [])
    return rows


def _has_keys(entity: Entity, keys: tuple[str, tuple[str, ...]] | None) -> bool:
    if keys is None:
        return True
    system, wanted = keys
    return any(key in wanted for key in entity.keys_in(system))


def upstream_conditions(selection: Selection, *, pushed: bool) -> list[Condition]:
    """The conditions that need upstream data, in the order to check them: the CRM
    account's first (unless the CRM searched for them: ``pushed``), then the others."""
    conditions = list(selection.conditions)
    query = selection.accounts
    if query is not None and not pushed:
        conditions.insert(
            0, Condition((ACCOUNTS,), lambda r: any(query.matches(a) for a in r.fact(ACCOUNTS)))
        )
    return conditions


async def meeting(ctx: Context, rows: list[Row], conditions: Sequence[Condition]) -> list[Row]:
    """The rows meeting every condition, each checked on the rows the previous left."""
    for condition in conditions:
        if not rows:
            break
        await gather_facts(ctx, rows, condition.facts)
        rows = [row for row in rows if condition.holds(row)]
    return rows


async def search(ctx: Context, selection: Selection) -> Searched | None:
    """The candidates of a search pushed down upstream, or ``None`` when none applies
    (then the list's candidates are the link map's entities). A ``keys`` filter is
    answered in the link map; otherwise the CRM searches for the account conditions
    when every CRM can, else every ERP searches overdue invoices when the conditions
    admit only customers with one."""
    if selection.keys is not None:
        return None
    kind = selection.kind
    if selection.accounts is not None:
        found = await search_accounts(ctx, kind, selection.accounts)
        if found is not None:
            return Searched(found, pushed=True)
    if selection.overdue_only:
        overdue = await search_overdue(ctx, kind)
        if overdue is not None:
            entities = list((await ctx.links.get_many(overdue)).values())
            return Searched(entities, pushed=False, overdue=overdue)
    return None


async def all_entities(ctx: Context, selection: Selection) -> list[Entity]:
    """Every entity of the selection's kind that the link map itself admits (its
    ``keys`` and ``linked_in`` filters and the principal's scope, all in SQL), in id
    order, a page of ``MAX_PAGE`` at a time; ``BadInput`` past ``MAX_CANDIDATES``."""
    found: list[Entity] = []
    after: int | None = None
    while True:
        page = await link_map_page(ctx, selection, after_id=after, limit=MAX_PAGE)
        found.extend(page)
        if len(found) > MAX_CANDIDATES:
            raise BadInput(too_many(selection.kind))
        if len(page) < MAX_PAGE:
            return found
        after = page[-1].id


def too_many(kind: str) -> str:
    """The refusal of a list whose order or filter, computed in the gateway, would read
    more than ``MAX_CANDIDATES`` candidates."""
    return (
        f"this order or filter is computed in the gateway and would read more than "
        f"{MAX_CANDIDATES} {kind}s; narrow the list with keys, linkedIn or a CRM filter, "
        "or order by ID"
    )


async def link_map_page(
    ctx: Context,
    selection: Selection,
    *,
    after_id: int | None,
    limit: int,
    descending: bool = False,
) -> list[Entity]:
    """One keyset page of the entities the link map admits for ``selection`` (its
    ``keys`` and ``linked_in`` filters and the principal's scope, in SQL)."""
    return await ctx.links.page_entities(
        selection.kind,
        after_id=after_id,
        limit=limit,
        descending=descending,
        linked_in=selection.linked_in,
        scope=ctx.scope,
        keys=selection.keys,
        unlinked_in=selection.unlinked_in,
    )


async def link_map_count(ctx: Context, selection: Selection) -> int:
    """How many entities the link map admits for ``selection`` (one ``COUNT``)."""
    return await ctx.links.count_entities(
        selection.kind,
        linked_in=selection.linked_in,
        scope=ctx.scope,
        keys=selection.keys,
        unlinked_in=selection.unlinked_in,
    )


async def _ask_every(
    ctx: Context,
    kind: str,
    protocol: type,
    ask: Callable[[Any], Awaitable[Any]],
) -> list[tuple[str, Any]] | None:
    """``ask`` of every system of ``kind`` at once, as ``(system, answer)`` pairs; ``None``
    when some system does not offer ``protocol`` (the caller then filters itself). Each
    system's outcome is recorded in the request's states; the first failure is raised."""
    systems = ctx.systems.of_kind(kind)
    sources = [ctx.systems.sources[system] for system in systems]
    if not systems or not all(isinstance(source, protocol) for source in sources):
        return None
    results = await asyncio.gather(*(ask(source) for source in sources), return_exceptions=True)
    if any(isinstance(result, Unsupported) for result in results):
        return None
    for system, result in zip(systems, results, strict=True):
        if isinstance(result, SourceError):
            ctx.states.failed(system, result)
            raise result
        if isinstance(result, BaseException):
            raise result
        ctx.states.ok(system)
    return list(zip(systems, results, strict=True))


async def search_accounts(ctx: Context, kind: str, query: AccountQuery) -> list[Entity] | None:
    """The entities linked to the CRM accounts matching ``query``, asked of every CRM at
    once; ``None`` when some CRM cannot search (the caller then filters accounts itself).

    The accounts found are handed to the request's ``accounts`` loaders, so the rows'
    ``account`` fields read nothing more.
    """
    answers = await _ask_every(
        ctx, "crm", AccountSearch, lambda source: source.search_accounts(query)
    )
    if answers is None:
        return None
    entities: list[Entity] = []
    for system, accounts in answers:
        ctx.loaders.source(system, "accounts", many=False).prime_many(dict(accounts))
        if accounts:
            linked = await ctx.links.resolve_many(kind, system, list(accounts))
            entities.extend(linked.values())
    return entities


async def search_overdue(ctx: Context, kind: str) -> dict[int, list[Invoice]] | None:
    """Overdue invoices per linked entity id, asked of every ERP at once (one listing of
    the overdue invoices each); ``None`` when some ERP cannot search."""
    answers = await _ask_every(
        ctx, "erp", OverdueSearch, lambda source: source.overdue_invoices(ctx.today)
    )
    if answers is None:
        return None
    found: dict[int, list[Invoice]] = {}
    for system, invoices in answers:
        if invoices:
            linked = await ctx.links.resolve_many(kind, system, list(invoices))
            for key, entity in linked.items():
                found.setdefault(entity.id, []).extend(invoices[key])
    return found
