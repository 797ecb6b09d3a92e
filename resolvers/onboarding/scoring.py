"""Match suggestions between two systems' records: blocking, scoring, assignment.

Pure functions over ``sources.records.Candidate`` values already read; no I/O, nothing
stored. The steps:

1. **Normalise** each record (``resolvers.onboarding.normalise``) into a :class:`Profile`.
2. **Block**: only pairs sharing a blocking key are compared, never all pairs: the same
   VAT, postcode or e-mail domain, a name word that is not common, or neighbours in the
   two sides sorted by name (a sorted neighbourhood, for typos in every word). A key
   shared by more than ``max_block`` records on a side says too little and is skipped.
3. **Score** each pair as evidence points: the name's similarity (rapidfuzz), an equal
   VAT (strong) or a different one (strongly against), postcode, city, e-mail domain and
   country; extra words on one side (a subsidiary at its parent's address) count against,
   and a name made only of common words counts half. ``score`` is the points as a
   probability-like number in 0..1 (``score_of``).
4. **Assign**: pairs at or above the threshold, best first, each record used once; a
   record whose two best partners are too close to tell apart gets none.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from resolvers.onboarding.normalise import (
    name_tokens,
    normal_city,
    normal_domain,
    normal_postcode,
    normal_vat,
)
from sources.records import Candidate

DEFAULT_THRESHOLD = 0.8
"""The score from which a pair is proposed."""

AMBIGUITY_MARGIN = 0.75
"""Points by which the best partner of a record must beat its second best."""

MAX_BLOCK = 40
"""Records per side beyond which a blocking key is too common to block on."""

WINDOW = 4
"""How many neighbours of the other side a record meets in each sorted order."""

COMMON_SHARE = 0.004
"""A name word in more than this share of all records (and at least 4) is common."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A record as compared: its key and normalised name, words and identifiers."""

    key: str
    name: str
    tokens: tuple[str, ...]
    vat: str | None
    postcode: str | None
    domain: str | None
    city: str | None
    country: str | None


def profile(candidate: Candidate) -> Profile:
    """The normalised view of ``candidate`` (kept in memory while matching only)."""
    tokens = tuple(name_tokens(candidate.name))
    return Profile(
        key=candidate.key,
        name=" ".join(tokens),
        tokens=tokens,
        vat=normal_vat(candidate.vat),
        postcode=normal_postcode(candidate.postcode),
        domain=normal_domain(candidate.email_domain),
        city=normal_city(candidate.city),
        country=candidate.country.strip().upper() if candidate.country else None,
    )


@dataclass(frozen=True, slots=True)
class Match:
    """A proposed link: the key on each side, the score (0..1) and why."""

    left: str
    right: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scored:
    """One compared pair (indexes into the two sides), its points and reasons."""

    left: int
    right: int
    points: float
    reasons: tuple[str, ...]


def score_of(points: float) -> float:
    """Evidence points as a score in 0..1 (0.8 at 2.39 points), rounded to 3 places."""
    return round(1.0 / (1.0 + math.exp(-(points - 1.0))), 3)


def points_for(score: float) -> float:
    """The evidence points a score stands for (the inverse of :func:`score_of`)."""
    clipped = min(max(score, 1e-9), 1 - 1e-9)
    return 1.0 + math.log(clipped / (1.0 - clipped))


def common_words(profiles: Iterable[Profile]) -> frozenset[str]:
    """Name words so frequent among ``profiles`` that they identify no one."""
    counts: Counter[str] = Counter()
    total = 0
    for one in profiles:
        total += 1
        counts.update(set(one.tokens))
    limit = max(4, int(total * COMMON_SHARE))
    return frozenset(word for word, n in counts.items() if n > limit)


def blocking_keys(one: Profile, common: frozenset[str]) -> set[tuple[str, str]]:
    """The blocking keys of a record: identifiers and its uncommon name words."""
    keys: set[tuple[str, str]] = set()
    if one.vat:
        keys.add(("vat", one.vat))
    if one.postcode:
        keys.add(("postcode", one.postcode))
    if one.domain:
        keys.add(("domain", one.domain))
    keys.update(("word", t) for t in one.tokens if t not in common and len(t) > 1)
    return keys


