"""Issue 22: the link file over HTTP (``POST /admin/links/import``, ``GET
/admin/links/export``), CSV and Excel, against a real gateway on loopback. An admin
uploads the spreadsheet someone kept by hand: the dry run reports exactly what ``keylink
links import`` reports for the same file (conflicts by line number), apply writes it in
one transaction, and a re-run reports every row unchanged."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from demo.runner import DemoUpstreams
from linkmap.store import LinkStore

ADMIN = {"X-Keylink-Principal": "onboarding-admin", "X-Keylink-Roles": "admin"}
ANALYST = {"X-Keylink-Principal": "someone", "X-Keylink-Roles": "analyst"}
KEYLINK = [sys.executable, "-m", "gateway.cli.main"]
ROWS = 10_000


def workbook(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("kept by hand")
    sheet.append(header or ["kind", "erp", "crm", "timesheet"])
    for row in rows:
        sheet.append(row)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


def hand_kept_rows(fixed: bool) -> list[list[Any]]:
    """10,000 customers as a person keeps them: ERP numbers typed as numbers, CRM ids as
    text, a timesheet client now and then, one CRM account for two ERP customers (one per
    legal entity). Unless ``fixed``, three rows repeat an earlier row's key."""
    rows: list[list[Any]] = []
    for i in range(ROWS):
        crm = f"ACC-{i:05d}"
        timesheet = f"client-{i}" if i % 7 == 0 else None
        erp: Any = 100_000 + i
        if i % 1000 == 1:
            erp = f"{100_000 + i}|{900_000 + i}"  # two legal entities, one CRM account
        rows.append(["customer", erp, crm, timesheet])
    if not fixed:
        rows[4999][2] = "ACC-00010"  # line 5001 repeats line 12's CRM account
        rows[7000][1] = 100_020  # line 7002 repeats line 22's ERP number
        rows[9998][3] = "client-0"  # line 10000 repeats line 2's timesheet client
    return rows


def post_import(
    gateway: str, body: bytes, headers: dict[str, str] = ADMIN, **params: str
) -> httpx.Response:
    return httpx.post(
        f"{gateway}/admin/links/import", content=body, params=params, headers=headers, timeout=300
    )


