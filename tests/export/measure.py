"""Run one export in this process and print its peak memory as JSON (for test_memory).

``python -m tests.export.measure URL FORMAT OUT stream|materialise`` exports the
test-owned ``items`` connection at URL with the CLI's own code path (``stream``), or with
a naive exporter that collects every row before writing (``materialise``, the control
that shows the measurement can fail). Prints ``{"peak": <tracemalloc peak bytes of the
export>, "maxrss": <ru_maxrss kB of the process>, "rows": n}``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tracemalloc
from pathlib import Path

import httpx

from gateway.cli.query import _export
from gateway.export import ExportRun, HttpExecutor, open_writer, plan_export
from tests.export.connection_app import ITEMS


async def materialise(url: str, fmt: str, out: Path) -> int:
    async with httpx.AsyncClient() as client:
        run = ExportRun(plan_export(ITEMS), HttpExecutor(client, url), {"first": 100})
        rows = [row async for page in run.pages() for row in page.rows]
    with out.open("wb") as handle:
        writer = open_writer(fmt, handle, run.columns)  # type: ignore[arg-type]
        writer.write_page(rows)
        writer.close()
    return len(rows)


def main() -> None:
    url, fmt, out, mode = sys.argv[1:5]
    plan = plan_export(ITEMS)
    tracemalloc.start()
    if mode == "stream":
        rows = asyncio.run(
            _export(plan, {"first": 100}, fmt, Path(out), url, None, False, False)  # type: ignore[arg-type]
        )
    else:
        rows = asyncio.run(materialise(url, fmt, Path(out)))
    _, peak = tracemalloc.get_traced_memory()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak": peak, "maxrss": maxrss, "rows": rows}))  # noqa: T201


if __name__ == "__main__":
    main()
