"""Memory stays flat as an export grows: 10x the rows, within 1.5x the peak memory.

Each export runs in a fresh subprocess (``tests/export/measure.py``) against a test-owned
connection on loopback with rows of about 1 kB: 240 rows (the demo's size) and 2,400.
Measured: the tracemalloc peak of the export itself (sensitive: one page is about
100 kB) and the process's ``ru_maxrss``. A naive exporter that collects all rows before
writing is measured the same way and must fail the bound, so the check can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.export.connection_app import build_app
from tests.support.servers import ServerThread

BASE = 240


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[int, str]]:
    servers = {size: ServerThread(build_app(size)) for size in (BASE, BASE * 10)}
    for server in servers.values():
        server.start()
    yield {size: server.url for size, server in servers.items()}
    for server in servers.values():
        server.stop()


def measure(url: str, fmt: str, out: Path, mode: str = "stream") -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.export.measure", url, fmt, str(out), mode],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ten_times_the_rows_stays_within_one_and_a_half_times_the_memory(
    upstreams: dict[int, str], fmt: str, tmp_path: Path
) -> None:
    small = measure(upstreams[BASE], fmt, tmp_path / f"small.{fmt}")
    large = measure(upstreams[BASE * 10], fmt, tmp_path / f"large.{fmt}")
    assert (small["rows"], large["rows"]) == (BASE, BASE * 10)
    if fmt == "parquet":
        assert pq.ParquetFile(tmp_path / "large.parquet").metadata.num_rows == BASE * 10
    assert large["peak"] <= 1.5 * small["peak"], (small, large)
    assert large["maxrss"] <= 1.5 * small["maxrss"], (small, large)
    # the control: holding every row before writing breaks the same bound
    naive = measure(upstreams[BASE * 10], fmt, tmp_path / f"naive.{fmt}", "materialise")
    assert naive["rows"] == BASE * 10
    assert naive["peak"] > 1.5 * small["peak"], (small, naive)
