"""The in-memory memory of key resolutions: fresh for its seconds, bounded, positive only."""

from __future__ import annotations

from linkmap.records import Entity
from linkmap.resolution_cache import ResolutionCache


def test_resolutions_are_remembered_for_their_seconds_only() -> None:
    now = [0.0]
    cache = ResolutionCache(5, clock=lambda: now[0])
    acme = Entity(1, "customer", {"erp": ("10001",)})
    cache.put_many("customer", "erp", {"10001": acme})
    assert cache.get_many("customer", "erp", ["10001", "10002"]) == {"10001": acme}
    assert cache.get_many("supplier", "erp", ["10001"]) == {}  # kinds apart
    assert cache.get_many("customer", "crm", ["10001"]) == {}  # systems apart
    now[0] = 5.0
    assert cache.get_many("customer", "erp", ["10001"]) == {}


def test_the_oldest_resolutions_go_first_beyond_the_bound() -> None:
    cache = ResolutionCache(60, max_entries=3)
    entities = {str(i): Entity(i, "customer", {"erp": (str(i),)}) for i in range(5)}
    cache.put_many("customer", "erp", entities)
    assert set(cache.get_many("customer", "erp", list(entities))) == {"2", "3", "4"}
    cache.clear()
    assert cache.get_many("customer", "erp", list(entities)) == {}
