"""Single-flight: concurrent identical upstream reads share one call, across requests.

Keyed by ``(system, operation, arguments, keys)``: while a call is in flight, every other
caller asking for exactly the same thing awaits the same result instead of calling again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class SingleFlight:
    """Coalesces identical concurrent calls within one process (one event loop)."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Future[Any]] = {}
        self.coalesced = 0

    def in_flight(self, key: Hashable) -> bool:
        """Whether a call under ``key`` is running now (a ``do`` with it would share it)."""
        return key in self._flights

    async def do(self, key: Hashable, call: Callable[[], Awaitable[Any]]) -> Any:
        """The result of ``call()``, shared with identical calls already in flight."""
        flight = self._flights.get(key)
        if flight is not None:
            self.coalesced += 1
            return await asyncio.shield(flight)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            result = await call()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._flights[key]
