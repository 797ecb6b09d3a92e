"""Who may name an acting user (``X-Keylink-Acting-User``), and what it changes: only the
rate limit's buckets (:func:`gateway.http.ratelimit.with_acting_user`)."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from gateway.auth.principal import Principal
from gateway.http.ratelimit import (
    ActingUserRefused,
    MemoryRateLimiter,
    RateLimits,
    RateLimitSettings,
    with_acting_user,
)

KEY = Principal("apikey:0123456789ab", frozenset({"sales"}), "api_key")
SETTINGS = RateLimitSettings(acting_user_keys=["0123456789ab"])


def headers(*values: str) -> Headers:
    return Headers(raw=[(b"x-keylink-acting-user", v.encode()) for v in values])


def test_a_listed_key_acts_for_the_user_it_names_and_keeps_its_roles_and_scope() -> None:
    acting = with_acting_user(KEY, headers(" ana "), SETTINGS)
    assert acting.acting_user == "ana"
    assert (acting.id, acting.roles, acting.scope) == (KEY.id, KEY.roles, KEY.scope)
    assert with_acting_user(KEY, headers(), SETTINGS) is KEY  # no header: unchanged


@pytest.mark.parametrize(
    ("principal", "settings"),
    [
        (KEY, RateLimitSettings()),  # a key not listed
        (Principal("alice", frozenset({"sales"}), "jwt"), SETTINGS),  # a user's own token
    ],
)
def test_only_listed_keys_and_dev_principals_may_name_an_acting_user(
    principal: Principal, settings: RateLimitSettings
) -> None:
    with pytest.raises(ActingUserRefused) as refused:
        with_acting_user(principal, headers("ana"), settings)
    assert (refused.value.status, refused.value.code) == (403, "FORBIDDEN")
    dev = Principal("dev", frozenset({"sales"}))
    assert with_acting_user(dev, headers("ana"), RateLimitSettings()).acting_user == "ana"


@pytest.mark.parametrize("values", [("",), ("   ",), ("a" * 256,), ("ana", "bob"), ("a\tb",)])
def test_an_unusable_acting_user_is_bad_input(values: tuple[str, ...]) -> None:
    with pytest.raises(ActingUserRefused) as refused:
        with_acting_user(KEY, headers(*values), SETTINGS)
    assert (refused.value.status, refused.value.code) == (400, "BAD_INPUT")


async def test_an_acting_user_is_charged_first_so_their_excess_spares_the_key() -> None:
    now = [0.0]
    limits = RateLimits(
        RateLimitSettings(),
        MemoryRateLimiter(10, lambda: now[0]),
        MemoryRateLimiter(2, lambda: now[0]),
    )
    ana = with_acting_user(KEY, headers("ana"), SETTINGS)
    assert [(await limits.take(ana, 1)).allowed for _ in range(3)] == [True, True, False]
    refused = await limits.take(ana, 1)
    assert refused.limit == "user" and refused.retry_after == pytest.approx(30)
    # ana's refused requests took nothing from the key: 8 of its 10 remain
    assert [(await limits.take(KEY, 1)).allowed for _ in range(9)] == [True] * 8 + [False]
