"""Telling the reader when records came in a state Keylink does not know.

An invoice whose state the system's translation table does not know is listed (status
UNKNOWN, ``statusRaw`` beside it) and counted in no figure; the answer's
``extensions.sources.<system>.notes`` then says how many there were, so the reader knows
the figures may be incomplete. The count is of distinct invoices over the whole request,
whichever fields read them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from resolvers.context import Context
from sources.records import InvoiceStatus

UNKNOWN_INVOICES_NOTE = (
    "{count} invoice{s} had a state Keylink does not know ({codes}): listed as UNKNOWN, "
    "counted in no figure, so figures may be incomplete"
)

_seen: dict[int, dict[str, dict[str, str]]] = {}
"""Per request (by its states' id, dropped with them): system -> invoice key -> raw code."""


def note_unknown_invoices(ctx: Context, pairs: Iterable[tuple[str, Any]]) -> None:
    """Add to the answer's notes, per system, how many of the invoices read in this request
    (``(system, invoice)`` pairs, every read so far included) are in an unknown state."""
    unknown = [(s, inv) for s, inv in pairs if inv.status is InvoiceStatus.UNKNOWN]
    if not unknown:
        return
    states = ctx.states
    seen = _seen.get(id(states))
    if seen is None:
        seen = _seen[id(states)] = {}
        weakref.finalize(states, _seen.pop, id(states), None)
    for system, invoice in unknown:
        found = seen.setdefault(system, {})
        before = _note_text(found)
        found[invoice.key] = str(invoice.status_raw)
        notes = states.notes.get(system, [])
        if before in notes:
            notes.remove(before)
        states.note(system, _note_text(found))


SHOWN_CODES = 5
"""Raw codes named in a note at most (each cut to 40 characters)."""


def _note_text(found: dict[str, str]) -> str:
    distinct = sorted(set(found.values()))
    codes = ", ".join(repr(code[:40]) for code in distinct[:SHOWN_CODES])
    if len(distinct) > SHOWN_CODES:
        codes += f" and {len(distinct) - SHOWN_CODES} more"
    count = len(found)
    return UNKNOWN_INVOICES_NOTE.format(count=count, s="" if count == 1 else "s", codes=codes)
