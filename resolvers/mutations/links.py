"""Link administration (role ``admin``): link, unlink, move, merge, split, set a link's
validity, undo; each a recorded change of the link map (:class:`linkmap.store.LinkStore`)
with who (the principal), when and why (``reason``).

Only configured systems holding the entity's kind are accepted: anything else is
``BAD_INPUT`` naming the configured systems (the words of ``keylink links add``). A key
held by another entity is ``CONFLICT`` (of two concurrent links of one key exactly one
wins); a change that cannot be undone exactly, or was undone already, is ``CONFLICT``; an
unknown entity, key or change is ``NOT_FOUND``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import date
from typing import Annotated, TypeVar

import strawberry

from linkmap import validate
from linkmap.changes import (
    AlreadyUndone,
    AppliedChange,
    ChangeNotFound,
    KeyLink,
    LinkedEntity,
    UndoConflict,
)
from linkmap.errors import (
    ConcurrentChange,
    EntityNotFound,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
)
from resolvers.context import Context, context_of
from resolvers.error_codes import BadInput, ErrorCode, KeylinkError
from resolvers.permissions import IsAdmin

_T = TypeVar("_T")


@strawberry.type(description="A key of an entity with where the link came from and when it holds.")
class KeyLinkInfo:
    """One link of an entity."""

    system: str
    key: str
    provenance: str = strawberry.field(description="manual, import or suggestion")
    valid_from: date | None = strawberry.field(description="First day the link holds; null: open.")
    valid_to: date | None = strawberry.field(description="Last day the link holds; null: open.")

    @classmethod
    def of(cls, link: KeyLink) -> KeyLinkInfo:
        """The GraphQL form of ``link``."""
        return cls(
            system=link.system,
            key=link.key,
            provenance=link.provenance,
            valid_from=link.valid_from,
            valid_to=link.valid_to,
        )


@strawberry.type(description="An entity of the link map with all its links.")
class LinkedEntityInfo:
    """An entity and its links, oldest first."""

    id: int
    kind: str
    links: list[KeyLinkInfo]

    @classmethod
    def of(cls, entity: LinkedEntity) -> LinkedEntityInfo:
        """The GraphQL form of ``entity``."""
        return cls(id=entity.id, kind=entity.kind, links=[KeyLinkInfo.of(k) for k in entity.links])


@strawberry.type(description="A change of the link map and the entities it touched.")
class LinkChangeResult:
    """The result of a link administration mutation."""

    change_id: int | None = strawberry.field(
        description="The recorded change (undo it with undoLinkChange); null: nothing changed."
    )
    operation: str
    entities: list[LinkedEntityInfo] = strawberry.field(
        description="The entities the change touched, as they now are (deleted ones left out)."
    )

    @classmethod
    def of(cls, applied: AppliedChange) -> LinkChangeResult:
        """The GraphQL form of ``applied``."""
        return cls(
            change_id=applied.change_id,
            operation=applied.operation,
            entities=[LinkedEntityInfo.of(e) for e in applied.entities],
        )


@strawberry.input(description="A key in a configured system.")
class LinkKeyInput:
    """One ``(system, key)`` pair."""

    system: str
    key: str


def configured_kinds(ctx: Context) -> dict[str, frozenset[str]]:
    """System name -> its kinds, for :func:`linkmap.validate.link_problems`."""
    return {name: frozenset(source.kinds) for name, source in ctx.systems.sources.items()}


def check_systems(ctx: Context, kind: str, systems: Iterable[str]) -> None:
    """Raise ``BAD_INPUT`` (naming the configured systems) unless every system in
    ``systems`` is configured and holds ``kind`` keys."""
    problems = validate.link_problems(kind, systems, configured_kinds(ctx))
    if problems:
        raise BadInput("; ".join(problems))


async def _kind_of(ctx: Context, entity_id: int) -> str:
    found = await ctx.links.linked([entity_id])
    if entity_id not in found:
        raise KeylinkError(ErrorCode.NOT_FOUND, f"entity {entity_id} not found")
    return found[entity_id].kind


async def _typed(work: Awaitable[_T]) -> _T:
    """Run ``work``, turning the link map's errors into stable codes."""
    try:
        return await work
    except (KeyAlreadyLinked, AlreadyUndone, UndoConflict, ConcurrentChange) as exc:
        raise KeylinkError(ErrorCode.CONFLICT, str(exc)) from exc
    except (EntityNotFound, KeyNotLinked, ChangeNotFound) as exc:
        raise KeylinkError(ErrorCode.NOT_FOUND, str(exc)) from exc
    except InvalidInput as exc:
        raise BadInput(str(exc)) from exc


