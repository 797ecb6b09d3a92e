"""Keylink's link map: the only persistent state.

Entities (customers, suppliers, projects, sales orders), their keys per upstream system,
and the history of link changes (:class:`LinkStore`); the idempotency records of forwarded
writes (:class:`IdempotencyStore`) and their append-only audit (:class:`AuditLog`); the API
keys of machine clients (:class:`ApiKeyStore`). Create/upgrade the schema with
:func:`linkmap.migrate.upgrade`. This package imports nothing from the rest of Keylink.
"""

from linkmap.api_keys import ApiKeyNotFound, ApiKeyRecord, ApiKeyStore
from linkmap.audit import AuditEvent, AuditLog
from linkmap.db import create_engine, session_factory
from linkmap.errors import (
    ConcurrentChange,
    EntityNotFound,
    IdempotencyRecordMissing,
    IdempotencyStateError,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
    LinkMapError,
)
from linkmap.idempotency import IdempotencyRecord, IdempotencyStore
from linkmap.models import KINDS
from linkmap.records import Entity, LinkChange
from linkmap.store import LinkStore

__all__ = [
    "KINDS",
    "ApiKeyNotFound",
    "ApiKeyRecord",
    "ApiKeyStore",
    "AuditEvent",
    "AuditLog",
    "ConcurrentChange",
    "Entity",
    "EntityNotFound",
    "IdempotencyRecord",
    "IdempotencyRecordMissing",
    "IdempotencyStateError",
    "IdempotencyStore",
    "InvalidInput",
    "KeyAlreadyLinked",
    "KeyNotLinked",
    "LinkChange",
    "LinkMapError",
    "LinkStore",
    "create_engine",
    "session_factory",
]
