"""A short-lived, process-wide memory of key -> entity resolutions.

Links change rarely (and only through ``keylink links``/bulk imports), while every request
resolves the keys it names. Remembering positive resolutions for a few seconds saves a
link-map round trip on the hot path. A key that resolved to nothing is never remembered,
so a new link is visible at once; a removed or moved link is visible after at most
``seconds``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

from linkmap.records import Entity

Key = tuple[str, str, str]
"""(kind, system, key)."""


class ResolutionCache:
    """Positive key resolutions for ``seconds``, at most ``max_entries`` of them."""

    def __init__(
        self,
        seconds: float,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Key, tuple[float, Entity]] = OrderedDict()

    def get_many(self, kind: str, system: str, keys: Iterable[str]) -> dict[str, Entity]:
        """The remembered, still fresh entities for ``keys``."""
        now = self.clock()
        found: dict[str, Entity] = {}
        for key in keys:
            entry = self._entries.get((kind, system, key))
            if entry is not None:
                if entry[0] > now:
                    found[key] = entry[1]
                else:
                    del self._entries[(kind, system, key)]
        return found

    def put_many(self, kind: str, system: str, found: Mapping[str, Entity]) -> None:
        """Remember ``found`` (key -> entity) for ``seconds``."""
        expires = self.clock() + self.seconds
        for key, entity in found.items():
            self._entries[(kind, system, key)] = (expires, entity)
            self._entries.move_to_end((kind, system, key))
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
