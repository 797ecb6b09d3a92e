"""Which configured system a request names, refused with the list of valid names."""

from __future__ import annotations

from collections.abc import Mapping

from linkmap import validate
from resolvers.error_codes import BadInput
from sources.base import Source
from sources.browse import browse_kind


def system_named(sources: Mapping[str, Source], name: str) -> Source:
    """The configured system ``name``; ``BadInput`` listing the configured ones else."""
    source = sources.get(name)
    if source is None:
        valid = ", ".join(sources) or "none"
        raise BadInput(f"unknown system {name!r}; configured systems: {valid}")
    return source


def kind_named(word: str) -> str:
    """The entity kind ``word`` names (``customers``, ``accounts``... accepted);
    ``BadInput`` listing the valid kinds else."""
    try:
        return browse_kind(word)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def checked_key(system: str, key: str) -> tuple[str, str]:
    """``(system, key)`` when the link map can hold that key; ``BadInput`` else (empty,
    too long, or with control characters)."""
    if not validate.is_key(key):
        raise BadInput(f"{system}: not a key the link map can hold: {key[:40]!r}")
    return system, key


__all__ = ["checked_key", "kind_named", "system_named"]
