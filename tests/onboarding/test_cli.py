"""The onboarding commands run as an admin would run them (``keylink`` in a subprocess),
against a generated ERP and CRM database read through the SQL source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from tests.onboarding.generate import Onboarding, generate
from tests.onboarding.upstreams import CRM_SPEC, ERP_SPEC, Upstream, delete_rows, serve

KEYLINK = [sys.executable, "-m", "gateway.cli.main"]


def _keylink(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KEYLINK, *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
async def setup(tmp_path: Path) -> tuple[Path, Upstream, str, Onboarding]:
    """A keylink.yaml over the generated systems and an empty link map."""
    data = generate(pairs=30, decoys=10, seed=8)
    erp = await serve(tmp_path, "erp", "erp", "customer", ERP_SPEC, data.erp)
    crm = await serve(tmp_path, "crm", "crm", "account", CRM_SPEC, data.crm)
    url = f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"
    await upgrade_async(url)
    config = tmp_path / "keylink.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "linkmap": {"url": url},
                "systems": {"erp": erp.settings_entry(), "crm": crm.settings_entry()},
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    return config, erp, url, data


async def test_browse_suggest_accept_reject_and_check(
    setup: tuple[Path, Upstream, str, Onboarding],
) -> None:
    config, erp, url, data = setup
    first = sorted(data.erp, key=lambda c: c.key)[0]
    out = _keylink(config, "browse", "erp", "customers", "--first", "5")
    assert out.returncode == 0, out.stderr
    assert first.key in out.stdout and "more: --after" in out.stderr

    out = _keylink(config, "browse", "erpp", "customers")
    assert out.returncode == 2
    assert "unknown system 'erpp'; configured systems: erp, crm" in out.stderr
    out = _keylink(config, "browse", "erp", "invoices")
    assert out.returncode == 2 and "valid kinds: customer, supplier, project, order" in out.stderr

    out = _keylink(config, "links", "suggest", "customer", "--from", "crm", "--to", "erp")
    assert out.returncode == 0, out.stderr
    pairs = [(c, e) for c, e in data.truth.items() if f" {c} " in out.stdout]
    assert len(pairs) >= 20
    (crm_a, erp_a), (crm_b, erp_b) = pairs[0], pairs[1]

    out = _keylink(config, "links", "accept-suggestion", "customer", f"crm={crm_a}", f"erp={erp_a}")
    assert out.returncode == 0 and out.stdout.startswith("created customer "), out.stderr
    out = _keylink(config, "links", "reject-suggestion", "customer", f"erp={erp_b}", f"crm={crm_b}")
    assert out.returncode == 0 and "rejection remembered" in out.stdout, out.stderr
    out = _keylink(config, "links", "suggest", "customer", "--from", "crm", "--to", "erp")
    assert f" {crm_a} " not in out.stdout and f" {crm_b} " not in out.stdout

    out = _keylink(config, "links", "check-dangling")
    assert out.returncode == 0, out.stderr
    store = LinkStore.from_url(url)
    try:
        entity = await store.resolve("customer", "erp", erp_a)
        await delete_rows(erp, "customer", [erp_a])
        out = _keylink(config, "links", "check-dangling")
        assert out.returncode == 1
        assert erp_a in out.stdout and "vanished" in out.stdout
        assert await store.resolve("customer", "erp", erp_a) == entity  # nothing deleted
    finally:
        await store.close()
