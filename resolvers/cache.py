"""The read cache between loaders and sources: per-key entries, TTL per system.

An entry holds what one upstream read returned for one key (a record, a list, or "absent"
as a short-lived negative entry) plus when it was read. Keys are
``keylink:v2:<system>:<operation>:<arguments>:<key>``; the arguments are part of the key,
so a filtered read never answers an unfiltered one. Keylink's own writes invalidate the
entries they change, before the mutation returns.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any, Protocol

from sources.records import OPEN_ORDER_STATUSES, OrderStatus

log = logging.getLogger("keylink.cache")

KEY_VERSION = "v2"  # v2: records gained status_raw and UNKNOWN states (pickles differ)


class CacheBackend(Protocol):
    """The part of an aiocache cache Keylink uses."""

    async def multi_get(self, keys: list[str]) -> list[Any]:
        """Values for ``keys`` (``None`` for misses)."""
        ...

    async def multi_set(self, pairs: list[tuple[str, Any]], ttl: int | None = ...) -> Any:
        """Store ``pairs`` for ``ttl`` seconds."""
        ...

    async def delete(self, key: str) -> Any:
        """Remove ``key``."""
        ...


@dataclass(frozen=True)
class Entry:
    """One cached read: the value for one key and when it was read upstream."""

    value: Any
    read_at: datetime

    def age(self, now: datetime) -> float:
        """Seconds since the value was read upstream."""
        return (now - self.read_at).total_seconds()


def _arguments(args: tuple[Hashable, ...]) -> str:
    def one(arg: Hashable) -> str:
        if isinstance(arg, frozenset):
            return "{" + ",".join(sorted(one(a) for a in arg)) + "}"
        if hasattr(arg, "value") and hasattr(arg, "name"):
            return str(arg.value)
        return repr(arg)

    return ";".join(one(arg) for arg in args)


class ReadCache:
    """Per-system cached reads. ``ttl[system]`` 0 (or absent) means that system is not cached.

    Cache failures never fail a read: they are logged and the upstream is asked instead.
    """

    def __init__(
        self,
        backend: CacheBackend,
        ttl: Mapping[str, int],
        *,
        operation_ttl: Mapping[str, Mapping[str, int]] | None = None,
        negative_ttl: int = 5,
        max_stale: int = 0,
    ) -> None:
        self.backend = backend
        self.ttl = dict(ttl)
        self.operation_ttl = {k: dict(v) for k, v in (operation_ttl or {}).items()}
        self.negative_ttl = negative_ttl
        self.max_stale = max_stale

    def ttl_of(self, system: str, operation: str) -> int:
        """Seconds an answer of ``operation`` from ``system`` stays fresh (0: not cached)."""
        return self.operation_ttl.get(system, {}).get(operation, self.ttl.get(system, 0))

    def enabled(self, system: str, operation: str | None = None) -> bool:
        """Whether reads of ``system`` (and ``operation``) are cached."""
        if operation is None:
            return self.ttl.get(system, 0) > 0 or any(self.operation_ttl.get(system, {}).values())
        return self.ttl_of(system, operation) > 0

    @staticmethod
    def key(system: str, operation: str, args: tuple[Hashable, ...], key: str) -> str:
        """The cache key of one upstream key's read."""
        return f"keylink:{KEY_VERSION}:{system}:{operation}:{_arguments(args)}:{key}"

    async def get_many(
        self, system: str, operation: str, args: tuple[Hashable, ...], keys: Sequence[str]
    ) -> dict[str, Entry]:
        """The cached entries among ``keys``, fresh or (kept for stale-if-error) stale;
        misses are absent. ``is_fresh`` tells the two apart."""
        if not self.enabled(system, operation) or not keys:
            return {}
        try:
            values = await self.backend.multi_get(
                [self.key(system, operation, args, k) for k in keys]
            )
        except Exception as exc:  # a cache outage must not fail reads
            log.warning("cache read failed: %r", exc)
            return {}
        return {k: v for k, v in zip(keys, values, strict=True) if isinstance(v, Entry)}

    async def set_many(
        self,
        system: str,
        operation: str,
        args: tuple[Hashable, ...],
        values: Mapping[str, Any],
        read_at: datetime,
        *,
        many: bool = True,
    ) -> None:
        """Store what the upstream answered for each key.

        A key the upstream did not know (a single-record read that found nothing) is kept
        only ``negative_ttl`` seconds, so a record created upstream shows up soon.
        """
        ttl = self.ttl_of(system, operation)
        if ttl <= 0 or not values:
            return
        found = [(k, v) for k, v in values.items() if many or v is not None]
        absent = [(k, v) for k, v in values.items() if not many and v is None]
        try:
            kept = ttl + self.max_stale  # stale entries stay for stale-if-error
            for group, seconds in ((found, kept), (absent, min(ttl, self.negative_ttl))):
                if group and seconds > 0:
                    pairs = [
                        (self.key(system, operation, args, k), Entry(v, read_at)) for k, v in group
                    ]
                    await self.backend.multi_set(pairs, ttl=seconds)
        except Exception as exc:
            log.warning("cache write failed: %r", exc)

    def is_fresh(self, system: str, operation: str, entry: Entry, now: datetime) -> bool:
        """Whether ``entry`` may answer without asking the upstream."""
        return entry.age(now) <= self.ttl_of(system, operation)

    def may_serve_stale(self, system: str, operation: str, entry: Entry, now: datetime) -> bool:
        """Whether ``entry`` may stand in for an upstream that failed (stale-if-error)."""
        limit = self.ttl_of(system, operation) + self.max_stale
        return self.max_stale > 0 and entry.age(now) <= limit

    async def invalidate(self, keys: Iterable[str]) -> None:
        """Remove cache keys (built with ``key``); failures are logged, then raised."""
        for key in keys:
            await self.backend.delete(key)


def _status_subsets() -> list[frozenset[OrderStatus] | None]:
    statuses = list(OrderStatus)
    subsets: list[frozenset[OrderStatus] | None] = [None]
    for size in range(1, len(statuses) + 1):
        subsets.extend(frozenset(c) for c in combinations(statuses, size))
    assert OPEN_ORDER_STATUSES in subsets
    return subsets


ORDER_STATUS_ARGS = _status_subsets()


def order_edit_keys(
    system: str,
    *,
    order_key: str,
    customer_key: str | None,
    line_keys: Iterable[str] = (),
    product_keys: Iterable[str] = (),
) -> list[str]:
    """Every cache key an edit of ``order_key``'s lines can make stale."""
    keys = [
        ReadCache.key(system, "order_lines", (), order_key),
        ReadCache.key(system, "sales_orders", (), order_key),
    ]
    keys += [ReadCache.key(system, "order_lines_by_key", (), k) for k in line_keys]
    keys += [ReadCache.key(system, "products", (), k) for k in product_keys]
    if customer_key is not None:
        keys += [
            ReadCache.key(system, "orders", (args,), customer_key) for args in ORDER_STATUS_ARGS
        ]
    return keys
