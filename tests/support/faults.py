"""A fault-injecting httpx transport for the gateway's upstream clients.

It forwards to a real transport (real HTTP on loopback) and applies programmable faults
per request: fail before sending, or forward and then fail as if the answer was lost.
Used only for faults the demo upstreams cannot produce on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from sources.transport import upstream_transport

Match = Callable[[httpx.Request], bool]


@dataclass
class Rule:
    """Apply ``fault`` to requests that ``match``: ``times`` of them (None: all)."""

    match: Match
    fault: str  # "refuse" | "timeout" | "forward_then_timeout" | "forward_then_reset"
    times: int | None = None
    after: Match | None = None  # active only once a request matching this was sent
    armed: bool = True


@dataclass
class FaultyTransport(httpx.AsyncBaseTransport):
    """Real HTTP with injected faults; ``sent`` lists what actually reached the upstream."""

    inner: httpx.AsyncBaseTransport = field(default_factory=lambda: upstream_transport(100))
    rules: list[Rule] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)

    def add(
        self, match: Match, fault: str, times: int | None = None, after: Match | None = None
    ) -> None:
        """Add a rule; with ``after`` it applies only once such a request was sent."""
        self.rules.append(Rule(match, fault, times, after, armed=after is None))

    def clear(self) -> None:
        """Remove every rule and forget what was sent."""
        self.rules.clear()
        self.sent.clear()

    def _rule_for(self, request: httpx.Request) -> Rule | None:
        for rule in self.rules:
            if rule.armed and (rule.times is None or rule.times > 0) and rule.match(request):
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward ``request`` unless a rule says otherwise."""
        rule = self._rule_for(request)
        if rule is not None and rule.fault == "refuse":
            raise httpx.ConnectError("injected: connection refused", request=request)
        if rule is not None and rule.fault == "timeout":
            raise httpx.ConnectTimeout("injected: connect timeout", request=request)
        self.sent.append((request.method, request.url.path))
        for armed in self.rules:
            if armed.after is not None and armed.after(request):
                armed.armed = True
        response = await self.inner.handle_async_request(request)
        if rule is not None and rule.fault.startswith("forward_then_"):
            await response.aread()
            await response.aclose()
            if rule.fault == "forward_then_timeout":
                raise httpx.ReadTimeout("injected: answer lost", request=request)
            raise httpx.RemoteProtocolError("injected: connection reset", request=request)
        return response

    async def aclose(self) -> None:
        """Close the real transport."""
        await self.inner.aclose()


def writes(request: httpx.Request) -> bool:
    """Matches requests that change data."""
    return (
        request.method in ("POST", "PUT", "PATCH", "DELETE") and "preview" not in request.url.path
    )


def reads(request: httpx.Request) -> bool:
    """Matches reads."""
    return request.method == "GET"
