"""The dangling-link check: does every linked key still exist in its system?

It walks the link map one page of entities at a time and asks each system, one batched
read per batch of keys, about the keys linked in it: a system that can say more than
"absent" (``sources.base.LooksUpCandidates``: Tryton's inactive and merged parties) is
asked through that; the others through the batched read that shows a record exists
(``customers``, ``accounts``, ``clients``, ``projects``, ``suppliers``, ``sales_orders``).
It only reads: nothing in the link map or upstream is changed or deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from linkmap.store import LinkStore
from sources.base import LooksUpCandidates, Source
from sources.errors import Unsupported

Problem = Literal["vanished", "closed", "merged"]

EXISTENCE_READS: dict[str, dict[str, str]] = {
    "customer": {"erp": "customers", "crm": "accounts", "timesheet": "clients"},
    "supplier": {"erp": "suppliers"},
    "project": {"erp": "projects", "timesheet": "timesheet_projects"},
    "order": {"erp": "sales_orders"},
}
"""Per entity kind and system kind: the batched read whose answer holds a key that exists."""

BATCH = 200
"""Keys asked of a system per read."""

PAGE = 1000
"""Entities read from the link map per page."""


@dataclass(frozen=True, slots=True)
class DanglingKey:
    """A linked key its system no longer holds as it was: ``vanished`` (not found),
    ``closed`` (the system says so) or ``merged`` (into ``replaced_by``)."""

    entity_id: int
    kind: str
    system: str
    key: str
    problem: Problem
    replaced_by: str | None = None


@dataclass
class DanglingReport:
    """What a check found: how many linked keys were checked, the dangling ones, and per
    ``(system, kind)`` why it could not be checked."""

    checked: int = 0
    dangling: list[DanglingKey] = field(default_factory=list)
    unchecked: dict[tuple[str, str], str] = field(default_factory=dict)


async def check_dangling(
    sources: Mapping[str, Source],
    links: LinkStore,
    *,
    kinds: Iterable[str] = ("customer", "supplier", "project", "order"),
    systems: Iterable[str] | None = None,
    batch: int = BATCH,
) -> DanglingReport:
    """Check every key linked in ``systems`` (default: every configured one) for
    entities of ``kinds``; read-only."""
    wanted = set(sources if systems is None else systems)
    report = DanglingReport()
    for kind in kinds:
        after: int | None = None
        while True:
            entities = await links.page_entities(kind, after_id=after, limit=PAGE)
            if not entities:
                break
            after = entities[-1].id
            owners: dict[str, dict[str, int]] = defaultdict(dict)
            for entity in entities:
                for system, keys in entity.keys.items():
                    if system in wanted:
                        for key in keys:
                            owners[system][key] = entity.id
            for system, owned in owners.items():
                source = sources.get(system)
                if source is None:
                    report.unchecked[(system, kind)] = "not a configured system"
                    continue
                await _check_system(source, kind, owned, batch, report)
            if len(entities) < PAGE:
                break
    return report


async def _check_system(
    source: Source, kind: str, owned: Mapping[str, int], batch: int, report: DanglingReport
) -> None:
    keys = list(owned)
    for at in range(0, len(keys), batch):
        chunk = keys[at : at + batch]
        try:
            found = await _states(source, kind, chunk)
        except Unsupported as exc:
            report.unchecked[(source.name, kind)] = exc.detail or exc.message
            return
        report.checked += len(chunk)
        for key in chunk:
            state = found.get(key)
            if state is None:
                report.dangling.append(DanglingKey(owned[key], kind, source.name, key, "vanished"))
            elif state[0] != "ok":
                report.dangling.append(
                    DanglingKey(owned[key], kind, source.name, key, state[0], state[1])
                )


async def _states(
    source: Source, kind: str, keys: Sequence[str]
) -> dict[str, tuple[Literal["ok", "closed", "merged"], str | None]]:
    """Per key the system holds: ``ok``, ``closed`` or ``merged`` (with the key merged
    into); absent keys vanished. ``Unsupported`` when the system cannot say."""
    if isinstance(source, LooksUpCandidates):
        try:
            found = await source.candidates(kind, keys)
        except Unsupported:
            pass
        else:
            return {
                key: (
                    ("merged", c.replaced_by)
                    if c.replaced_by
                    else ("closed", None)
                    if c.closed
                    else ("ok", None)
                )
                for key, c in found.items()
            }
    for system_kind in sorted(source.kinds):
        operation = EXISTENCE_READS.get(kind, {}).get(system_kind)
        if operation is None:
            continue
        read: Any = getattr(source, operation, None)
        if read is None:
            continue
        answer = await read(list(keys))
        return {key: ("ok", None) for key in keys if key in answer}
    raise Unsupported(source.name, f"no read shows whether a {kind} key exists")


__all__ = ["EXISTENCE_READS", "DanglingKey", "DanglingReport", "Problem", "check_dangling"]
