"""End to end over loopback HTTP: a FastAPI app authenticating with :class:`Authenticator`
the way the gateway wires it (401 + ``WWW-Authenticate`` on AuthError, 503 on
AuthUnavailable), JWKS fetched from a loopback JWKS server, API keys from a SQLite link map."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.auth.principal import Authenticator, AuthError, AuthUnavailable
from gateway.auth.settings import AuthSettings, JwtSettings
from linkmap.api_keys import ApiKeyStore
from linkmap.db import create_engine
from linkmap.migrate import upgrade_async
from tests.auth.conftest import AUDIENCE, ISSUER, SigningKey, claims, jwks_of, mint
from tests.auth.jwks_server import JwksServer
from tests.support.servers import ServerThread


def build_app(settings: AuthSettings, db_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(db_url)
        app.state.auth = Authenticator(settings, ApiKeyStore(engine))
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami(request: Request) -> JSONResponse:
        auth: Authenticator = request.app.state.auth
        try:
            principal = await auth.authenticate(request.headers)
        except AuthUnavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        except AuthError as exc:
            return JSONResponse(
                {"error": str(exc)},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="keylink"'},
            )
        return JSONResponse(
            {"id": principal.id, "roles": sorted(principal.roles), "via": principal.via}
        )

    return app


@pytest.fixture
def jwks(rsa_signing_key: SigningKey, ec_signing_key: SigningKey) -> Iterator[JwksServer]:
    with JwksServer(jwks_of(rsa_signing_key, ec_signing_key)) as server:
        yield server


@pytest.fixture
async def db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'linkmap.db'}"
    await upgrade_async(url)
    return url


@pytest.fixture
def server(jwks: JwksServer, db_url: str) -> Iterator[str]:
    jwt = JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks.url)
    thread = ServerThread(build_app(AuthSettings(mode="enforce", jwt=jwt), db_url))
    thread.start()
    yield thread.url
    thread.stop()


async def test_jwt_and_api_key_over_http(
    server: str, db_url: str, rsa_signing_key: SigningKey, ec_signing_key: SigningKey
) -> None:
    engine = create_engine(db_url)
    try:
        record, key = await ApiKeyStore(engine).create("crm", ["sales"], actor="t")
    finally:
        await engine.dispose()
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        rs = await client.get(
            "/whoami", headers={"Authorization": f"Bearer {mint(rsa_signing_key)}"}
        )
        assert rs.json() == {"id": "alice", "roles": ["sales"], "via": "jwt"}
        token = mint(ec_signing_key, claims(sub="bob", roles=["analyst", "viewer"]))
        es = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert es.json() == {"id": "bob", "roles": ["analyst", "viewer"], "via": "jwt"}
        by_key = await client.get("/whoami", headers={"X-API-Key": key})
        assert by_key.json() == {"id": f"apikey:{record.id}", "roles": ["sales"], "via": "api_key"}

        for headers in (
            {},
            {"X-Keylink-Principal": "admin"},
            {"Authorization": "Bearer " + mint(ec_signing_key, claims(aud="x"))},
            {"X-API-Key": key[:-3] + "abc"},
        ):
            refused = await client.get("/whoami", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert key.split("_", 2)[2] not in refused.text


async def test_jwks_down_answers_503(
    server: str, jwks: JwksServer, rsa_signing_key: SigningKey
) -> None:
    jwks.stop()
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        response = await client.get(
            "/whoami", headers={"Authorization": f"Bearer {mint(rsa_signing_key)}"}
        )
    assert response.status_code == 503
    assert "cannot be fetched" in response.json()["error"]
