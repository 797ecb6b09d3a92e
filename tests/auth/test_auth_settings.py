"""AuthSettings/JwtSettings accept the documented shape and refuse everything unsafe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.auth.settings import AuthSettings, JwtSettings

BASE: dict[str, Any] = {"issuer": "https://id.example.com", "audience": "keylink"}


def test_defaults_are_dev_mode_without_jwt() -> None:
    settings = AuthSettings()
    assert settings.mode == "dev" and settings.jwt is None


def test_full_shape() -> None:
    settings = AuthSettings.model_validate(
        {
            "mode": "enforce",
            "jwt": {
                **BASE,
                "jwks_url": "https://id.example.com/certs",
                "algorithms": ["ES256"],
                "leeway_seconds": 300,
                "roles_claim": "realm_access.roles",
                "principal_claim": "preferred_username",
            },
        }
    )
    assert settings.jwt is not None
    assert settings.jwt.algorithms == ["ES256"] and settings.jwt.leeway_seconds == 300
    assert settings.jwt.roles_claim == "realm_access.roles"


def test_jwt_defaults(tmp_path: Path) -> None:
    jwt = JwtSettings(**BASE, jwks_file=tmp_path / "jwks.json")
    assert jwt.algorithms == ["RS256", "ES256"]
    assert (jwt.leeway_seconds, jwt.roles_claim, jwt.principal_claim) == (30, "roles", "sub")


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("exactly one of jwks_file and jwks_url", {**BASE}),
    (
        "exactly one of jwks_file and jwks_url",
        {**BASE, "jwks_file": "j.json", "jwks_url": "https://id.example.com/certs"},
    ),
    ("loopback", {**BASE, "jwks_url": "http://id.example.com/certs"}),
    ("loopback", {**BASE, "jwks_url": "file:///etc/passwd"}),
    ("RS256", {**BASE, "jwks_file": "j.json", "algorithms": ["HS256"]}),
    ("RS256", {**BASE, "jwks_file": "j.json", "algorithms": ["none"]}),
    ("at least 1", {**BASE, "jwks_file": "j.json", "algorithms": []}),
    ("less than or equal to 300", {**BASE, "jwks_file": "j.json", "leeway_seconds": 301}),
    ("greater than or equal to 0", {**BASE, "jwks_file": "j.json", "leeway_seconds": -1}),
    ("pattern", {**BASE, "jwks_file": "j.json", "roles_claim": "a..b"}),
    ("Extra inputs", {**BASE, "jwks_file": "j.json", "secret": "x"}),
    ("at least 1", {"issuer": "", "audience": "k", "jwks_file": "j.json"}),
]


@pytest.mark.parametrize(("message", "data"), INVALID)
def test_invalid_jwt_settings(message: str, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match=message):
        JwtSettings.model_validate(data)


def test_loopback_http_is_allowed() -> None:
    for url in ("http://127.0.0.1:8080/jwks", "http://[::1]:9/jwks", "http://localhost/jwks"):
        assert JwtSettings(**BASE, jwks_url=url).jwks_url == url


def test_unknown_mode_and_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        AuthSettings.model_validate({"mode": "off"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        AuthSettings.model_validate({"mode": "dev", "api_keys": True})
