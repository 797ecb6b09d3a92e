"""The per-request context every resolver works from: sources, link map, loaders, states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
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
from sources.operations import ReadOperations, kind_reads, read_operations_of


@dataclass(frozen=True)
class Systems:
    """The configured upstream systems, by name, in configuration order, with the batched
    reads each declares (``sources.operations``), read once when this is built.

    Building it raises ``ReadDeclarationError`` when a system declares no batched reads or
    lacks one its kinds require, so a gap shows at start-up, not in a request.
    """

    sources: Mapping[str, Source]
    reads: Mapping[str, ReadOperations] = field(init=False, repr=False)
    _by_kind: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sources = MappingProxyType(dict(self.sources))
        reads: dict[str, ReadOperations] = {}
        for name, source in sources.items():
            declared = read_operations_of(source)
            declared.require(kind_reads(source.kinds))
            reads[name] = declared
        kinds = {kind for source in sources.values() for kind in source.kinds}
        by_kind = {k: tuple(n for n, s in sources.items() if k in s.kinds) for k in kinds}
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "reads", MappingProxyType(reads))
        object.__setattr__(self, "_by_kind", MappingProxyType(by_kind))

    def of_kind(self, kind: str) -> list[str]:
        """Names of the systems serving ``kind``, in configuration order."""
        return list(self._by_kind.get(kind, ()))

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
