"""Issue 22: link administration through GraphQL (admin role) and ``keylink links ...``,
against a real gateway on loopback and the real CLI: a misspelt system is refused with the
configured ones, a merge is undone exactly, concurrent links of one key leave one winner,
and every change is in the history with who and why."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ADMIN = {"X-Keylink-Principal": "ann", "X-Keylink-Roles": "admin"}
SALES = {"X-Keylink-Principal": "rep", "X-Keylink-Roles": "sales"}
KEYLINK = [sys.executable, "-m", "gateway.cli.main"]

RESULT = "changeId operation entities { id kind links { system key provenance validFrom validTo } }"
CREATE = f"""mutation($kind: String!, $keys: [LinkKeyInput!]!) {{
  createLinkedEntity(kind: $kind, keys: $keys, reason: "onboarding") {{ {RESULT} }} }}"""
LINK = f"""mutation($id: Int!, $system: String!, $key: String!, $to: Date) {{
  linkKey(entityId: $id, system: $system, key: $key, validTo: $to) {{ {RESULT} }} }}"""
MERGE = f"""mutation($into: Int!, $from: Int!) {{
  mergeEntities(intoId: $into, fromId: $from, reason: "same company") {{ {RESULT} }} }}"""
UNDO = f"""mutation($change: Int!) {{
  undoLinkChange(changeId: $change, reason: "not the same") {{ {RESULT} }} }}"""


def ask(
    gateway: str, query: str, variables: dict[str, Any], headers: dict[str, str] = ADMIN
) -> dict[str, Any]:
    response = httpx.post(
        f"{gateway}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def create(gateway: str, kind: str, **keys: str) -> dict[str, Any]:
    pairs = [{"system": system, "key": key} for system, key in keys.items()]
    body = ask(gateway, CREATE, {"kind": kind, "keys": pairs})
    assert "errors" not in body, body
    entity: dict[str, Any] = body["data"]["createLinkedEntity"]["entities"][0]
    return entity


def test_undo_of_a_merge_restores_the_exact_earlier_keys(gateway: str) -> None:
    a = create(gateway, "customer", crm="ACC-1", erp="10023")
    b = create(gateway, "customer", crm="ACC-2", timesheet="acme")
    closed = ask(
        gateway, LINK, {"id": b["id"], "system": "erp", "key": "10077", "to": "2024-12-31"}
    )
    b = closed["data"]["linkKey"]["entities"][0]
    assert b["links"][-1] == {
        "system": "erp",
        "key": "10077",
        "provenance": "manual",
        "validFrom": None,
        "validTo": "2024-12-31",
    }
    merged = ask(gateway, MERGE, {"into": a["id"], "from": b["id"]})["data"]["mergeEntities"]
    assert [e["id"] for e in merged["entities"]] == [a["id"]]
    assert len(merged["entities"][0]["links"]) == 5
    undone = ask(gateway, UNDO, {"change": merged["changeId"]})["data"]["undoLinkChange"]
    assert sorted(undone["entities"], key=lambda e: e["id"]) == [a, b]
    again = ask(gateway, UNDO, {"change": merged["changeId"]})
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "already undone" in again["errors"][0]["message"]


def test_a_misspelt_system_is_refused_with_the_valid_names(gateway: str) -> None:
    a = create(gateway, "order", crm="OPP-1")  # orders are linked like customers
    body = ask(gateway, LINK, {"id": a["id"], "system": "ERP", "key": "SO-1"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert error["message"] == "unknown system 'ERP'; configured systems: erp, crm, timesheet"
    body = ask(gateway, CREATE, {"kind": "supplier", "keys": [{"system": "crm", "key": "X"}]})
    assert body["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "cannot hold supplier keys" in body["errors"][0]["message"]
    body = ask(gateway, LINK, {"id": a["id"], "system": "erp", "key": "SO-1"}, headers=SALES)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_two_concurrent_requests_linking_one_key_exactly_one_wins(gateway: str) -> None:
    ids = [create(gateway, "customer", crm=f"ACC-{n}")["id"] for n in (10, 11)]
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"{gateway}/graphql",
                    json={"query": LINK, "variables": {"id": i, "system": "erp", "key": "555"}},
                    headers=ADMIN,
                )
                for i in ids
            )
        )
    bodies = [answer.json() for answer in answers]
    codes = sorted(b["errors"][0]["extensions"]["code"] if "errors" in b else "OK" for b in bodies)
    assert codes == ["CONFLICT", "OK"], bodies


def keylink(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEYLINK, "links", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_links_merges_undoes_and_refuses_a_misspelt_system(cli_config: Path) -> None:
    assert keylink(cli_config, "add", "customer", "crm=ACC-1", "erp=1").returncode == 0
    assert keylink(cli_config, "add", "customer", "crm=ACC-2").returncode == 0
    wrong = keylink(cli_config, "link", "2", "tmesheet=acme")
    assert wrong.returncode == 2
    assert "unknown system 'tmesheet'; configured systems: erp, crm, timesheet" in wrong.stderr
    linked = keylink(cli_config, "link", "2", "timesheet=acme", "--reason", "same client")
    assert linked.returncode == 0, linked.stderr
    merged = keylink(cli_config, "merge", "1", "2", "--actor", "bob", "--reason", "duplicate")
    assert merged.returncode == 0, merged.stderr
    change = merged.stdout.split()[1]
    assert "customer 1: crm=ACC-1, erp=1, crm=ACC-2, timesheet=acme" in merged.stdout
    undone = keylink(cli_config, "undo", change, "--reason", "oops")
    assert undone.returncode == 0, undone.stderr
    assert "customer 1: crm=ACC-1, erp=1" in undone.stdout
    assert "customer 2: crm=ACC-2, timesheet=acme" in undone.stdout
    again = keylink(cli_config, "undo", change)
    assert again.returncode == 1 and "already undone" in again.stderr
    history = keylink(cli_config, "history", "--entity", "2").stdout
    assert f"bob  merge (undone by {int(change) + 1})  -- duplicate" in history
    assert f"undo of {change}" in history
