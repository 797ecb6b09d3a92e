"""Test doubles for the resilience layer: a hand-driven clock, an instant sleep, and
scripted source adapters (plain classes with async methods)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """``asyncio.sleep`` stand-in: records each delay and yields once, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


Step = BaseException | object | Callable[[], Any]
"""What a scripted call does: raise an exception, return a value, or await a hook."""


class ScriptedSource:
    """A fake ERP: each call takes the next step of ``script`` (the last one repeats).

    An exception is raised, an ``asyncio.Event`` is waited for (a hanging upstream), a
    callable is called (its result, awaited if need be, returned), anything else is
    returned. ``latency`` seconds are added to ``clock`` per call when both are given.
    """

    kinds = frozenset({"erp"})
    write_operations = frozenset({"add_order_line", "change_order_line", "remove_order_line"})

    def __init__(
        self,
        name: str = "erp",
        script: Sequence[Step] = ({},),
        *,
        clock: FakeClock | None = None,
        latency: Sequence[float] = (),
    ) -> None:
        self.name = name
        self.script = list(script)
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.closed = False
        self.clock = clock
        self.latency = list(latency)

    async def _step(self, method: str, *args: Any, **kwargs: Any) -> Any:
        index = len(self.calls)
        self.calls.append((method, args, kwargs))
        if self.clock is not None and self.latency:
            self.clock.advance(self.latency[min(index, len(self.latency) - 1)])
        step = self.script[min(index, len(self.script) - 1)]
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, asyncio.Event):
            await step.wait()
            return {}
        if callable(step):
            result = step()
            return await result if inspect.isawaitable(result) else result
        return step

    async def customers(self, keys: Sequence[str]) -> Any:
        return await self._step("customers", list(keys))

    async def add_order_line(self, order_key: str, draft: Any, *, idempotency_key: str) -> Any:
        return await self._step("add_order_line", order_key, draft, idempotency_key=idempotency_key)

    async def change_order_line(
        self, line_key: str, changes: Any, *, version: str, idempotency_key: str
    ) -> Any:
        return await self._step(
            "change_order_line", line_key, changes, version=version, idempotency_key=idempotency_key
        )

    def sync_helper(self) -> str:
        return "not guarded"

    async def aclose(self) -> None:
        self.closed = True


def wrap(
    inner: Any,
    *,
    clock: FakeClock | None = None,
    breaker: CircuitBreaker | None = None,
    bulkhead: Bulkhead | None = None,
    budget: RetryBudget | None = None,
    sleep: FakeSleep | None = None,
) -> ResilientSource:
    """``inner`` behind default guards, all on ``clock``; rng fixed at 0.5."""
    clock = clock or FakeClock()
    return ResilientSource(
        inner,
        breaker=breaker or CircuitBreaker(inner.name, clock=clock),
        bulkhead=bulkhead or Bulkhead(),
        budget=budget or RetryBudget(clock=clock),
        sleep=sleep or FakeSleep(),
        rng=lambda: 0.5,
        clock=clock,
    )
