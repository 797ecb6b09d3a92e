"""JWKS fetched over loopback HTTP with PyJWKClient: cached, refreshed for a rotated key,
bounded refetches for unknown kids, and an unreachable endpoint is 'unavailable'."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import gateway.auth.principal
from gateway.auth.principal import Authenticator, AuthError, AuthUnavailable, Principal
from gateway.auth.settings import AuthSettings, JwtSettings
from tests.auth.conftest import AUDIENCE, ISSUER, SigningKey, ec_key, jwks_of, mint
from tests.auth.jwks_server import JwksServer


@pytest.fixture
def jwks_server(rsa_signing_key: SigningKey, ec_signing_key: SigningKey) -> Iterator[JwksServer]:
    with JwksServer(jwks_of(rsa_signing_key, ec_signing_key)) as server:
        yield server


def url_authenticator(url: str) -> Authenticator:
    settings = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=url, jwks_timeout_seconds=2)
    return Authenticator(AuthSettings(mode="enforce", jwt=settings), None)


async def bearer(auth: Authenticator, token: str) -> Principal:
    return await auth.authenticate({"Authorization": f"Bearer {token}"})


async def test_tokens_verified_with_fetched_keys_and_the_set_is_cached(
    jwks_server: JwksServer, rsa_signing_key: SigningKey, ec_signing_key: SigningKey
) -> None:
    auth = url_authenticator(jwks_server.url)
    assert jwks_server.fetches == 0  # nothing fetched before the first token
    for _ in range(3):
        for key in (rsa_signing_key, ec_signing_key):
            assert (await bearer(auth, mint(key))).id == "alice"
    assert jwks_server.fetches == 1


async def test_known_keys_survive_an_endpoint_outage(
    jwks_server: JwksServer, rsa_signing_key: SigningKey
) -> None:
    auth = url_authenticator(jwks_server.url)
    await bearer(auth, mint(rsa_signing_key))
    jwks_server.stop()
    assert (await bearer(auth, mint(rsa_signing_key))).id == "alice"


async def test_unknown_kids_cause_at_most_one_refetch(
    jwks_server: JwksServer, rsa_signing_key: SigningKey
) -> None:
    auth = url_authenticator(jwks_server.url)
    await bearer(auth, mint(rsa_signing_key))
    for i in range(5):
        with pytest.raises(AuthError, match="unknown key"):
            await bearer(auth, mint(rsa_signing_key, kid=f"made-up-{i}"))
    assert jwks_server.fetches <= 2


async def test_rotated_key_is_fetched(
    jwks_server: JwksServer, rsa_signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway.auth.principal, "JWKS_REFRESH_COOLDOWN", 0.0)
    auth = url_authenticator(jwks_server.url)
    await bearer(auth, mint(rsa_signing_key))
    rotated = ec_key("ec-2")
    jwks_server.jwks = jwks_of(rsa_signing_key, rotated)
    assert (await bearer(auth, mint(rotated))).id == "alice"
    assert jwks_server.fetches == 2


async def test_unreachable_endpoint_is_unavailable(
    jwks_server: JwksServer, rsa_signing_key: SigningKey
) -> None:
    url = jwks_server.url
    jwks_server.stop()
    with pytest.raises(AuthUnavailable) as caught:
        await bearer(url_authenticator(url), mint(rsa_signing_key))
    assert "127.0.0.1" not in str(caught.value)


async def test_failing_endpoint_is_unavailable(
    jwks_server: JwksServer, rsa_signing_key: SigningKey
) -> None:
    jwks_server.status = 500
    with pytest.raises(AuthUnavailable):
        await bearer(url_authenticator(jwks_server.url), mint(rsa_signing_key))


async def test_forged_tokens_refused_with_fetched_keys(
    jwks_server: JwksServer, rsa_signing_key: SigningKey, stranger_key: SigningKey
) -> None:
    auth = url_authenticator(jwks_server.url)
    with pytest.raises(AuthError, match="signature"):
        await bearer(auth, mint(stranger_key))


async def test_stale_keys_verify_while_the_endpoint_fails(
    jwks_server: JwksServer, rsa_signing_key: SigningKey, ec_signing_key: SigningKey
) -> None:
    settings = JwtSettings(
        issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_server.url, jwks_cache_seconds=1
    )
    auth = Authenticator(AuthSettings(mode="enforce", jwt=settings), None)
    await bearer(auth, mint(rsa_signing_key))
    jwks_server.status = 500
    await asyncio.sleep(1.1)  # the cached set is no longer fresh
    assert (await bearer(auth, mint(ec_signing_key))).id == "alice"  # last good set
    with pytest.raises(AuthUnavailable):
        await bearer(auth, mint(ec_key("ec-new")))  # a key the stale set cannot vouch for
    assert jwks_server.fetches == 2  # one failed refetch; the retry waits


async def test_concurrent_requests_share_one_failing_fetch(
    jwks_server: JwksServer, rsa_signing_key: SigningKey
) -> None:
    jwks_server.status = 503
    auth = url_authenticator(jwks_server.url)
    token = mint(rsa_signing_key)
    calls = (bearer(auth, token) for _ in range(20))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, AuthUnavailable) for r in results)
    assert jwks_server.fetches == 1