def candidate_pairs(
    left: Sequence[Profile],
    right: Sequence[Profile],
    common: frozenset[str] = frozenset(),
    *,
    max_block: int = MAX_BLOCK,
    window: int = WINDOW,
) -> set[tuple[int, int]]:
    """The pairs (left index, right index) worth comparing: those sharing a blocking key
    held by at most ``max_block`` records on each side, and sorted-name neighbours."""
    by_key_left: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_key_right: dict[tuple[str, str], list[int]] = defaultdict(list)
    for at, one in enumerate(left):
        for key in blocking_keys(one, common):
            by_key_left[key].append(at)
    for at, one in enumerate(right):
        for key in blocking_keys(one, common):
            by_key_right[key].append(at)
    pairs: set[tuple[int, int]] = set()
    for key, lefts in by_key_left.items():
        rights = by_key_right.get(key)
        if not rights or len(lefts) > max_block or len(rights) > max_block:
            continue
        pairs.update((i, j) for i in lefts for j in rights)
    for order in (_by_name, _by_sorted_words, _by_reversed_name):
        pairs.update(_neighbours(left, right, order, window))
    return pairs


def _by_name(one: Profile) -> str:
    return one.name


def _by_sorted_words(one: Profile) -> str:
    return " ".join(sorted(one.tokens))


def _by_reversed_name(one: Profile) -> str:
    return one.name[::-1]


def _neighbours(
    left: Sequence[Profile], right: Sequence[Profile], order: object, window: int
) -> set[tuple[int, int]]:
    """Pairs of records of different sides at most ``window`` places apart in the merged
    order (each left record meets up to ``window`` right records either way)."""
    assert callable(order)
    merged = sorted(
        [(order(p), 0, at) for at, p in enumerate(left)]
        + [(order(p), 1, at) for at, p in enumerate(right)]
    )
    pairs: set[tuple[int, int]] = set()
    for place, (_, side, at) in enumerate(merged):
        if side != 0:
            continue
        for step in (-1, 1):
            seen, other = 0, place + step
            while 0 <= other < len(merged) and seen < window:
                _, other_side, other_at = merged[other]
                if other_side == 1:
                    pairs.add((at, other_at))
                    seen += 1
                other += step
    return pairs


def name_similarity(a: Profile, b: Profile) -> float:
    """How alike two normalised names are, 0..1: the better of the word-order-blind
    ratio and the ratio of the names without spaces (``Nord Lys`` = ``Nordlys``)."""
    if not a.name or not b.name:
        return 0.0
    by_words = fuzz.token_sort_ratio(a.name, b.name)
    squeezed = fuzz.ratio(a.name.replace(" ", ""), b.name.replace(" ", ""))
    return max(by_words, squeezed) / 100.0


def score_pair(a: Profile, b: Profile, common: frozenset[str] = frozenset()) -> Scored:
    """The evidence that ``a`` and ``b`` are the same company, as points and reasons
    (indexes left 0: callers put their own)."""
    points = 0.0
    reasons: list[str] = []
    similarity = name_similarity(a, b)
    name_points = max(-4.0, min(2.0, 10.0 * (similarity - 0.8)))
    if name_points > 0 and all(t in common for t in a.tokens + b.tokens):
        name_points *= 0.5
        reasons.append("common name")
    points += name_points
    reasons.append(f"name {round(similarity * 100)}% alike")
    extra = _extra_words(a.tokens, b.tokens)
    if extra:
        points -= 2.5
        reasons.append(f"extra words: {' '.join(extra)}")
    if a.vat and b.vat:
        if a.vat == b.vat:
            points += 5.0
            reasons.append("same VAT number")
        else:
            points -= 5.0
            reasons.append("different VAT numbers")
    same_city = bool(a.city and b.city and a.city == b.city)
    if a.postcode and b.postcode:
        if a.postcode == b.postcode:
            points += 1.5
            reasons.append("same postcode")
        elif same_city:  # moved within the town, or a branch
            points -= 0.75
            reasons.append("different postcodes in the same city")
        else:
            points -= 1.5
            reasons.append("different postcodes")
    elif same_city:
        points += 1.0
        reasons.append("same city")
    if a.domain and b.domain:
        if a.domain == b.domain:
            points += 2.5
            reasons.append("same e-mail domain")
        else:
            points -= 0.5
            reasons.append("different e-mail domains")
    if a.country and b.country and a.country != b.country:
        points -= 2.0
        reasons.append("different countries")
    return Scored(0, 0, points, tuple(reasons))


