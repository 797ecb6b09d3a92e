"""Argument checks shared by the link map's write and read paths.

Each function returns the value in canonical form or raises :class:`InvalidInput`;
none of them touches the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

from linkmap.errors import InvalidInput
from linkmap.models import (
    ACTOR_MAX,
    FINGERPRINT_MAX,
    KEY_MAX,
    KINDS,
    PROVENANCES,
    SCOPE_MAX,
    SYSTEM_MAX,
)

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


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a control character (NUL, line breaks, DEL...): no system's
    key does, and some databases refuse them (PostgreSQL text cannot hold NUL)."""
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value)


def is_key(value: object) -> bool:
    """Whether ``value`` can be a key: 1..255 characters, none of them a control
    character."""
    return (
        isinstance(value, str) and 0 < len(value) <= KEY_MAX and not has_control_characters(value)
    )


def key(value: str) -> str:
    """Return ``value`` if it is a valid key (1..255 characters, no control characters)."""
    _text("key", value, KEY_MAX)
    if has_control_characters(value):
        raise InvalidInput(f"key {value[:40]!r} holds a control character")
    return value


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


def scope(value: str) -> str:
    """Return ``value`` if it is a valid idempotency scope (1..255 characters)."""
    return _text("scope", value, SCOPE_MAX)


def idempotency_key(value: str) -> str:
    """Return ``value`` if it is a valid idempotency key (1..255 characters)."""
    return _text("idempotency key", value, KEY_MAX)


def fingerprint(value: str) -> str:
    """Return ``value`` if it is a valid request fingerprint (1..128 characters)."""
    return _text("fingerprint", value, FINGERPRINT_MAX)


def text(what: str, value: str, maximum: int) -> str:
    """Return ``value`` if it is a string of 1..``maximum`` characters."""
    return _text(what, value, maximum)


def optional_text(what: str, value: str | None, maximum: int) -> str | None:
    """Return ``value`` if it is None or a string of 1..``maximum`` characters."""
    return None if value is None else _text(what, value, maximum)


def json_object(what: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``value`` as a plain JSON object that reads back from either database exactly
    as returned here.

    Accepted: mappings with string keys, lists and tuples (returned as lists), strings,
    ints, finite floats, bools, None, and :class:`~decimal.Decimal` (returned as its exact
    string form, never a float). Anything else (other key types, NaN/infinity, sets,
    datetimes, bytes, ...) raises :class:`InvalidInput`.
    """
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a mapping (a JSON object), got {type(value).__name__}")
    result: dict[str, Any] = _json(what, value)
    return result


def _json(path: str, value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{path} is {value!r}, which JSON cannot represent")
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInput(f"{path} has a non-string key {k!r}")
            out[k] = _json(f"{path}.{k}", v)
        return out
    if isinstance(value, list | tuple):
        return [_json(f"{path}[{i}]", v) for i, v in enumerate(value)]
    raise InvalidInput(f"{path} holds a {type(value).__name__}, which is not JSON")


def provenance(value: str) -> str:
    """Return ``value`` if it is one of :data:`linkmap.models.PROVENANCES`."""
    if value not in PROVENANCES:
        raise InvalidInput(
            f"unknown provenance {value!r}; expected one of {', '.join(PROVENANCES)}"
        )
    return value


def validity(valid_from: date | None, valid_to: date | None) -> tuple[date | None, date | None]:
    """Return the validity period if it is empty, open on one side, or ``from <= to``."""
    if valid_from is not None and valid_to is not None and valid_from > valid_to:
        raise InvalidInput(f"valid_from {valid_from} is after valid_to {valid_to}")
    return valid_from, valid_to


ENTITY_KINDS_BY_SYSTEM_KIND: Final[Mapping[str, frozenset[str]]] = {
    "erp": frozenset({"customer", "supplier", "project", "order"}),
    "crm": frozenset({"customer", "order"}),
    "timesheet": frozenset({"customer", "project"}),
}
"""Which entity kinds a system of each kind holds keys of (the table ``keylink links add``
checks with, ``gateway.cli.main.ENTITY_KINDS_BY_SYSTEM_KIND``)."""


def _and(words: Iterable[str]) -> str:
    *rest, last = sorted(words)
    return f"{', '.join(rest)} and {last}" if rest else last


def link_problems(
    entity_kind: str, systems: Iterable[str], configured: Mapping[str, frozenset[str]]
) -> list[str]:
    """Why keys of ``entity_kind`` in ``systems`` do not fit the configured systems
    (``configured``: system name -> the system's kinds, e.g. ``{"erp": {"erp"}}``), in
    the words of ``keylink links add``: an unknown kind or system (naming the valid
    ones), or a system whose kinds hold no entities of ``entity_kind``. Empty: they fit."""
    problems: list[str] = []
    if entity_kind not in KINDS:
        problems.append(f"unknown entity kind {entity_kind!r}; expected one of {', '.join(KINDS)}")
        return problems
    names = ", ".join(configured) or "none (the configuration has no systems:)"
    for name in dict.fromkeys(systems):
        kinds = configured.get(name)
        if kinds is None:
            problems.append(f"unknown system {name!r}; configured systems: {names}")
            continue
        if not kinds <= ENTITY_KINDS_BY_SYSTEM_KIND.keys():
            continue
        holds = set().union(*(ENTITY_KINDS_BY_SYSTEM_KIND[k] for k in kinds))
        if entity_kind not in holds:
            label = "kinds" if len(kinds) > 1 else "kind"
            problems.append(
                f"system {name!r} ({label} {', '.join(sorted(kinds))}) cannot hold "
                f"{entity_kind} keys; it holds {_and(holds)} keys"
            )
    return problems