def cli_import(config: Path, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEYLINK, "links", "import", str(path), *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_a_10000_row_workbook_imports_over_http_with_the_cli_report(
    gateway: str, cli_config: Path, linkmap_url: str, tmp_path: Path
) -> None:
    async with LinkStore.from_url(linkmap_url) as store:  # already linked before the upload
        seeded = await store.create_entity("customer", {"erp": ["100030"]}, actor="earlier")
    body = workbook(hand_kept_rows(fixed=False))
    path = tmp_path / "kept-by-hand.xlsx"
    path.write_bytes(body)

    dry = post_import(gateway, body)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert (report["rows"], report["new"], report["conflict"], report["invalid"]) == (
        ROWS,
        ROWS - 4,
        4,
        0,
    )
    assert report["dryRun"] and report["blocked"] and report["written"] == 0
    by_line = {p["line"]: p["reason"] for p in report["problems"]}
    assert by_line == {
        32: f"erp key '100030' is already linked to customer {seeded.id}, which does not hold "
        "crm key 'ACC-00030' (an import never adds keys to an existing entity)",
        5001: "crm key 'ACC-00010' is also on line 12",
        7002: "erp key '100020' is also on line 22",
        10000: "timesheet key 'client-0' is also on line 2",
    }
    cli = cli_import(cli_config, path)
    assert cli.returncode == 1, cli.stderr
    assert cli.stdout.splitlines() == report["report"]

    refused = post_import(gateway, body, apply="true")
    assert refused.status_code == 409 and refused.json()["written"] == 0

    fixed = workbook(hand_kept_rows(fixed=True))
    async with LinkStore.from_url(linkmap_url) as store:
        await store.delete_entity(seeded.id, actor="earlier", note="was a mistake")
    applied = post_import(gateway, fixed, apply="true", note="spreadsheet from sales")
    assert applied.status_code == 200, applied.text
    assert (applied.json()["written"], applied.json()["blocked"]) == (ROWS, False)

    rerun = post_import(gateway, fixed).json()
    assert (rerun["rows"], rerun["unchanged"], rerun["new"], rerun["problems"]) == (
        ROWS,
        ROWS,
        0,
        [],
    )
    path.write_bytes(fixed)
    again = cli_import(cli_config, path)
    assert again.returncode == 0 and again.stdout.splitlines() == rerun["report"]

    async with LinkStore.from_url(linkmap_url) as store:
        both = await store.resolve("customer", "erp", "901001")
        assert both is not None and both.keys_in("erp") == ("101001", "901001")
        assert both.keys_in("crm") == ("ACC-01001",)
        full = (await store.linked([both.id]))[both.id]
        assert {link.provenance for link in full.links} == {"import"}
        (change,) = await store.changes(entity_id=both.id)
        assert (change.operation, change.actor, change.reason) == (
            "import",
            "onboarding-admin",
            "spreadsheet from sales",
        )


async def test_export_as_xlsx_and_csv_imports_back_unchanged(gateway: str) -> None:
    rows = [["customer", "7", "ACC-7", None], ["supplier", "S-0042", None, None]]
    assert post_import(gateway, workbook(rows), apply="true").json()["written"] == 2
    for fmt in ("xlsx", "csv"):
        exported = httpx.get(
            f"{gateway}/admin/links/export", params={"format": fmt}, headers=ADMIN, timeout=60
        )
        assert exported.status_code == 200, exported.text
        report = post_import(gateway, exported.content).json()
        assert (report["rows"], report["unchanged"]) == (2, 2), report
    text = httpx.get(f"{gateway}/admin/links/export", headers=ADMIN, timeout=60).text
    assert text.splitlines() == ["kind,erp,crm,timesheet", "customer,7,ACC-7,", "supplier,S-0042,,"]


def test_a_misspelt_system_is_refused_with_the_configured_ones(gateway: str) -> None:
    body = workbook([["customer", "1", "A-1"]], header=["kind", "erp", "crn"])
    answer = post_import(gateway, body, apply="true")
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_INPUT"
    assert (
        "unknown system 'crn' in the header; configured systems: erp, crm, timesheet"
        in (error["message"])
    )
    # a system that cannot hold the row's kind: that row is invalid, by line, with the why
    csv_body = b"kind,erp,crm\nsupplier,S-1,CRM-9\ncustomer,C-1,A-1\n"
    report = post_import(gateway, csv_body).json()
    assert report["problems"] == [
        {
            "line": 2,
            "verdict": "invalid",
            "reason": "system 'crm' (kind crm) cannot hold supplier keys; "
            "it holds customer and order keys",
        }
    ]


def test_only_admins_import_or_export(gateway: str) -> None:
    body = b"kind,erp\ncustomer,1\n"
    assert post_import(gateway, body, headers=ANALYST).status_code == 403
    refused = httpx.get(f"{gateway}/admin/links/export", headers=ANALYST, timeout=30)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rows_keyed_by_a_name_get_the_key_of_the_one_record_of_that_name(
    gateway: str, live_upstreams: DemoUpstreams, linkmap_url: str
) -> None:
    """A sheet someone kept by hand names the ERP customer instead of its number: the
    upload reads the ERP's customers live (``browse_customers``) and links the one record
    of that name; a name the ERP does not hold is reported on its line, and nothing is
    written while it is there."""
    customers = live_upstreams.dataset.customers
    known = sorted(customers)[3]
    name = customers[known].name
    header = ["kind", "erp:name", "crm"]
    wrong = workbook([["customer", name, "ACC-HAND-1"], ["customer", "No Such AS", "X"]], header)
    refused = post_import(gateway, wrong, apply="true")
    assert refused.status_code == 422 and refused.json()["written"] == 0, refused.text
    (problem,) = refused.json()["problems"]
    assert problem["line"] == 3 and "No Such AS" in problem["reason"], problem

    applied = post_import(
        gateway, workbook([["customer", name, "ACC-HAND-1"]], header), apply="true"
    )
    assert applied.status_code == 200, applied.text
    async with LinkStore.from_url(linkmap_url) as store:
        linked = await store.resolve("customer", "crm", "ACC-HAND-1")
    assert linked is not None and linked.keys_in("erp") == (known,)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"PK\x03\x04" + b"\x00garbage" * 100, "not a readable .xlsx workbook"),
        ("kind,erp\ncustomer,1\n".encode("utf-16"), "UTF-16"),
        (b"\xff\xfe\x00", "UTF-16"),
        (b"", "the file is empty"),
    ],
    ids=["broken-workbook", "utf-16", "utf-16-fragment", "empty"],
)
def test_a_file_that_cannot_be_read_is_refused_and_changes_nothing(
    gateway: str, body: bytes, said: str
) -> None:
    """What an attacker or a bad export sends: a broken workbook, another encoding, nothing
    at all. A clear BAD_INPUT (never a 500 or a traceback), even with apply, and the link
    map as it was."""
    before = httpx.get(f"{gateway}/admin/links/export", headers=ADMIN, timeout=60).content
    refused = post_import(gateway, body, apply="true")
    assert refused.status_code == 400, refused.text
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "BAD_INPUT" and said in error["message"], error
    assert "nothing was written" in error["message"] and "Traceback" not in refused.text
    assert httpx.get(f"{gateway}/admin/links/export", headers=ADMIN, timeout=60).content == before


def test_an_oversized_key_is_an_invalid_row_not_an_error(gateway: str) -> None:
    long_key = b"kind,erp\ncustomer," + b"9" * 100_000 + b"\n"
    report = post_import(gateway, long_key, apply="true")
    assert report.status_code == 422, report.text
    (problem,) = report.json()["problems"]
    assert problem["line"] == 2 and "longer than 255 characters" in problem["reason"], problem
    assert report.json()["written"] == 0