Reason = Annotated[str | None, strawberry.argument(description="Why (kept in the link history).")]
"""The ``reason`` argument of every mutation here."""


@strawberry.type
class LinkMutation:
    """Link administration; every field needs the admin role."""

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Create an entity of `kind` linking `keys` (each in a configured system).",
    )
    async def create_linked_entity(
        self,
        info: strawberry.Info,
        kind: str,
        keys: list[LinkKeyInput],
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Create an entity with its keys."""
        ctx = context_of(info)
        check_systems(ctx, kind, [k.system for k in keys])
        key_map: dict[str, list[str]] = {}
        for pair in keys:
            key_map.setdefault(pair.system, []).append(pair.key)
        entity = await _typed(
            ctx.links.create_entity(kind, key_map, actor=ctx.principal, note=reason)
        )
        changes = await ctx.links.changes(entity_id=entity.id, limit=1)
        linked = await ctx.links.linked([entity.id])
        return LinkChangeResult(
            change_id=changes[0].id if changes else None,
            operation="create",
            entities=[LinkedEntityInfo.of(linked[entity.id])],
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Link `key` in `system` to an entity, optionally for a validity period.",
    )
    async def link_key(
        self,
        info: strawberry.Info,
        entity_id: int,
        system: str,
        key: str,
        valid_from: date | None = None,
        valid_to: date | None = None,
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Link one key."""
        ctx = context_of(info)
        check_systems(ctx, await _kind_of(ctx, entity_id), [system])
        applied = await _typed(
            ctx.links.link_key(
                entity_id,
                system,
                key,
                actor=ctx.principal,
                reason=reason,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        )
        return LinkChangeResult.of(applied)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Unlink `key` in `system` from an entity."
    )
    async def unlink_key(
        self,
        info: strawberry.Info,
        entity_id: int,
        system: str,
        key: str,
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Unlink one key."""
        ctx = context_of(info)
        check_systems(ctx, await _kind_of(ctx, entity_id), [system])
        applied = await _typed(
            ctx.links.unlink_key(entity_id, system, key, actor=ctx.principal, reason=reason)
        )
        return LinkChangeResult.of(applied)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Set (or clear, with nulls) the validity period of an entity's link.",
    )
    async def set_link_validity(
        self,
        info: strawberry.Info,
        entity_id: int,
        system: str,
        key: str,
        valid_from: date | None = None,
        valid_to: date | None = None,
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Change one link's validity period."""
        ctx = context_of(info)
        check_systems(ctx, await _kind_of(ctx, entity_id), [system])
        applied = await _typed(
            ctx.links.set_validity(
                entity_id, system, key, valid_from, valid_to, actor=ctx.principal, reason=reason
            )
        )
        return LinkChangeResult.of(applied)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Move `key` in `system` from the entity holding it to `toEntityId`.",
    )
    async def move_key(
        self,
        info: strawberry.Info,
        system: str,
        key: str,
        to_entity_id: int,
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Move one key to another entity of the same kind."""
        ctx = context_of(info)
        check_systems(ctx, await _kind_of(ctx, to_entity_id), [system])
        applied = await _typed(
            ctx.links.move_key(system, key, to_entity_id, actor=ctx.principal, reason=reason)
        )
        return LinkChangeResult.of(applied)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Move every key of `fromId` to `intoId` and delete `fromId` (undoable).",
    )
    async def merge_entities(
        self,
        info: strawberry.Info,
        into_id: int,
        from_id: int,
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Merge two entities of one kind."""
        ctx = context_of(info)
        applied = await _typed(
            ctx.links.merge(into_id, from_id, actor=ctx.principal, reason=reason)
        )
        return LinkChangeResult.of(applied)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Move `keys` of an entity to a new entity of its kind.",
    )
    async def split_entity(
        self,
        info: strawberry.Info,
        entity_id: int,
        keys: list[LinkKeyInput],
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Split keys off into a new entity."""
        ctx = context_of(info)
        check_systems(ctx, await _kind_of(ctx, entity_id), [k.system for k in keys])
        pairs = [(k.system, k.key) for k in keys]
        applied = await _typed(
            ctx.links.split(entity_id, pairs, actor=ctx.principal, reason=reason)
        )
        return LinkChangeResult.of(applied)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Revert a recorded change exactly (CONFLICT if later changes touched it).",
    )
    async def undo_link_change(
        self,
        info: strawberry.Info,
        change_id: int,
        reason: Reason = None,
    ) -> LinkChangeResult:
        """Undo one change."""
        ctx = context_of(info)
        applied = await _typed(ctx.links.undo(change_id, actor=ctx.principal, reason=reason))
        return LinkChangeResult.of(applied)
