"""``keylink doctor`` against the demo: all green while every system runs; a stopped
system shows as unreachable and the exit status is 1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from demo.runner import DemoUpstreams
from gateway.demo_mode import demo_systems

DOCTOR = (sys.executable, "-m", "gateway.cli.main", "doctor", "--width", "200")


@pytest.fixture(scope="module")
def own_upstreams() -> Iterator[DemoUpstreams]:
    """Demo upstreams of this module's own, so one can be stopped."""
    with DemoUpstreams() as running:
        yield running


def doctor(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYLINK_")}
    return subprocess.run(
        [*DOCTOR, "-c", str(config)], capture_output=True, text=True, timeout=120, env=env
    )


def rows(output: str) -> list[list[str]]:
    """The table's rows as cells (rich's box drawing split off)."""
    found = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[0]:
            found.append(cells)
    return found


@pytest.fixture
def config(own_upstreams: DemoUpstreams, demo_linkmap_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "keylink.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "linkmap": {"url": demo_linkmap_url, "migrate_on_start": False},
                "cache": {"url": "none"},
                "systems": demo_systems(own_upstreams.urls),
            }
        )
    )
    return path


def test_doctor_passes_while_every_system_runs(config: Path) -> None:
    result = doctor(config)
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert ["configuration", "loads", "ok", "every field valid"] in table
    verdicts = {(part, check.split(" ")[0]): verdict for part, check, verdict, _ in table}
    assert verdicts[("link map", "reachable")] == "ok"
    assert verdicts[("redis", "reachable")] == "skipped"
    for system in ("erp", "crm", "timesheet"):
        assert verdicts[(f"system {system}", "set")] == "ok"
        assert verdicts[(f"system {system}", "reachable")] == "ok"


def test_doctor_names_a_stopped_system_unreachable_and_fails(
    config: Path, own_upstreams: DemoUpstreams
) -> None:
    own_upstreams.stop("timesheet")
    try:
        result = doctor(config)
    finally:
        own_upstreams.start("timesheet")
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    failed = [row for row in table if row[2] == "FAIL"]
    assert len(failed) == 1, table
    part, check, _, detail = failed[0]
    assert (part, check.split(" ")[0]) == ("system timesheet", "reachable")
    assert detail.startswith("unreachable")
    assert "1 check(s) failed" in result.stderr
    others = {row[0] for row in table if row[2] == "ok"}
    assert {"system erp", "system crm", "link map"} <= others


def test_doctor_fails_on_a_link_map_it_cannot_open(config: Path, tmp_path: Path) -> None:
    settings = yaml.safe_load(config.read_text())
    settings["linkmap"]["url"] = f"sqlite+aiosqlite:///{tmp_path}/missing/dir/keylink.db"
    config.write_text(yaml.safe_dump(settings))
    result = doctor(config)
    assert result.returncode == 1
    assert any(r[:3] == ["link map", "reachable", "FAIL"] for r in rows(result.stdout))
