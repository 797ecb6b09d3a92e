"""Finding records of a system by name: for import rows keyed by a name rather than a
number (``keylink links import``, the HTTP import), and anything else that holds names.

The contract for the importer::

    from resolvers.onboarding.names import match_by_name

    found = await match_by_name(source, "customer", ["Fjellheim Elektro AS", ...])
    for name, match in found.items():
        if match.key is None:
            ...  # report the row: match.reason (no record, or ambiguous: match.alternatives)
        else:
            ...  # use match.key as the row's key in source.name

``source`` is a configured system (``sources.base.BrowsesRecords``; else ``Unsupported``),
``kind`` one of ``customer``, ``supplier``, ``project``, ``order``. The system's records
are read once (every page of ``browse``), compared in memory and forgotten. A name
matches a record when their normalised names (``resolvers.onboarding.normalise``) are at
least ``min_similarity`` alike and no other record comes within ``margin`` of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from resolvers.onboarding.scoring import candidate_pairs, common_words, name_similarity, profile
from sources.base import Candidate
from sources.browse import browse_all

MIN_SIMILARITY = 0.9
"""How alike (0..1) a name and a record's name must be at least."""

MARGIN = 0.04
"""How much better than the runner-up the best record must be."""


@dataclass(frozen=True, slots=True)
class NameMatch:
    """What a name was matched to: the record's ``key`` (None: no match), its
    ``similarity`` (0..1), the keys of records too close to tell apart
    (``alternatives``) and a ``reason`` for a missing match."""

    name: str
    key: str | None
    similarity: float
    alternatives: tuple[str, ...] = ()
    reason: str | None = None


def match_names(
    names: Sequence[str],
    records: Sequence[Candidate],
    *,
    min_similarity: float = MIN_SIMILARITY,
    margin: float = MARGIN,
) -> dict[str, NameMatch]:
    """Each of ``names`` with the record of ``records`` it names (pure; no I/O)."""
    queries = [profile(Candidate(key=str(at), name=n)) for at, n in enumerate(names)]
    targets = [profile(c) for c in records]
    common = common_words(targets)
    options: dict[int, list[tuple[float, int]]] = {}
    for i, j in candidate_pairs(queries, targets, common):
        options.setdefault(i, []).append((name_similarity(queries[i], targets[j]), j))
    found: dict[str, NameMatch] = {}
    for at, name in enumerate(names):
        ranked = sorted(options.get(at, []), key=lambda o: (-o[0], targets[o[1]].key))
        if not ranked or ranked[0][0] < min_similarity:
            best = ranked[0][0] if ranked else 0.0
            found[name] = NameMatch(name, None, round(best, 3), reason="no record has this name")
            continue
        best, where = ranked[0]
        close = tuple(targets[j].key for s, j in ranked[1:] if s > best - margin)
        if close:
            found[name] = NameMatch(
                name,
                None,
                round(best, 3),
                (targets[where].key, *close),
                "several records have this name",
            )
        else:
            found[name] = NameMatch(name, targets[where].key, round(best, 3))
    return found


async def match_by_name(
    source: object,
    kind: str,
    names: Sequence[str],
    *,
    min_similarity: float = MIN_SIMILARITY,
    margin: float = MARGIN,
) -> dict[str, NameMatch]:
    """Each of ``names`` with the key of the ``kind`` record of ``source`` it names,
    reading the system's records live once (see the module docstring)."""
    if not names:
        return {}
    records = await browse_all(source, kind)
    return match_names(names, records, min_similarity=min_similarity, margin=margin)


__all__ = ["MARGIN", "MIN_SIMILARITY", "NameMatch", "match_by_name", "match_names"]


def key_matcher(
    sources: Mapping[str, object],
) -> Callable[[str, str, Sequence[str]], Awaitable[dict[str, str]]]:
    """The name matcher of a link import over the configured ``sources``
    (``linkmap.bulk.loader.NameMatcher``): for ``(kind, system, names)``, each name that
    names exactly one record of ``system`` -> that record's key; a name that names none, or
    several, is left out (the importer reports its row)."""

    async def match(kind: str, system: str, names: Sequence[str]) -> dict[str, str]:
        found = await match_by_name(sources[system], kind, names)
        return {name: m.key for name, m in found.items() if m.key is not None}

    return match
