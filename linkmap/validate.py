"""Argument checks shared by the link map's write and read paths.

Each function returns the value in canonical form or raises :class:`InvalidInput`;
none of them touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from linkmap.errors import InvalidInput
from linkmap.models import ACTOR_MAX, KEY_MAX, KINDS, SYSTEM_MAX

KeyMap = dict[str, tuple[str, ...]]


def kind(value: str) -> str:
    """Return ``value`` if it is one of :data:`linkmap.models.KINDS`."""
    if value not in KINDS:
        raise InvalidInput(f"unknown entity kind {value!r}; expected one of {', '.join(KINDS)}")
    return value


def _text(what: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters: {value[:40]!r}...")
    return value


def system(value: str) -> str:
    """Return ``value`` if it is a valid system name (1..64 characters)."""
    return _text("system", value, SYSTEM_MAX)


def key(value: str) -> str:
    """Return ``value`` if it is a valid key (1..255 characters)."""
    return _text("key", value, KEY_MAX)


def actor(value: str) -> str:
    """Return ``value`` if it is a valid actor (1..255 characters)."""
    return _text("actor", value, ACTOR_MAX)


def key_map(keys: Mapping[str, Sequence[str]]) -> KeyMap:
    """Return ``keys`` as system -> unique keys in first-seen order, requiring at least one
    key overall. A bare string where a sequence of keys is expected is rejected (it would
    otherwise be split into characters)."""
    result: KeyMap = {}
    for sys_name, values in keys.items():
        system(sys_name)
        if isinstance(values, str | bytes):
            raise InvalidInput(f"keys of system {sys_name!r} must be a sequence of strings")
        unique = tuple(dict.fromkeys(key(v) for v in values))
        if unique:
            result[sys_name] = unique
    if not result:
        raise InvalidInput("an entity needs at least one key")
    return result


def limit(value: int, maximum: int) -> int:
    """Return ``value`` if ``1 <= value <= maximum``."""
    if not 1 <= value <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}, got {value}")
    return value
