"""The per-request context every resolver works from: sources, link map, loaders, states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from strawberry.types import Info

from linkmap.audit import AuditLog
from linkmap.idempotency import IdempotencyStore
from linkmap.scope import Scope
from linkmap.store import LinkStore
from resolvers.cache import ReadCache
from resolvers.loaders import Loaders
from sources.base import Source
from sources.errors import SourceError

SourceStateName = Literal["ok", "error", "stale"]


@dataclass
class SourceState:
    """How one system fared in this request: its state, when its data was read, its error."""

    state: SourceStateName
    read_at: datetime
    code: str | None = None


@dataclass
class SourceStates:
    """The systems a request touched; an error on one call wins over ``ok`` on another."""

    by_system: dict[str, SourceState] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def note(self, system: str, text: str) -> None:
        """Say something about how ``system``'s figures in this answer are to be read
        (e.g. that it keeps no billing flags); each note is reported once."""
        found = self.notes.setdefault(system, [])
        if text not in found:
            found.append(text)

    def ok(self, system: str, read_at: datetime | None = None) -> None:
        """Record a successful read of ``system`` whose data was read at ``read_at``.

        The report keeps the oldest read time: how old the oldest figure shown is.
        """
        read_at = read_at or datetime.now(UTC)
        current = self.by_system.get(system)
        if current is None or (current.state == "ok" and read_at < current.read_at):
            self.by_system[system] = SourceState("ok", read_at)

    def stale(self, system: str, read_at: datetime, error: SourceError) -> None:
        """Record that ``system`` failed and cached data read at ``read_at`` stood in."""
        from resolvers.errors import code_for

        current = self.by_system.get(system)
        if current is None or current.state != "error":
            self.by_system[system] = SourceState("stale", read_at, code_for(error))

    def failed(self, system: str, error: SourceError) -> None:
        """Record a failed read of ``system`` with its error."""
        from resolvers.errors import code_for

        self.by_system[system] = SourceState("error", datetime.now(UTC), code_for(error))

    def report(self) -> dict[str, dict[str, Any]]:
        """The ``extensions.sources`` block: per system its state and when it was read;
        a ``stale`` system also says how old the data shown is (``ageSeconds``)."""
        now = datetime.now(UTC)
        report: dict[str, dict[str, Any]] = {}
        for name, s in sorted(self.by_system.items()):
            entry: dict[str, Any] = {
                "state": s.state,
                "readAt": s.read_at.isoformat(timespec="milliseconds"),
            }
            if s.code:
                entry["code"] = s.code
            if s.state == "stale":
                entry["ageSeconds"] = round((now - s.read_at).total_seconds(), 1)
            if name in self.notes:
                entry["notes"] = list(self.notes[name])
            report[name] = entry
        return report

    @property
    def any_stale(self) -> bool:
        """Whether any system's data in this response is served stale."""
        return any(s.state == "stale" for s in self.by_system.values())


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
