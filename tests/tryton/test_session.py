"""Keylink's Tryton session: a session Tryton no longer knows is renewed by logging in
again, without failing the read; the password never shows in a log."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from sources.tryton import TrytonConfig, TrytonSource
from tests.support.tryton import PASSWORD_ENV, TrytonServer


@pytest.fixture
async def adapter(tryton: TrytonServer) -> AsyncIterator[TrytonSource]:
    """Keylink's Tryton adapter on its own."""
    assert os.environ.get(PASSWORD_ENV)
    config = TrytonConfig(
        kind=["erp", "timesheet"],
        adapter="tryton",
        url=tryton.url,
        database=tryton.database,
        auth={"username": "admin", "password_env": PASSWORD_ENV},
    )
    source = TrytonSource("tryton", config)
    yield source
    await source.aclose()


async def test_an_ended_session_is_renewed_without_failing_the_read(
    adapter: TrytonSource, tryton: TrytonServer
) -> None:
    first = await adapter.customers(["C-ACME"])
    assert adapter.rpc.logins == 1
    session = adapter.rpc.session_header
    assert session is not None
    # end Keylink's session in Tryton, as its idle timeout would
    answer = httpx.post(
        f"{tryton.url}/{tryton.database}/rpc/",
        json={"id": 1, "method": "common.db.logout", "params": []},
        headers={"Authorization": session},
        timeout=10,
    )
    assert answer.status_code == 200
    again = await adapter.customers(["C-ACME"])
    assert again == first
    assert adapter.rpc.logins == 2
    assert adapter.rpc.session_header != session


def test_the_password_comes_only_from_the_environment() -> None:
    with pytest.raises(ValueError, match="secrets come only from the environment"):
        TrytonConfig(
            kind="erp",
            adapter="tryton",
            url="http://127.0.0.1:1",
            database="x",
            auth={"username": "admin", "password": "literal"},
        )
