"""No API key, token or password in any log line (checked after every test by the
``no_secret_in_logs`` fixture in tests/conftest.py); here: that the check itself works.
The same through a gateway: tests/security/test_gateway_auth.py."""

from __future__ import annotations

import pytest

from tests.security.test_gateway_auth import FORGED_JWT as JWT
from tests.support.secret_scan import leaks, remember

KEY = "kl_0a1b2c3d_" + "S" * 43


@pytest.mark.parametrize(
    "line",
    [
        f"refused {KEY}",
        f"token {JWT} expired",
        "headers: {'authorization': 'Bearer abcdefghijklmnop'}",
        "X-API-Key: kl_zzzzzzzzzzzzzzzzzzzzzz",
        "connect with password=hunter2hunter",
        "config {'secret': 'swordfish-42'}",
    ],
)
def test_credential_shapes_are_found(line: str) -> None:
    assert leaks([line])


@pytest.mark.parametrize(
    "line",
    [
        "API key kl_0a1b2c3d is unknown, revoked, expired or wrong",
        "auth: {type: basic, username: svc, password_env: ERP_PASSWORD}",
        "password: ***",
        "authentication refused: malformed API key",
        "HTTP Request: POST http://127.0.0.1:5000/graphql 200 OK",
    ],
)
def test_ordinary_lines_pass(line: str) -> None:
    assert not leaks([line])


def test_registered_secrets_are_found() -> None:
    remember("correct-horse-battery")
    assert leaks(["login as admin with correct-horse-battery"])
