"""Authenticator: dev mode keeps today's trusted headers; enforce mode requires exactly one
valid credential and never echoes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers

from gateway.auth.principal import (
    ALL_ROLES,
    Authenticator,
    AuthError,
    AuthUnavailable,
    Principal,
    principal_from_headers,
)
from gateway.auth.settings import AuthSettings, JwtSettings
from gateway.errors import ConfigError
from linkmap.api_keys import ROLES, ApiKeyStore
from linkmap.models import utcnow
from tests.auth.conftest import SigningKey, mint

ENFORCE = AuthSettings(mode="enforce")


def test_gateway_and_linkmap_agree_on_roles() -> None:
    assert ALL_ROLES == ROLES


async def test_dev_mode_trusts_the_headers(api_keys: ApiKeyStore) -> None:
    auth = Authenticator(AuthSettings(), api_keys)
    assert await auth.authenticate({}) == Principal("dev", ALL_ROLES)
    principal = await auth.authenticate(
        {"X-Keylink-Principal": "bob", "X-Keylink-Roles": "viewer, sales"}
    )
    assert principal == Principal("bob", frozenset({"viewer", "sales"}))
    with pytest.raises(AuthError, match="unknown roles"):
        await auth.authenticate({"x-keylink-roles": "root"})
    assert principal_from_headers(Headers({"x-keylink-principal": "c"})).id == "c"


async def test_api_key_in_each_accepted_header(api_keys: ApiKeyStore) -> None:
    record, key = await api_keys.create("crm-backend", ["sales", "viewer"], actor="ops")
    auth = Authenticator(ENFORCE, api_keys)
    expected = Principal(f"apikey:{record.id}", frozenset({"sales", "viewer"}), "api_key")
    for headers in (
        {"X-API-Key": key},
        {"Authorization": f"ApiKey {key}"},
        {"authorization": f"apikey  {key} "},
        {"Authorization": f"Bearer {key}"},
        Headers({"x-api-key": key}),
    ):
        assert await auth.authenticate(headers) == expected


async def test_enforce_mode_ignores_dev_headers(api_keys: ApiKeyStore) -> None:
    auth = Authenticator(ENFORCE, api_keys)
    with pytest.raises(AuthError, match="authentication required"):
        await auth.authenticate({"X-Keylink-Principal": "admin", "X-Keylink-Roles": "admin"})


async def test_refused_api_keys(api_keys: ApiKeyStore) -> None:
    revoked, revoked_key = await api_keys.create("old", ["viewer"], actor="ops")
    await api_keys.revoke(revoked.id, actor="ops")
    _, expired_key = await api_keys.create(
        "temp", ["viewer"], actor="ops", expires_at=utcnow() + timedelta(milliseconds=1)
    )
    live, live_key = await api_keys.create("live", ["viewer"], actor="ops")
    secret = live_key.split("_", 2)[2]
    wrong = live_key[:-1] + ("A" if live_key[-1] != "A" else "B")
    auth = Authenticator(ENFORCE, api_keys)
    cases = {
        "no credentials": ({}, "authentication required"),
        "empty bearer": ({"Authorization": "Bearer "}, "authentication required"),
        "revoked key": ({"X-API-Key": revoked_key}, "revoked"),
        "expired key": ({"X-API-Key": expired_key}, "expired"),
        "unknown key": ({"X-API-Key": f"kl_0123456789ab_{secret}"}, "unknown"),
        "wrong secret": ({"X-API-Key": wrong}, "wrong"),
        "malformed key": ({"X-API-Key": "hunter2"}, "malformed"),
        "basic auth": ({"Authorization": "Basic dXNlcjpwYXNz"}, "unsupported"),
        "two credentials": (
            {"Authorization": f"ApiKey {live_key}", "X-API-Key": live_key},
            "one credential",
        ),
        "header twice": (Headers(raw=[(b"x-api-key", live_key.encode())] * 2), "more than once"),
        "too long": ({"Authorization": "Bearer " + "a" * 20_000}, "too long"),
    }
    for name, (headers, reason) in cases.items():
        with pytest.raises(AuthError) as caught:
            await auth.authenticate(headers)
        message = str(caught.value)
        assert reason in message, f"{name}: {message}"
        for key in (revoked_key, expired_key, live_key, wrong):
            assert key not in message and key.split("_", 2)[2] not in message, name
    assert live.id  # the live key itself still works
    assert (await auth.authenticate({"X-API-Key": live_key})).id == f"apikey:{live.id}"


async def test_api_keys_refused_without_a_store(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey
) -> None:
    auth = Authenticator(AuthSettings(mode="enforce", jwt=jwt_settings), None)
    with pytest.raises(AuthError, match="API keys are not accepted"):
        await auth.authenticate({"X-API-Key": "kl_0123456789ab_" + "a" * 43})
    token = mint(rsa_signing_key)
    assert (await auth.authenticate({"Authorization": f"bearer {token}"})).via == "jwt"


def test_enforce_needs_some_credential_source() -> None:
    with pytest.raises(ConfigError, match="enforce"):
        Authenticator(ENFORCE, None)
    assert Authenticator(AuthSettings(), None).mode == "dev"


class _BrokenStore:
    async def verify(self, presented: str) -> None:
        raise OperationalError("SELECT", {}, Exception("database is locked"))


async def test_link_map_down_is_unavailable_not_unauthorized(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = Authenticator(ENFORCE, _BrokenStore())  # type: ignore[arg-type]
    key = "kl_0123456789ab_" + "s" * 43
    with pytest.raises(AuthUnavailable, match="cannot be checked"):
        await auth.authenticate({"X-API-Key": key})
    assert "s" * 43 not in caplog.text and "0123456789ab" in caplog.text


async def test_refusals_are_logged_without_credentials(
    api_keys: ApiKeyStore, caplog: pytest.LogCaptureFixture
) -> None:
    _, key = await api_keys.create("k", ["viewer"], actor="ops")
    auth = Authenticator(ENFORCE, api_keys)
    caplog.set_level("DEBUG")
    wrong = key[:-2] + "zz"
    with pytest.raises(AuthError):
        await auth.authenticate({"X-API-Key": wrong})
    await auth.authenticate({"X-API-Key": key})
    assert "authentication refused" in caplog.text
    assert key.split("_", 2)[2] not in caplog.text and wrong.split("_", 2)[2] not in caplog.text
