"""Typed errors raised by the link map.

Every error the link map raises on purpose derives from :class:`LinkMapError`, so a caller
can map the whole family once (e.g. to a stable GraphQL code) without knowing SQL.
Database driver errors never leave :class:`linkmap.store.LinkStore` for the expected
outcomes below; an unreachable database still surfaces as the driver/SQLAlchemy error.
"""

from __future__ import annotations


class LinkMapError(Exception):
    """Base class of every deliberate link-map error."""


class InvalidInput(LinkMapError, ValueError):
    """An argument is malformed: unknown kind, empty or over-long system/key/actor,
    an entity without keys, a page size out of range, or a bulk import whose entries
    contradict each other. Nothing was written."""


class EntityNotFound(LinkMapError):
    """No entity with ``entity_id`` exists (never did, or was deleted). Nothing was written."""

    def __init__(self, entity_id: int) -> None:
        self.entity_id = entity_id
        super().__init__(f"entity {entity_id} not found")


class KeyAlreadyLinked(LinkMapError):
    """``(kind, system, key)`` already belongs to the persisted entity ``entity_id``.

    A key belongs to at most one entity; the operation that raised this wrote nothing.
    """

    def __init__(self, kind: str, system: str, key: str, entity_id: int) -> None:
        self.kind = kind
        self.system = system
        self.key = key
        self.entity_id = entity_id
        super().__init__(f"{kind} key {system}:{key!r} is already linked to entity {entity_id}")


class KeyNotLinked(LinkMapError):
    """``(system, key)`` is not linked to entity ``entity_id``. Nothing was written."""

    def __init__(self, entity_id: int, system: str, key: str) -> None:
        self.entity_id = entity_id
        self.system = system
        self.key = key
        super().__init__(f"key {system}:{key!r} is not linked to entity {entity_id}")


class ConcurrentChange(LinkMapError):
    """A write kept colliding with concurrent writers and was given up after a few
    attempts. Nothing was written; the caller may retry."""


class IdempotencyRecordMissing(LinkMapError):
    """No live idempotency record exists for ``(scope, key)``: it was never claimed, was
    released, or has expired. Nothing was written."""

    def __init__(self, scope: str, key: str) -> None:
        self.scope = scope
        self.key = key
        super().__init__(f"no live idempotency record for key {key!r} in scope {scope!r}")


class IdempotencyStateError(LinkMapError):
    """The idempotency record of ``(scope, key)`` is in ``state``, which does not allow the
    requested transition (e.g. completing a record that is already ``done``, which would
    replace an outcome a client may already have seen). Nothing was written."""

    def __init__(self, scope: str, key: str, state: str, operation: str) -> None:
        self.scope = scope
        self.key = key
        self.state = state
        self.operation = operation
        super().__init__(
            f"cannot {operation} idempotency record {key!r} in scope {scope!r}: it is {state}"
        )
