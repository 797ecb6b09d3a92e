"""Key material, token minting and an API key store for the authentication tests.

RSA and EC keys are generated with ``cryptography`` per test session; the public halves are
written to a JWKS file; tokens are minted with PyJWT (or by hand for the forged ones).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth.settings import JwtSettings
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from linkmap.migrate import upgrade_async

ISSUER = "https://id.test.invalid/realms/acme"
AUDIENCE = "keylink"


@dataclass(frozen=True)
class SigningKey:
    """A private key, its kid and algorithm, and its public JWK."""

    kid: str
    alg: str
    private: Any
    jwk: dict[str, Any]

    @property
    def public_pem(self) -> bytes:
        pem: bytes = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


def rsa_key(kid: str) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = dict(RSAAlgorithm.to_jwk(private.public_key(), as_dict=True))
    jwk.update(kid=kid, use="sig", alg="RS256")
    return SigningKey(kid, "RS256", private, jwk)


def ec_key(kid: str) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = dict(ECAlgorithm.to_jwk(private.public_key(), as_dict=True))
    jwk.update(kid=kid, use="sig", alg="ES256")
    return SigningKey(kid, "ES256", private, jwk)


@pytest.fixture(scope="session")
def rsa_signing_key() -> SigningKey:
    return rsa_key("rsa-1")


@pytest.fixture(scope="session")
def ec_signing_key() -> SigningKey:
    return ec_key("ec-1")


@pytest.fixture(scope="session")
def stranger_key() -> SigningKey:
    """An RSA key that is in no JWKS."""
    return rsa_key("rsa-1")


def jwks_of(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.jwk for k in keys]}


@pytest.fixture
def jwks_file(tmp_path: Path, rsa_signing_key: SigningKey, ec_signing_key: SigningKey) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(rsa_signing_key, ec_signing_key)), encoding="utf-8")
    return path


@pytest.fixture
def jwt_settings(jwks_file: Path) -> JwtSettings:
    return JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=jwks_file)


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for the test issuer/audience (5 min), updated by ``overrides``; a
    value of None removes the claim."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "roles": ["sales"],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def mint(key: SigningKey, payload: Mapping[str, Any] | None = None, **headers: Any) -> str:
    """A token signed by ``key`` (kid from the key unless ``headers`` say otherwise)."""
    header = {"kid": key.kid, **headers}
    return jwt.encode(dict(payload or claims()), key.private, algorithm=key.alg, headers=header)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: Mapping[str, Any], payload: Mapping[str, Any], secret: bytes | None) -> str:
    """A token built by hand: HMAC-SHA256 over it with ``secret``, or unsigned if None."""
    signing_input = (
        _b64(json.dumps(dict(header)).encode()) + "." + _b64(json.dumps(dict(payload)).encode())
    )
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


@pytest.fixture
async def api_keys(tmp_path: Path) -> AsyncIterator[ApiKeyStore]:
    """An ApiKeyStore on a migrated SQLite link map (the store's own tests cover PostgreSQL)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
    await upgrade_async(url)
    engine = create_engine(url)
    try:
        yield ApiKeyStore(engine)
    finally:
        await engine.dispose()
