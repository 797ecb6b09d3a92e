"""Per-request DataLoaders: one upstream call per (system, operation, parameters, batch).

A loader is keyed by upstream key; resolvers ask for single keys and the loader collects
every key asked for in the same tick into one adapter call. A failure of that call is
handed to every waiting resolver as the typed ``SourceError`` it was.

The call is the batched read the system declares under that operation's name
(``sources.operations``): asking for a read a system does not declare, or with arguments or
a shape its declaration does not take, raises at once (``UnknownReadOperation``,
``ReadArgumentsError``), before anything is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from strawberry.dataloader import DataLoader

from linkmap.records import Entity
from linkmap.resolution_cache import ResolutionCache
from linkmap.scope import Scope
from linkmap.store import LinkStore
from resolvers.cache import ReadCache
from resolvers.singleflight import SingleFlight
from sources.errors import SourceError, Unsupported
from sources.operations import ReadOperation, ReadOperations, UnknownReadOperation

if TYPE_CHECKING:
    from resolvers.source_states import SourceStates

MAX_BATCH = 500


@dataclass(slots=True)
class BatchRecord:
    """What one loader batch did, filled in while it runs, for a :class:`BatchObserver`.

    ``keys``: keys the resolvers asked for; ``cache_hits``: answered fresh from the read
    cache; ``sent``: keys sent upstream (0: no upstream call); ``shared``: the upstream
    call was one already in flight for another request (single-flight); ``stale``: keys
    answered from stale cache after the call failed; ``error``: the call's error."""

    system: str
    operation: str
    keys: int
    cache_hits: int = 0
    sent: int = 0
    shared: bool = False
    stale: int = 0
    error: BaseException | None = None


class BatchObserver(Protocol):
    """What watches every loader batch (tracing, metrics, explain); installed once by the
    gateway with :func:`observe_batches`; without one a batch costs nothing more."""

    def batch(self, system: str, operation: str, keys: int) -> AbstractContextManager[BatchRecord]:
        """A context manager entered around one batch in the batch's task, yielding the
        record the loader fills in before the block exits."""
        ...


_observer: BatchObserver | None = None


def observe_batches(observer: BatchObserver | None) -> BatchObserver | None:
    """Watch every loader batch from now on with ``observer`` (None: stop watching); the
    observer installed before is returned."""
    global _observer
    previous, _observer = _observer, observer
    return previous


