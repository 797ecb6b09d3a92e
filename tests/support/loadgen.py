"""A small load generator run as a separate process: ``python -m tests.support.loadgen
URL SECONDS CONCURRENCY`` reads one JSON request body from stdin, sends it from CONCURRENCY
clients for SECONDS, and prints one JSON line per response: status, seconds, body."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def main(url: str, seconds: float, concurrency: int, payload: dict[str, object]) -> None:
    deadline = time.monotonic() + seconds
    results: list[dict[str, object]] = []

    async def client() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            while time.monotonic() < deadline:
                started = time.monotonic()
                response = await http.post(url, json=payload)
                results.append(
                    {
                        "status": response.status_code,
                        "seconds": time.monotonic() - started,
                        "body": response.json(),
                    }
                )

    await asyncio.gather(*(client() for _ in range(concurrency)))
    for result in results:
        sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), json.loads(sys.stdin.read()))
    )
