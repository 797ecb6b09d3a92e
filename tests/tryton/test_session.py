"""Keylink's Tryton session: a session Tryton no longer knows is renewed by logging in
again, without failing the read; the password never shows in a log."""

from __future__ import annotations

import httpx
import pytest

from sources.tryton import TrytonConfig, TrytonSource
from tests.support.tryton import TrytonServer


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
