"""What the SQL source (``adapter: sql``) costs per 1,000 rows it reads, on each database.

    .venv/bin/python bench/sql_source.py [--backends sqlite,postgres,mariadb]
                                         [--customers 2000] [--invoices 10] [--orders 3]
                                         [--batches 100,500] [--rounds 20]

For each backend: creates a throwaway database, installs the legacy ERP's schema
(demo/legacy_erp, without its seed rows), bulk-inserts N customers with M invoices and a few
orders each, and builds a ``SqlSource`` on the shipped spec (demo/legacy_erp/spec.yaml, its
own read-only pool). Then, after one warm-up read, it times ``source.invoices(keys,
InvoiceQuery())`` for batches of customer keys (a different random batch each round) and
``source.customers(keys)`` for the largest batch, and prints per read: rows returned, wall
milliseconds per 1,000 rows (median of the rounds), CPU milliseconds of this process per
1,000 rows (``time.process_time``, median; on SQLite that includes the database engine
itself, which runs in this process, on PostgreSQL and MariaDB the server's work is not in
it) and the SELECT statements the source sent per batch (SQLAlchemy's
``before_cursor_execute`` on the source's engine). Figures only; nothing passes or fails.

PostgreSQL comes from ``KEYLINK_BENCH_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``), MariaDB from
``KEYLINK_BENCH_MARIADB_URL`` (default ``mysql+asyncmy://root@127.0.0.1:3306``); a
uniquely named database is created on each and dropped at the end. A server that cannot be
reached is skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncmy
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]  # run as a script from anywhere

from overview import machine  # noqa: E402

from demo.legacy_erp import SPEC, install_legacy_erp  # noqa: E402
from sources.records import InvoiceQuery  # noqa: E402
from sources.sql import SqlConfig, SqlSource  # noqa: E402

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MARIADB_DEFAULT = "mysql+asyncmy://root@127.0.0.1:3306"
BACKENDS = ("sqlite", "postgres", "mariadb")
SEED = 19
START = date(2025, 1, 1)
INVOICE_STATES = (10, 20, 20, 30, 70, 70, 70, 90)
ORDER_STATES = (10, 20, 30, 40, 70, 90)
CURRENCIES = ("NOK", "NOK", "EUR", "SEK")


# --------------------------------------------------------------------------- databases


class ThrowawayDb:
    """A new, empty database on one backend; ``drop`` removes it."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self.tmp = tmp
        self.url: URL | None = None
        if backend == "postgres":
            self.server = make_url(os.environ.get("KEYLINK_BENCH_POSTGRES_URL", PG_DEFAULT))
        elif backend == "mariadb":
            self.server = make_url(os.environ.get("KEYLINK_BENCH_MARIADB_URL", MARIADB_DEFAULT))
        else:
            self.server = make_url("sqlite+aiosqlite://")

    async def create(self) -> URL:
        """The URL of a new, empty database (raises ``OSError`` and the like when the server
        cannot be reached)."""
        name = f"keylink_bench_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            self.url = make_url(f"sqlite+aiosqlite:///{self.tmp / (name + '.db')}")
        elif self.backend == "postgres":
            conn = await asyncpg.connect(self._pg_dsn(), timeout=5)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            self.url = self.server.set(database=name)
        else:
            conn = await asyncmy.connect(**self._mariadb_args())
            try:
                async with conn.cursor() as cursor:
                    await cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            finally:
                conn.close()
            self.url = self.server.set(database=name)
        return self.url

    async def drop(self) -> None:
        """Remove the database (nothing when none was made)."""
        if self.url is None:
            return
        name = self.url.database
        if self.backend == "sqlite":
            Path(str(name)).unlink(missing_ok=True)
        elif self.backend == "postgres":
            conn = await asyncpg.connect(self._pg_dsn(), timeout=5)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        else:
            conn = await asyncmy.connect(**self._mariadb_args())
            try:
                async with conn.cursor() as cursor:
                    await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            finally:
                conn.close()
        self.url = None

    def _pg_dsn(self) -> str:
        return self.server.set(drivername="postgresql").render_as_string(hide_password=False)

    def _mariadb_args(self) -> dict[str, Any]:
        return {
            "host": self.server.host or "127.0.0.1",
            "port": self.server.port or 3306,
            "user": self.server.username or "root",
            "password": self.server.password or "",
            "connect_timeout": 5,
        }


# --------------------------------------------------------------------------- rows


def customer_key(i: int) -> str:
    """The customer number of generated customer ``i``."""
    return f"C-{i:06d}"


