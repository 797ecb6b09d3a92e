"""``keylink query`` as a user runs it (a subprocess over real HTTP): paging with a
progress bar, variables, standard output, and failures that leave nothing behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.export.connection_app import ITEMS, build_app
from tests.export.test_demo_formats import run_cli
from tests.support.servers import ServerThread

SIZE = 237


@pytest.fixture(scope="module")
def items_url() -> Iterator[str]:
    server = ServerThread(build_app(SIZE))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def items_file(tmp_path: Path) -> Path:
    path = tmp_path / "items.graphql"
    path.write_text(ITEMS, encoding="utf-8")
    return path


def test_pages_through_the_connection_with_a_progress_bar(
    items_url: str, items_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "items.jsonl"
    done = run_cli(
        ["query", str(items_file), "--var", "first=40", "-f", "jsonl", "-o", str(out)],
        cwd=tmp_path,
        KEYLINK_URL=items_url,
    )
    assert done.returncode == 0, done.stderr
    numbers = [json.loads(line)["number"] for line in out.read_text().splitlines()]
    assert numbers == list(range(SIZE))
    assert f"{SIZE}/{SIZE}" in done.stderr  # the bar knew the total from totalCount
    assert f"exported {SIZE} rows to {out}" in done.stderr


def test_writes_csv_to_standard_output(items_url: str, items_file: Path, tmp_path: Path) -> None:
    done = run_cli(
        ["query", str(items_file), "--var", "first=100", "--url", items_url, "--no-progress"],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("number,name,active,score,owner.name")
    assert len(lines) == SIZE + 1


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--var", "first=many"], 2, "$first is Int!"),
        (["--var", "first=10", "--var", "nope=1"], 2, "declares no $nope"),
        (["--var", "first=10", "--format", "xlsx"], 2, "unknown format"),
        (["--var", "first=10", "--url", "http://127.0.0.1:9"], 1, "no answer from the gateway"),
    ],
)
def test_bad_input_and_failures_leave_no_file(
    items_url: str,
    items_file: Path,
    tmp_path: Path,
    args: list[str],
    status: int,
    message: str,
) -> None:
    out = tmp_path / "items.csv"
    full = ["query", str(items_file), "-o", str(out), *args]
    if "--url" not in args:
        full += ["--url", items_url]
    done = run_cli(full, cwd=tmp_path, KEYLINK_API_KEY="secret-key-123")
    assert done.returncode == status, done.stderr
    assert message in done.stderr
    assert "secret-key-123" not in done.stderr + done.stdout
    assert not out.exists() and list(tmp_path.iterdir()) == [items_file]


def test_graphql_errors_fail_the_export(gateway_url: str, tmp_path: Path) -> None:
    document = tmp_path / "bad.graphql"
    document.write_text('{ customer(system: "nope", key: "1") { id } }', encoding="utf-8")
    out = tmp_path / "out.csv"
    done = run_cli(["query", str(document), "-o", str(out), "--url", gateway_url], cwd=tmp_path)
    assert done.returncode == 1
    assert "unknown system 'nope'" in done.stderr and "[BAD_INPUT]" in done.stderr
    assert not out.exists()