class Loaders:
    """The loaders of one request, created on first use."""

    def __init__(
        self,
        reads: Mapping[str, ReadOperations],
        links: LinkStore,
        states: SourceStates,
        cache: ReadCache | None = None,
        flights: SingleFlight | None = None,
        scope: Scope | None = None,
        resolved: ResolutionCache | None = None,
    ) -> None:
        self._reads = reads
        self._links = links
        self._scope = scope
        self._resolved = resolved
        self._states = states
        self._cache = cache
        self._flights = flights or SingleFlight()
        self._loaders: dict[Hashable, DataLoader[str, Any]] = {}
        self._entity_loaders: dict[tuple[str, str], DataLoader[str, Entity | None]] = {}
        self.upstream_calls = 0

    def source(
        self, system: str, operation: str, *args: Hashable, many: bool | None = None
    ) -> DataLoader[str, Any]:
        """The loader for the batched read ``operation`` that ``system`` declares, called
        with ``args`` after the keys.

        The declaration says whether a key maps to a list (a key the upstream lacks gives
        ``[]``) or to one record (a missing key gives ``None``); ``many``, when given, must
        agree with it. Raises ``UnknownReadOperation`` for a read (or system) not declared
        and ``ReadArgumentsError`` for arguments or a shape the read does not take.
        """
        loader_key = (system, operation, args)
        loader = self._loaders.get(loader_key)
        if loader is None:
            read = self.operation(system, operation)
            read.check(system, args, many)
            loader = DataLoader(
                load_fn=self._batch_fn(system, read, args), max_batch_size=MAX_BATCH
            )
            self._loaders[loader_key] = loader
        return loader

    def offered(
        self, system: str, operation: str, missing: str, *args: Hashable, many: bool | None = None
    ) -> DataLoader[str, Any]:
        """``source(system, operation, *args)`` for a read a system may not declare (an
        optional protocol read); where it does not, ``Unsupported(system, missing)`` (the
        field null with NOT_SUPPORTED) and the report notes it, as for a read the adapter
        refuses when called."""
        reads = self._reads.get(system)
        if reads is None or operation not in reads:
            self._states.note(system, f"does not offer {operation}")
            self._states.ok(system)  # reported (with the note): the system is not down
            raise Unsupported(system, missing)
        return self.source(system, operation, *args, many=many)

    def operation(self, system: str, operation: str) -> ReadOperation:
        """The batched read ``operation`` of ``system``; ``UnknownReadOperation`` if the
        system does not declare it (or is not configured)."""
        reads = self._reads.get(system)
        if reads is None:
            raise UnknownReadOperation(system, operation, ())
        return reads.find(operation)

    def _batch_fn(
        self, system: str, read: ReadOperation, args: tuple[Hashable, ...]
    ) -> Callable[[list[str]], Any]:
        operation, method, many = read.name, read.load, read.many

        cache = self._cache
        empty: Any = read.empty()

        async def load(keys: list[str]) -> Sequence[Any]:
            observer = _observer
            if observer is None:
                return await run(keys, None)
            with observer.batch(system, operation, len(keys)) as record:
                return await run(keys, record)

        async def run(keys: list[str], record: BatchRecord | None) -> Sequence[Any]:
            now = datetime.now(UTC)
            cached = await cache.get_many(system, operation, args, keys) if cache else {}
            fresh = {
                k: e
                for k, e in cached.items()
                if cache and cache.is_fresh(system, operation, e, now)
            }
            for entry in fresh.values():
                self._states.ok(system, entry.read_at)
            misses = [key for key in keys if key not in fresh]
            answered: dict[str, Any] = {}
            if misses:
                self.upstream_calls += 1
                flight_key = (system, operation, args, tuple(sorted(misses)))
                if record is not None:
                    record.cache_hits = len(fresh)
                    record.sent = len(misses)
                    record.shared = self._flights.in_flight(flight_key)
                try:
                    found: Mapping[str, Any] = await self._flights.do(
                        flight_key, lambda: method(misses, *args)
                    )
                except Unsupported as error:
                    if record is not None:
                        record.error = error
                    # the system answers, it just does not hold this data: its fields say
                    # so (null, NOT_SUPPORTED) and the report notes it, the system is not down
                    self._states.note(system, f"does not offer {operation}")
                    self._states.ok(system)  # reported (with the note) even if nothing else is
                    return [error for _ in keys]
                except SourceError as error:
                    stale = {
                        k: cached[k]
                        for k in misses
                        if k in cached
                        and cache is not None
                        and cache.may_serve_stale(system, operation, cached[k], now)
                    }
                    if record is not None:
                        record.error, record.stale = error, len(stale)
                    if stale:
                        oldest = min(entry.read_at for entry in stale.values())
                        self._states.stale(system, oldest, error)
                    else:
                        self._states.failed(system, error)
                    return [
                        fresh[k].value if k in fresh else stale[k].value if k in stale else error
                        for k in keys
                    ]
                read_at = datetime.now(UTC)
                self._states.ok(system, read_at)
                for note in getattr(found, "notes", ()):  # e.g. a file's rows left out
                    self._states.note(system, note)
                answered = {key: found.get(key, empty) for key in misses}
                if cache is not None:
                    await cache.set_many(system, operation, args, answered, read_at, many=many)
            elif record is not None:
                record.cache_hits = len(fresh)
            return [fresh[k].value if k in fresh else answered[k] for k in keys]

        return load

    def entity(self, kind: str, system: str) -> DataLoader[str, Entity | None]:
        """The link-map loader resolving ``system`` keys of ``kind`` to entities; an entity
        outside the principal's row scope resolves to None, as if it were not linked."""
        loader = self._entity_loaders.get((kind, system))
        if loader is None:
            scope, resolved = self._scope, self._resolved

            async def load(keys: list[str]) -> list[Entity | None]:
                found = resolved.get_many(kind, system, keys) if resolved is not None else {}
                missing = [key for key in keys if key not in found]
                if missing:
                    fetched = await self._links.resolve_many(kind, system, missing)
                    if resolved is not None:
                        resolved.put_many(kind, system, fetched)
                    found.update(fetched)
                if scope is not None:
                    found = {k: e for k, e in found.items() if scope.admits(e)}
                return [found.get(key) for key in keys]

            loader = DataLoader(load_fn=load, max_batch_size=MAX_BATCH)
            self._entity_loaders[(kind, system)] = loader
        return loader
