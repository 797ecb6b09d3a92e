"""JWT verification in ``enforce`` mode against a JWKS file: valid RS256/ES256 tokens are
accepted with their roles mapped; every forged, misdirected or stale token is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.auth.principal import Authenticator, AuthError, Principal
from gateway.auth.settings import AuthSettings, JwtSettings
from gateway.errors import ConfigError
from tests.auth.conftest import (
    AUDIENCE,
    ISSUER,
    SigningKey,
    claims,
    ec_key,
    forge,
    mint,
)


def authenticator(jwt_settings: JwtSettings, **changes: Any) -> Authenticator:
    settings = jwt_settings.model_copy(update=changes)
    return Authenticator(AuthSettings(mode="enforce", jwt=settings), None)


async def login(auth: Authenticator, token: str) -> Principal:
    return await auth.authenticate({"Authorization": f"Bearer {token}"})


async def test_valid_rs256_and_es256_tokens_are_accepted(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey, ec_signing_key: SigningKey
) -> None:
    auth = authenticator(jwt_settings)
    for key in (rsa_signing_key, ec_signing_key):
        principal = await login(auth, mint(key))
        assert principal == Principal("alice", frozenset({"sales"}), "jwt")


@pytest.mark.parametrize(
    ("roles_claim", "payload_roles", "expected"),
    [
        ("roles", {"roles": ["sales", "admin", "superuser"]}, {"sales", "admin"}),
        ("roles", {"roles": "viewer analyst"}, {"viewer", "analyst"}),
        (
            "realm_access.roles",
            {"realm_access": {"roles": ["analyst", "offline_access"]}, "roles": None},
            {"analyst"},
        ),
        (
            "https://keylink.example/roles",
            {"https://keylink.example/roles": ["viewer"], "roles": None},
            {"viewer"},
        ),
    ],
)
async def test_roles_are_mapped(
    jwt_settings: JwtSettings,
    rsa_signing_key: SigningKey,
    roles_claim: str,
    payload_roles: dict[str, Any],
    expected: set[str],
) -> None:
    auth = authenticator(jwt_settings, roles_claim=roles_claim)
    principal = await login(auth, mint(rsa_signing_key, claims(**payload_roles)))
    assert principal.roles == frozenset(expected)


async def test_principal_claim_is_configurable(
    jwt_settings: JwtSettings, ec_signing_key: SigningKey
) -> None:
    auth = authenticator(jwt_settings, principal_claim="preferred_username")
    principal = await login(auth, mint(ec_signing_key, claims(preferred_username="a.lice")))
    assert principal.id == "a.lice"


async def test_row_scope_comes_from_the_configured_claim(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey
) -> None:
    unscoped = await login(authenticator(jwt_settings), mint(rsa_signing_key))
    assert unscoped.scope is None  # no scope_claim configured: every entity
    auth = authenticator(jwt_settings, scope_claim="keylink.scope")
    token = mint(rsa_signing_key, claims(keylink={"scope": ["customer:erp:100*"]}))
    principal = await login(auth, token)
    assert principal.scope is not None
    assert principal.scope.as_strings() == ["customer:erp:100*"]
    nothing = await login(auth, mint(rsa_signing_key))  # claim absent: sees nothing
    assert nothing.scope is not None and nothing.scope.entries == ()
    with pytest.raises(AuthError, match="invalid scope"):
        await login(auth, mint(rsa_signing_key, claims(keylink={"scope": ["planet:x:1"]})))


async def test_expiry_within_leeway_is_accepted(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey
) -> None:
    now = int(time.time())
    token = mint(rsa_signing_key, claims(exp=now - 10, iat=now - 100, nbf=now - 100))
    assert (await login(authenticator(jwt_settings), token)).id == "alice"


def _refused_tokens(
    rsa_signing_key: SigningKey, ec_signing_key: SigningKey, stranger_key: SigningKey
) -> dict[str, tuple[str, str]]:
    now = int(time.time())
    good = claims()
    public_pem = rsa_signing_key.public_pem
    return {
        "wrong signature": (mint(stranger_key), "signature is invalid"),
        "tampered payload": (
            _swap_payload(mint(rsa_signing_key), claims(roles=["admin"])),
            "signature is invalid",
        ),
        "wrong audience": (mint(rsa_signing_key, claims(aud="other-service")), "aud"),
        "wrong issuer": (mint(rsa_signing_key, claims(iss="https://evil.example")), "issuer"),
        "expired beyond leeway": (
            mint(rsa_signing_key, claims(exp=now - 31, iat=now - 400, nbf=now - 400)),
            "expired",
        ),
        "not valid yet": (mint(rsa_signing_key, claims(nbf=now + 120)), "not valid yet"),
        "no exp": (mint(rsa_signing_key, claims(exp=None)), "'exp'"),
        "no sub": (mint(rsa_signing_key, claims(sub=None)), "'sub'"),
        "no aud": (mint(rsa_signing_key, claims(aud=None)), "'aud'"),
        "no iss": (mint(rsa_signing_key, claims(iss=None)), "'iss'"),
        "alg none": (forge({"alg": "none", "kid": "rsa-1"}, good, None), "algorithm"),
        "alg None spelled": (forge({"alg": "None", "kid": "rsa-1"}, good, None), "algorithm"),
        "HS256 with the public key PEM": (
            forge({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, good, public_pem),
            "algorithm",
        ),
        "HS256 with the JWK JSON": (
            forge({"alg": "HS256", "kid": "rsa-1"}, good, json.dumps(rsa_signing_key.jwk).encode()),
            "algorithm",
        ),
        "unknown kid": (mint(rsa_signing_key, kid="rsa-9"), "unknown key"),
        "no kid": (
            forge({"alg": "RS256"}, good, None).rstrip(".") + ".c2ln",
            "kid",
        ),
        "RS256 header on the EC key": (
            forge({"alg": "RS256", "kid": "ec-1"}, good, None) + "c2ln",
            "does not match",
        ),
        "no known role": (mint(ec_signing_key, claims(roles=["superuser"])), "no role"),
        "no roles claim": (mint(ec_signing_key, claims(roles=None)), "no role"),
        "api-key principal": (mint(ec_signing_key, claims(sub="apikey:abc")), "principal"),
        "empty sub": (mint(ec_signing_key, claims(sub=" ")), "principal"),
        "garbage": ("abc.def.ghi", "malformed"),
    }


def _swap_payload(token: str, payload: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    other = forge({"alg": "RS256"}, payload, None).split(".")[1]
    return f"{header}.{other}.{signature}"


async def test_bad_tokens_are_refused(
    jwt_settings: JwtSettings,
    rsa_signing_key: SigningKey,
    ec_signing_key: SigningKey,
    stranger_key: SigningKey,
) -> None:
    auth = authenticator(jwt_settings)
    cases = _refused_tokens(rsa_signing_key, ec_signing_key, stranger_key)
    for name, (token, reason) in cases.items():
        with pytest.raises(AuthError) as caught:
            await login(auth, token)
        message = str(caught.value)
        assert reason in message, f"{name}: {message}"
        signature = token.split(".")[-1]
        assert token not in message and (not signature or signature not in message), name


async def test_algorithm_not_configured_is_refused(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey, ec_signing_key: SigningKey
) -> None:
    auth = authenticator(jwt_settings, algorithms=["ES256"])
    assert (await login(auth, mint(ec_signing_key))).id == "alice"
    with pytest.raises(AuthError, match="algorithm"):
        await login(auth, mint(rsa_signing_key))


async def test_leeway_is_configurable(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey
) -> None:
    now = int(time.time())
    token = mint(rsa_signing_key, claims(exp=now - 10, iat=now - 100, nbf=now - 100))
    with pytest.raises(AuthError, match="expired"):
        await login(authenticator(jwt_settings, leeway_seconds=0), token)


async def test_audience_list_containing_ours_is_accepted(
    jwt_settings: JwtSettings, rsa_signing_key: SigningKey
) -> None:
    token = mint(rsa_signing_key, claims(aud=["crm", AUDIENCE]))
    assert (await login(authenticator(jwt_settings), token)).id == "alice"


async def test_jwt_refused_when_not_configured(rsa_signing_key: SigningKey) -> None:
    auth = Authenticator(AuthSettings(mode="enforce"), api_keys=_NoKeys())  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="JWTs are not accepted"):
        await login(auth, mint(rsa_signing_key))


class _NoKeys:
    async def verify(self, presented: str) -> None:
        return None


def test_unusable_jwks_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    cases = {
        "cannot read": None,
        "not a JWK set": "{not json",
        "no signing key": json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}),
    }
    for message, content in cases.items():
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(content, encoding="utf-8")
        settings = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=path)
        with pytest.raises(ConfigError, match=message):
            Authenticator(AuthSettings(mode="enforce", jwt=settings), None)


def test_jwks_keys_without_kid_or_for_encryption_are_ignored(tmp_path: Path) -> None:
    no_kid = dict(ec_key("x").jwk)
    del no_kid["kid"]
    enc = dict(ec_key("enc").jwk, use="enc")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [no_kid, enc]}), encoding="utf-8")
    settings = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=path)
    with pytest.raises(ConfigError, match="no signing key"):
        Authenticator(AuthSettings(mode="enforce", jwt=settings), None)
