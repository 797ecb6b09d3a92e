"""Adapter factories take one ``Reach`` (sources/registry.py), not an httpx transport: an
adapter that is not HTTP ignores it, the REST adapter sends through the transport it
carries, and both are built by the same ``build_source``."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI

from sources.base import Account, Contact, CrmSource
from sources.config import SystemConfigBase
from sources.registry import (
    ADAPTERS,
    NO_REACH,
    Reach,
    build_source,
    load_adapters,
    register_adapter,
)
from sources.rest import RestConfig, RestSource
from tests.support.servers import ServerThread

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "crm.yaml"


class CsvCrmConfig(SystemConfigBase):
    """A CRM kept in a CSV file (id,name,team)."""

    adapter: Literal["test-csv-crm"]
    path: Path


class CsvCrm:
    """A CRM read from a local file: no HTTP at all."""

    def __init__(self, name: str, config: CsvCrmConfig) -> None:
        self.name = name
        self.kinds = config.kinds
        with config.path.open(encoding="utf-8", newline="") as file:
            self.rows = {row["id"]: row for row in csv.DictReader(file)}

    async def aclose(self) -> None:
        return None

    async def accounts(self, keys: Sequence[str]) -> Mapping[str, Account]:
        return {
            k: Account(k, self.rows[k]["name"], team=self.rows[k]["team"])
            for k in keys
            if k in self.rows
        }

    async def contacts(self, account_keys: Sequence[str]) -> Mapping[str, Sequence[Contact]]:
        return {k: [] for k in account_keys}


def build_csv_crm(name: str, config: SystemConfigBase, reach: Reach) -> CsvCrm:
    assert isinstance(config, CsvCrmConfig)
    return CsvCrm(name, config)  # a file needs nothing from ``reach``


@pytest.fixture
def csv_adapter() -> Iterator[None]:
    register_adapter(
        "test-csv-crm",
        config=CsvCrmConfig,
        implementation=CsvCrm,
        factory=build_csv_crm,
        kinds=frozenset({"crm"}),
    )
    yield
    del ADAPTERS["test-csv-crm"]


async def test_a_source_that_is_not_http_is_built_without_any_transport(
    csv_adapter: None, tmp_path: Path
) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("id,name,team\nA-1,Fjord AS,Oslo\n", encoding="utf-8")
    config = CsvCrmConfig(kind="crm", adapter="test-csv-crm", path=path)
    for reach in (NO_REACH, Reach(http_transport=httpx.AsyncHTTPTransport())):
        crm = build_source("files", config, reach)
        assert isinstance(crm, CrmSource)
        found = await crm.accounts(["A-1", "A-2"])  # type: ignore[attr-defined]
        assert list(found) == ["A-1"] and found["A-1"].team == "Oslo"
        await crm.aclose()


class CountingTransport(httpx.AsyncHTTPTransport):
    """A real loopback transport that counts what it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url.path)
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
def crm_url() -> Iterator[str]:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/accounts")
    async def accounts() -> dict[str, object]:
        item = {"id": "A-1", "name": "Fjord AS", "owner": "Ingrid Berg", "team": "Oslo"}
        item |= {"segment": "Retail", "country": "NO"}
        return {"items": [item], "total": 1, "next_page": None}

    server = ServerThread(app)
    server.start()
    yield server.url
    server.stop()


async def test_the_rest_adapter_sends_through_the_transport_its_reach_carries(
    crm_url: str,
) -> None:
    load_adapters()
    transport = CountingTransport()
    config = RestConfig(kind="crm", adapter="rest", url=crm_url, spec=SPEC)
    crm = build_source("crm", config, Reach(http_transport=transport))
    assert isinstance(crm, RestSource)
    found = await crm.accounts(["A-1"])
    await crm.aclose()
    assert found["A-1"].name == "Fjord AS"
    assert transport.sent == ["/accounts"]

    plain = build_source("crm", config)  # no reach: the adapter's own connection pool
    assert (await plain.accounts(["A-1"]))["A-1"].team == "Oslo"  # type: ignore[attr-defined]
    await plain.aclose()
