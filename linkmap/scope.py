"""Row scope: which linked entities a principal may see (RELIABILITY S5, against BOLA).

A scope is a list of entries ``kind:system:pattern``: an entity of ``kind`` is in scope
when one of its keys in ``system`` matches ``pattern`` (``*`` matches any run of
characters, everything else literally). ``customer:erp:10001`` admits one customer;
``customer:crm:A-1*`` the CRM accounts whose keys start with ``A-1``. A principal without
a scope sees every entity its roles allow; a principal with an empty scope sees none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from linkmap.errors import InvalidInput
from linkmap.models import KEY_MAX, KINDS, SYSTEM_MAX
from linkmap.records import Entity

MAX_ENTRIES = 1_000


@dataclass(frozen=True)
class ScopeEntry:
    """One ``kind:system:pattern`` entry."""

    kind: str
    system: str
    pattern: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.system}:{self.pattern}"


@dataclass(frozen=True)
class Scope:
    """The entities a principal may see; see the module docstring."""

    entries: tuple[ScopeEntry, ...]

    def admits(self, entity: Entity) -> bool:
        """Whether ``entity`` is in this scope."""
        for entry, matcher in zip(self.entries, self._matchers, strict=True):
            if entry.kind == entity.kind and any(
                matcher.fullmatch(key) for key in entity.keys_in(entry.system)
            ):
                return True
        return False

    @property
    def _matchers(self) -> tuple[re.Pattern[str], ...]:
        cached: tuple[re.Pattern[str], ...] | None = self.__dict__.get("_compiled")
        if cached is None:
            cached = tuple(
                re.compile(".*".join(map(re.escape, e.pattern.split("*")))) for e in self.entries
            )
            object.__setattr__(self, "_compiled", cached)
        return cached

    def as_strings(self) -> list[str]:
        """The entries as ``kind:system:pattern`` strings."""
        return [str(entry) for entry in self.entries]


def parse_scope(entries: Iterable[str]) -> Scope:
    """A scope from ``kind:system:pattern`` strings; ``InvalidInput`` names the bad entry."""
    if isinstance(entries, str):
        raise InvalidInput("a scope is a list of 'kind:system:pattern' entries, not a string")
    parsed: list[ScopeEntry] = []
    for raw in entries:
        if not isinstance(raw, str):
            raise InvalidInput(f"scope entry {raw!r} is not text")
        kind, sep1, rest = raw.strip().partition(":")
        system, sep2, pattern = rest.partition(":")
        if not (sep1 and sep2 and kind and system and pattern):
            raise InvalidInput(f"scope entry {raw!r} is not 'kind:system:pattern'")
        if kind not in KINDS:
            raise InvalidInput(f"scope entry {raw!r}: unknown kind; one of {', '.join(KINDS)}")
        if len(system) > SYSTEM_MAX or len(pattern) > KEY_MAX:
            raise InvalidInput(f"scope entry {raw[:80]!r}...: too long")
        parsed.append(ScopeEntry(kind, system, pattern))
    if len(parsed) > MAX_ENTRIES:
        raise InvalidInput(f"a scope holds at most {MAX_ENTRIES} entries")
    return Scope(tuple(dict.fromkeys(parsed)))
