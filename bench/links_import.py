"""Time and peak memory of ``keylink links import`` at the size of a real company.

    .venv/bin/python bench/links_import.py [--customers 100000] [--backend sqlite|postgres|both]

Generates a link file of N customers with an ERP, a CRM and a timesheet key each, then, on
a new SQLite file and/or a new PostgreSQL database (``KEYLINK_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``; a throwaway database is created and dropped),
runs as separate processes, as a user would: ``links import --apply`` (one transaction),
``links import`` again (a dry run that must report every row unchanged), and
``links export``. Prints wall seconds and the peak resident memory (ru_maxrss of the child)
of each run, with the machine's CPU. Figures only; exits non-zero if a run fails or the
re-run does not report every row unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parent.parent
SPEC_DIR = REPO / "demo" / "specs"  # the demo's OpenAPI specs (``links`` never calls them)

PG_ENV = "KEYLINK_BENCH_POSTGRES_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, with the core count."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}; {os.cpu_count()} cores; Python {platform.python_version()}"


def write_link_file(path: Path, customers: int) -> None:
    """A link file of ``customers`` customers with three keys each."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("kind,erp,crm,timesheet\r\n")
        for i in range(customers):
            out.write(f"customer,{100000 + i},ACC-{i:07d},client-{i}\r\n")


def write_config(path: Path, linkmap_url: str) -> None:
    """A configuration with systems erp, crm and timesheet (never called by ``links``)."""
    lines = [f"linkmap: {{url: '{linkmap_url}'}}", "systems:"]
    for port, name in enumerate(("erp", "crm", "timesheet"), start=1):
        lines.append(
            f"  {name}: {{kind: {name}, adapter: rest, url: 'http://127.0.0.1:{port}', "
            f"spec: '{SPEC_DIR / (name + '.yaml')}'}}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(config: Path, *args: str) -> tuple[float, float, str]:
    """Run ``keylink ARGS`` in a child process; return (seconds, peak RSS MiB, stdout)."""
    command = [sys.executable, "-m", "gateway.cli.main", *args, "--config", str(config)]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode not in (0,):
        raise SystemExit(f"keylink {' '.join(args)} failed ({child.returncode}):\n{stdout}{stderr}")
    return seconds, usage.ru_maxrss / 1024, stdout + stderr


async def create_pg_database(server: str) -> str:
    """Create a throwaway database on ``server``; return its asyncpg DSN."""
    name = f"keylink_bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(server: str, dsn: str) -> None:
    """Drop the throwaway database ``dsn`` names."""
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


def bench(backend: str, linkmap_url: str, link_file: Path, workdir: Path, rows: int) -> bool:
    """Run import, re-run and export on one backend and print the figures."""
    config = workdir / f"keylink-{backend}.yaml"
    write_config(config, linkmap_url)
    run(config, "migrate")
    ok = True
    seconds, rss, output = run(config, "links", "import", str(link_file), "--apply")
    print(f"{backend:<9} import --apply      {seconds:7.1f} s  peak {rss:6.0f} MiB")
    if f"{rows} rows: {rows} new" not in output:
        print(f"  unexpected report: {output.strip()}")
        ok = False
    seconds, rss, output = run(config, "links", "import", str(link_file))
    print(f"{backend:<9} re-run (dry run)    {seconds:7.1f} s  peak {rss:6.0f} MiB")
    if f"{rows} rows: 0 new, {rows} unchanged" not in output:
        print(f"  re-run did not report every row unchanged: {output.strip()}")
        ok = False
    export = workdir / f"export-{backend}.csv"
    seconds, rss, output = run(config, "links", "export", "-o", str(export))
    print(f"{backend:<9} export              {seconds:7.1f} s  peak {rss:6.0f} MiB")
    if not re.search(rf"exported {rows} entities", output):
        print(f"  unexpected export: {output.strip()}")
        ok = False
    return ok


def main() -> int:
    """Generate the file, run the benchmark on each backend, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    print(f"Machine: {cpu_name()}")
    print(f"{args.customers:,} customers x 3 keys; every run is a new process")
    ok = True
    with tempfile.TemporaryDirectory(prefix="keylink-bench-") as tmp:
        workdir = Path(tmp)
        link_file = workdir / "links.csv"
        write_link_file(link_file, args.customers)
        print(f"link file: {link_file.stat().st_size / 2**20:.1f} MiB")
        if args.backend in ("sqlite", "both"):
            url = f"sqlite+aiosqlite:///{workdir / 'links.db'}"
            ok &= bench("sqlite", url, link_file, workdir, args.customers)
        if args.backend in ("postgres", "both"):
            server = os.environ.get(PG_ENV, PG_DEFAULT)
            dsn = asyncio.run(create_pg_database(server))
            try:
                url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
                ok &= bench("postgres", url, link_file, workdir, args.customers)
            finally:
                asyncio.run(drop_pg_database(server, dsn))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
