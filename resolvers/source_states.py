"""How each upstream system fared in one request: ``ok``, ``error`` or ``stale``.

The loaders record every read here; the response reports it as ``extensions.sources``
(and the ``sourceStatus`` field). One ``SourceStates`` lives per request, in its context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from resolvers.errors import code_for
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
        current = self.by_system.get(system)
        if current is None or current.state != "error":
            self.by_system[system] = SourceState("stale", read_at, code_for(error))

    def failed(self, system: str, error: SourceError) -> None:
        """Record a failed read of ``system`` with its error."""
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