def legacy_rows(customers: int, invoices: int, orders: int) -> dict[str, list[dict[str, Any]]]:
    """Rows for the legacy ERP's ``cust``, ``ord_hdr`` and ``inv_hdr`` (schema.sql)."""
    rng = random.Random(SEED)
    rows: dict[str, list[dict[str, Any]]] = {"cust": [], "ord_hdr": [], "inv_hdr": []}
    for i in range(1, customers + 1):
        cust, curr = customer_key(i), CURRENCIES[i % len(CURRENCIES)]
        rows["cust"].append(
            {
                "cust_no": cust,
                "cust_name": f"Customer {i} AS",
                "curr": curr,
                "credit_lim": Decimal(rng.randrange(0, 50_000)) * 10 if i % 5 else None,
                "country": "NO" if curr == "NOK" else "DE",
                "vat_no": f"NO{900_000_000 + i}MVA" if i % 3 else None,
                "disc_pct": Decimal("2.50") if i % 4 == 0 else None,
                "pay_days": (14, 30, 45)[i % 3],
            }
        )
        order_nos = []
        for j in range(1, orders + 1):
            net = Decimal(rng.randrange(10_000, 5_000_000)) / 100
            order_nos.append(f"SO-{i:06d}-{j:02d}")
            rows["ord_hdr"].append(
                {
                    "ord_no": order_nos[-1],
                    "cust_no": cust,
                    "ord_stat": ORDER_STATES[(i + j) % len(ORDER_STATES)],
                    "ord_dt": START + timedelta(days=rng.randrange(0, 700)),
                    "net_amt": net,
                    "gross_amt": (net * Decimal("1.25")).quantize(Decimal("0.01")),
                    "curr": curr,
                    "line_cnt": 1 + j % 4,
                    "rev_no": 1 + j % 3,
                    "tax_pct": Decimal("25.00"),
                }
            )
        for j in range(1, invoices + 1):
            net = Decimal(rng.randrange(10_000, 5_000_000)) / 100
            gross = (net * Decimal("1.25")).quantize(Decimal("0.01"))
            state = INVOICE_STATES[(i * 7 + j) % len(INVOICE_STATES)]
            issued = START + timedelta(days=rng.randrange(0, 700))
            half = (gross / 2).quantize(Decimal("0.01"))
            rows["inv_hdr"].append(
                {
                    "inv_no": f"INV-{i:06d}-{j:03d}",
                    "cust_no": cust,
                    "ord_no": order_nos[j % len(order_nos)] if order_nos and j % 2 else None,
                    "proj_no": None,
                    "inv_dt": issued,
                    "due_dt": issued + timedelta(days=30) if j % 9 else None,
                    "gross_amt": gross,
                    "net_amt": net,
                    "open_amt": {70: Decimal(0), 30: half, 90: Decimal(0)}.get(state, gross),
                    "curr": curr,
                    "inv_stat": state,
                }
            )
    return rows


def for_sqlite(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as SQLite's driver binds it: dates as ISO text, decimals as text (the
    column's NUMERIC affinity stores them as numbers, as the seed's literals are)."""
    return {
        k: v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, Decimal) else v
        for k, v in row.items()
    }


async def fill(engine: AsyncEngine, backend: str, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``rows`` (table -> rows) in one transaction, one executemany per table."""
    async with engine.begin() as connection:
        for table, batch in rows.items():
            if not batch:
                continue
            columns = list(batch[0])
            statement = text(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            )
            values = [for_sqlite(r) for r in batch] if backend == "sqlite" else batch
            for at in range(0, len(values), 5000):
                await connection.execute(statement, values[at : at + 5000])


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    """The figures of one read at one batch size on one backend."""

    read: str
    batch: int
    rows: int
    wall_ms: float  # per 1,000 rows, median of the rounds
    cpu_ms: float  # per 1,000 rows, median of the rounds
    selects: float  # per batch, median of the rounds


