"""Upstream faults become typed source errors; internals stay in ``detail`` (logs only).

These faults cannot be caused on a healthy upstream, so they are injected with httpx's
MockTransport (the adapter's only HTTP seam).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sources.errors import NotFound, SourceTimeout, SourceUnavailable
from sources.rest import RestConfig, RestSource

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "crm.yaml"


def source(handler: Callable[[httpx.Request], httpx.Response]) -> RestSource:
    config = RestConfig(kind="crm", adapter="rest", url="http://127.0.0.1:1", spec=SPEC)
    return RestSource("crm", config, httpx.MockTransport(handler))


def raise_(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "error", "detail"),
    [
        (raise_(httpx.ReadTimeout("slow")), SourceTimeout, "ReadTimeout"),
        (raise_(httpx.ConnectError("refused")), SourceUnavailable, "ConnectError"),
        (raise_(httpx.RemoteProtocolError("reset")), SourceUnavailable, "RemoteProtocolError"),
        (lambda r: httpx.Response(500, text="Traceback at db-7"), SourceUnavailable, "500"),
        (lambda r: httpx.Response(200, text='{"items": [tru'), SourceUnavailable, "invalid JSON"),
        (lambda r: httpx.Response(404, text="no such path"), NotFound, "404"),
        (lambda r: httpx.Response(200, json={"rows": []}), SourceUnavailable, "no item list"),
        (
            lambda r: httpx.Response(200, json={"items": [{"id": "A-1"}]}),
            SourceUnavailable,
            "accounts: Account.name",
        ),
    ],
    ids=["timeout", "refused", "reset", "500", "bad-json", "404", "no-items", "bad-item"],
)
async def test_faults_become_typed_errors(
    handler: Callable[[httpx.Request], httpx.Response], error: type[Exception], detail: str
) -> None:
    crm = source(handler)
    with pytest.raises(error) as caught:
        await crm.accounts(["A-1"])
    assert caught.value.system == "crm"  # type: ignore[attr-defined]
    assert detail in caught.value.detail  # type: ignore[attr-defined]
    assert "Traceback" not in caught.value.message  # type: ignore[attr-defined]
    await crm.aclose()


async def test_an_oversized_answer_is_cut_off() -> None:
    big = b'{"items": [' + b'{"id": "A-1", "name": "x"},' * 500_000 + b"{}]}"
    crm = source(lambda r: httpx.Response(200, content=big))
    with pytest.raises(SourceUnavailable, match="exceeds"):
        await crm.accounts(["A-1"])
    await crm.aclose()


async def test_batches_split_at_the_batch_size_and_pages_are_walked() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["ids"].split(",")
        page = int(request.url.params["page"])
        seen.append((ids[0], str(page)))
        per_page = 500
        rows = [{"id": i, "name": f"n{i}"} for i in ids]
        chunk = rows[(page - 1) * per_page : page * per_page]
        return httpx.Response(200, json={"items": chunk, "total": len(rows)})

    crm = source(handler)
    keys = [f"A-{i}" for i in range(250)]
    found = await crm.accounts(keys)
    assert sorted(found) == sorted(keys)
    assert len(seen) == 3  # 250 keys at 100 per batch; one page each
    await crm.aclose()
