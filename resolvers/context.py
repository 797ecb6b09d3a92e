"""The per-request context every resolver works from: sources, link map, loaders, states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from strawberry.types import Info

from linkmap.audit import AuditLog
from linkmap.idempotency import IdempotencyStore
from linkmap.scope import Scope
from linkmap.store import LinkStore
from resolvers.cache import ReadCache
from resolvers.loaders import Loaders
from resolvers.source_states import SourceStates
from sources.base import Source


@dataclass(frozen=True)
class Systems:
    """The configured upstream systems, by name, in configuration order."""

    sources: Mapping[str, Source]

    def of_kind(self, kind: str) -> list[str]:
        """Names of the systems serving ``kind``, in configuration order."""
        known: dict[str, list[str]] = self.__dict__.setdefault("_of_kind", {})
        names = known.get(kind)
        if names is None:
            names = known[kind] = [n for n, s in self.sources.items() if kind in s.kinds]
        return list(names)

    def __contains__(self, name: object) -> bool:
        return name in self.sources


@dataclass
class Context:
    """Everything a resolver may use for one GraphQL request."""

    systems: Systems
    links: LinkStore
    loaders: Loaders
    states: SourceStates
    today: date
    idempotency: IdempotencyStore
    audit: AuditLog
    cache: ReadCache | None = None
    principal: str = "anonymous"
    roles: frozenset[str] = frozenset()
    scope: Scope | None = None
    idempotency_header: str | None = None
    write_wait: float = 30.0
    idempotency_report: list[dict[str, Any]] = field(default_factory=list)


def context_of(info: Info[Any, Any]) -> Context:
    """The Keylink context of the request ``info`` belongs to."""
    ctx = info.context
    found = ctx["keylink"] if isinstance(ctx, Mapping) else ctx
    assert isinstance(found, Context)
    return found