class SelectCounter:
    """Counts the SELECT statements sent through an engine's cursors."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.count += 1


async def timed(
    name: str,
    batch: int,
    rounds: int,
    batches: Callable[[int], list[str]],
    read: Callable[[list[str]], Awaitable[int]],
    counter: SelectCounter,
) -> Row:
    """``rounds`` reads of ``batch`` keys each (after one warm-up read), their medians."""
    await read(batches(-1))
    walls, cpus, selects, counts = [], [], [], []
    for number in range(rounds):
        keys = batches(number)
        counter.count = 0
        cpu, wall = time.process_time(), time.perf_counter()
        found = await read(keys)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        selects.append(counter.count)
        counts.append(found)
        walls.append(1e6 * wall / max(found, 1))
        cpus.append(1e6 * cpu / max(found, 1))
    return Row(
        name,
        batch,
        round(statistics.median(counts)),
        statistics.median(walls),
        statistics.median(cpus),
        statistics.median(selects),
    )


async def measure(backend: str, tmp: Path, args: argparse.Namespace) -> list[Row] | None:
    """All figures of one backend; None (with a note) when its server cannot be reached."""
    db = ThrowawayDb(backend, tmp)
    try:
        url = await db.create()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncmy.errors.Error) as exc:
        print(f"  {backend}: skipped, server unreachable ({db.server.render_as_string()}: {exc!r})")
        return None
    source: SqlSource | None = None
    try:
        started = time.perf_counter()
        admin = create_async_engine(url)
        try:
            await install_legacy_erp(admin, seed=False)
            await fill(admin, backend, legacy_rows(args.customers, args.invoices, args.orders))
        finally:
            await admin.dispose()
        loaded_s = time.perf_counter() - started
        config = SqlConfig(
            kind="erp",
            adapter="sql",
            url=url.render_as_string(hide_password=False),
            spec=SPEC,
            timeout=30.0,
        )
        source = SqlSource(f"legacy-{backend}", config)
        counter = SelectCounter(source.engine)
        rng = random.Random(SEED)
        everyone = [customer_key(i) for i in range(1, args.customers + 1)]

        def sample(size: int) -> Callable[[int], list[str]]:
            return lambda _round: rng.sample(everyone, min(size, len(everyone)))

        async def invoices(keys: list[str]) -> int:
            assert source is not None
            found = await source.invoices(keys, InvoiceQuery())
            return sum(len(v) for v in found.values())

        async def customers(keys: list[str]) -> int:
            assert source is not None
            return len(await source.customers(keys))

        rows = [
            await timed("invoices", size, args.rounds, sample(size), invoices, counter)
            for size in args.batches
        ]
        biggest = max(args.batches)
        rows.append(
            await timed("customers", biggest, args.rounds, sample(biggest), customers, counter)
        )
        print(f"  {backend}: loaded in {loaded_s:.1f} s, measured", flush=True)
        return rows
    finally:
        if source is not None:
            await source.aclose()
        await db.drop()


def print_table(results: dict[str, list[Row]], rounds: int) -> None:
    """One line per backend and read."""
    print(f"\nSQL source, per 1,000 rows returned (median of {rounds} rounds)")
    print(
        f"{'backend':<9} | {'read':<9} | {'keys':>5} | {'rows':>6} | "
        f"{'wall ms/1k rows':>15} | {'CPU ms/1k rows':>14} | {'SELECTs/batch':>13}"
    )
    for backend, rows in results.items():
        for row in rows:
            print(
                f"{backend:<9} | {row.read:<9} | {row.batch:>5} | {row.rows:>6,} | "
                f"{row.wall_ms:>15.2f} | {row.cpu_ms:>14.2f} | {row.selects:>13g}"
            )


def numbers(value: str) -> list[int]:
    """``100,500`` as ``[100, 500]``."""
    return [int(v) for v in value.split(",") if v.strip()]


def names(value: str) -> list[str]:
    """The backends named in ``value``, checked."""
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = sorted(set(chosen) - set(BACKENDS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown backend(s) {unknown}; known: {BACKENDS}")
    return chosen


async def run(args: argparse.Namespace) -> dict[str, list[Row]]:
    """Every backend in turn (one at a time, so they do not share the CPU)."""
    results: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="keylink-sql-bench-") as tmp:
        for backend in args.backends:
            rows = await measure(backend, Path(tmp), args)
            if rows is not None:
                results[backend] = rows
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every backend and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backends", type=names, default=list(BACKENDS))
    parser.add_argument("--customers", type=int, default=2000, help="customers inserted")
    parser.add_argument("--invoices", type=int, default=10, help="invoices per customer")
    parser.add_argument("--orders", type=int, default=3, help="orders per customer")
    parser.add_argument("--batches", type=numbers, default=[100, 500], help="keys per read")
    parser.add_argument("--rounds", type=int, default=20, help="timed reads per batch size")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}")
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"Data: {args.customers:,} customers x {args.invoices} invoices "
        f"and {args.orders} orders each (legacy ERP schema, demo/legacy_erp)"
    )
    results = asyncio.run(run(args))
    if results:
        print_table(results, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