def _extra_words(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """Words one name has on top of all the other's (a subsidiary beside its parent)."""
    small, large = (set(a), set(b)) if len(set(a)) <= len(set(b)) else (set(b), set(a))
    if not small or small == large or not small <= large:
        return []
    return sorted(large - small)


def suggest(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    excluded: Iterable[tuple[str, str]] = (),
) -> list[Match]:
    """Proposed links between ``left`` and ``right`` records, best first: each record in
    at most one, each scoring at least ``threshold``, none of the ``excluded`` (left key,
    right key) pairs (remembered rejections)."""
    return [match for match, _ in rank(left, right, threshold=threshold, excluded=excluded)]


def rank(
    left: Sequence[Candidate],
    right: Sequence[Candidate],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    excluded: Iterable[tuple[str, str]] = (),
) -> list[tuple[Match, int]]:
    """As :func:`suggest`, each match with how many pairs were compared in all."""
    lefts = [profile(c) for c in left]
    rights = [profile(c) for c in right]
    common = common_words([*lefts, *rights])
    skip = set(excluded)
    compared = candidate_pairs(lefts, rights, common)
    floor = points_for(threshold)
    by_left: dict[int, list[Scored]] = defaultdict(list)
    by_right: dict[int, list[Scored]] = defaultdict(list)
    for i, j in compared:
        if (lefts[i].key, rights[j].key) in skip:
            continue
        found = score_pair(lefts[i], rights[j], common)
        scored = Scored(i, j, found.points, found.reasons)
        by_left[i].append(scored)
        by_right[j].append(scored)
    chosen = _assign(by_left, by_right, floor)
    return [
        (
            Match(
                lefts[s.left].key,
                rights[s.right].key,
                score_of(s.points),
                s.reasons,
            ),
            len(compared),
        )
        for s in chosen
    ]


def _assign(
    by_left: Mapping[int, list[Scored]], by_right: Mapping[int, list[Scored]], floor: float
) -> list[Scored]:
    """Pairs at or above ``floor`` points, best first, each record used once; a pair is
    left out when either record's runner-up is within ``AMBIGUITY_MARGIN``."""
    clear: list[Scored] = []
    for options in by_left.values():
        best = max(options, key=lambda s: s.points)
        if best.points < floor or not _stands_out(best, options):
            continue
        if _stands_out(best, by_right[best.right]):
            clear.append(best)
    clear.sort(key=lambda s: (-s.points, s.left, s.right))
    used_left: set[int] = set()
    used_right: set[int] = set()
    chosen: list[Scored] = []
    for scored in clear:
        if scored.left in used_left or scored.right in used_right:
            continue
        used_left.add(scored.left)
        used_right.add(scored.right)
        chosen.append(scored)
    return chosen


def _stands_out(best: Scored, options: Sequence[Scored]) -> bool:
    """Whether ``best`` beats every other of ``options`` by ``AMBIGUITY_MARGIN``."""
    runner_up = max((s.points for s in options if s is not best), default=None)
    return runner_up is None or best.points - runner_up >= AMBIGUITY_MARGIN


__all__ = [
    "DEFAULT_THRESHOLD",
    "Match",
    "Profile",
    "Scored",
    "blocking_keys",
    "candidate_pairs",
    "common_words",
    "name_similarity",
    "points_for",
    "profile",
    "rank",
    "score_of",
    "score_pair",
    "suggest",
]
