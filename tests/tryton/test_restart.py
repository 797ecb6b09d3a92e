"""Tryton killed mid-suite: its fields fail with SOURCE_UNAVAILABLE while the CRM's still
answer, and Keylink recovers by itself once Tryton is back (no restart of Keylink)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.conftest import graphql
from tests.support.tryton import TrytonServer

QUERY = """
query($key: String!) {
  customer(system: "crm", key: $key) {
    account { name }
    erp { key name }
    financialOverview { openBalance { amount currency } }
  }
}
"""


async def answered_in_full(
    keylink: httpx.AsyncClient, variables: dict[str, str], seconds: float = 30
) -> dict[str, Any]:
    """The first answer without errors within ``seconds`` (breakers close after a probe)."""
    deadline = time.monotonic() + seconds
    while True:
        body = await graphql(keylink, QUERY, variables)
        if "errors" not in body or time.monotonic() > deadline:
            assert "errors" not in body, body["errors"]
            return body
        await asyncio.sleep(0.25)


async def test_killed_tryton_fails_its_fields_and_keylink_recovers_by_itself(
    keylink: httpx.AsyncClient, tryton: TrytonServer, crm_keys: dict[str, str]
) -> None:
    variables = {"key": crm_keys["C-ACME"]}
    healthy = await answered_in_full(keylink, variables)

    tryton.kill()
    try:
        for _ in range(3):  # also once the breaker has opened
            down = await graphql(keylink, QUERY, variables)
            customer = down["data"]["customer"]
            assert customer["account"] == healthy["data"]["customer"]["account"]
            assert customer["erp"] is None
            assert customer["financialOverview"]["openBalance"] is None
            codes = {(e["extensions"]["code"], e["extensions"]["system"]) for e in down["errors"]}
            assert codes == {("SOURCE_UNAVAILABLE", "tryton")}
    finally:
        tryton.start()

    again = await answered_in_full(keylink, variables)
    assert again["data"] == healthy["data"]
