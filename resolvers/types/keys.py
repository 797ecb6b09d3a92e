"""The ``SystemKey`` type: one key an entity holds in one system."""

from __future__ import annotations

from collections.abc import Mapping

import strawberry


@strawberry.federation.type(
    description="A key an entity holds in one upstream system.", shareable=True
)
class SystemKey:
    """One (system, key) pair from the link map; ``@shareable``, so another subgraph may
    define the same value type (a router resolves it from either)."""

    system: str
    key: str


def system_keys(keys: Mapping[str, tuple[str, ...]]) -> list[SystemKey]:
    """Every key of an entity, system by system."""
    return [SystemKey(system=s, key=k) for s, ks in keys.items() for k in ks]
