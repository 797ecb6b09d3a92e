"""Keylink's link map: the only persistent state.

Entities (customers, suppliers, projects), their keys per upstream system, and the
history of link changes. Use :class:`LinkStore`; create/upgrade the schema with
:func:`linkmap.migrate.upgrade`. This package imports nothing from the rest of Keylink.
"""

from linkmap.db import create_engine, session_factory
from linkmap.errors import (
    ConcurrentChange,
    EntityNotFound,
    InvalidInput,
    KeyAlreadyLinked,
    KeyNotLinked,
    LinkMapError,
)
from linkmap.models import KINDS
from linkmap.records import Entity, LinkChange
from linkmap.store import LinkStore

__all__ = [
    "KINDS",
    "ConcurrentChange",
    "Entity",
    "EntityNotFound",
    "InvalidInput",
    "KeyAlreadyLinked",
    "KeyNotLinked",
    "LinkChange",
    "LinkMapError",
    "LinkStore",
    "create_engine",
    "session_factory",
]
