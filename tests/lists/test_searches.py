"""The optional searches of the REST adapter (``AccountSearch``, ``OverdueSearch``), over
an httpx MockTransport: what they send, that they never answer with a record the query
excludes, and when they decline."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sources.base import AccountSearch, CrmSource, OverdueSearch
from sources.errors import Unsupported
from sources.records import AccountQuery
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource
from sources.rest import RestConfig, RestSource
from sources.rest.spec import RestSpec

SPECS = Path(__file__).resolve().parents[2] / "demo" / "specs"
SPEC = SPECS / "crm.yaml"


def account(key: str, team: str, owner: str = "Sindre Bakke") -> dict[str, Any]:
    return {
        "id": key,
        "name": f"Account {key}",
        "owner": owner,
        "team": team,
        "segment": "Industry",
        "country": "NO",
    }


class Pages:
    """Answers /accounts with ``items`` and remembers every request."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            200, json={"items": self.items, "total": len(self.items), "next_page": None}
        )


def source(handler: Pages, spec: Path = SPEC) -> RestSource:
    config = RestConfig(kind="crm", adapter="rest", url="http://127.0.0.1:1", spec=spec)
    return RestSource("crm", config, httpx.MockTransport(handler))


def spec_without(tmp_path: Path, *filters: str, search: bool = True) -> Path:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if search:
        for name in filters:
            del raw["operations"]["account_search"]["filters"][name]
    else:
        del raw["operations"]["account_search"]
    path = tmp_path / "crm.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


async def test_a_search_sends_the_filters_and_no_keys() -> None:
    pages = Pages([account("A-1", "Oslo"), account("A-2", "Oslo"), account("A-3", "Bergen")])
    crm = source(pages)
    query = AccountQuery(segments=frozenset({"Industry"}), teams=frozenset({"Oslo", "Bergen"}))
    found = await crm.search_accounts(query)
    await crm.aclose()
    assert sorted(found) == ["A-1", "A-2", "A-3"]
    assert found["A-3"].team == "Bergen"
    first = pages.requests[0].url.params
    assert first["segment"] == "Industry"
    assert first["team"] == "Bergen,Oslo"
    assert "ids" not in first and "owner" not in first
    assert len(pages.requests) == 1


async def test_a_filter_the_spec_cannot_send_is_checked_on_the_records(tmp_path: Path) -> None:
    pages = Pages([account("A-1", "Oslo"), account("A-2", "Oslo", owner="Kåre Strøm")])
    crm = source(pages, spec_without(tmp_path, "owners"))
    found = await crm.search_accounts(AccountQuery(owners=frozenset({"Kåre Strøm"})))
    await crm.aclose()
    assert list(found) == ["A-2"]
    assert "owner" not in pages.requests[0].url.params


async def test_without_a_search_in_the_spec_the_adapter_declines(tmp_path: Path) -> None:
    pages = Pages([])
    crm = source(pages, spec_without(tmp_path, search=False))
    with pytest.raises(Unsupported):
        await crm.search_accounts(AccountQuery(teams=frozenset({"Oslo"})))
    await crm.aclose()
    assert pages.requests == []


def test_only_a_search_may_leave_out_the_batch_parameter() -> None:
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    del raw["operations"]["accounts"]["batch_param"]
    with pytest.raises(ValueError, match="accounts: batch_param must be given"):
        RestSpec.model_validate(raw)


async def test_the_guarded_adapter_still_offers_the_search() -> None:
    inner = source(Pages([account("A-1", "Oslo")]))
    clock = lambda: 0.0  # noqa: E731
    wrapper = ResilientSource(
        inner,
        breaker=CircuitBreaker("crm"),
        bulkhead=Bulkhead(),
        budget=RetryBudget(),
        clock=clock,
    )
    assert isinstance(wrapper, AccountSearch) and isinstance(wrapper, CrmSource)
    found = await wrapper.search_accounts(AccountQuery(teams=frozenset({"Oslo"})))  # type: ignore[attr-defined]
    assert list(found) == ["A-1"]
    await wrapper.aclose()


def invoice(
    number: str, customer: str, due: str, status: str = "open", sign: str = ""
) -> dict[str, Any]:
    """An invoice item of the demo ERP; ``sign="-"`` makes it a credit note."""
    money = {"currency": "NOK", "total": f"{sign}125.00", "total_untaxed": f"{sign}100.00"}
    return {
        "number": number,
        "customer": customer,
        "order": None,
        "project": None,
        "issue_date": "2026-01-01",
        "due_date": due,
        "amount_due": f"{sign}125.00" if status == "open" else "0.00",
        "status": status,
        **money,
    }


async def test_the_overdue_search_lists_open_invoices_due_before_the_day() -> None:
    pages = Pages(
        [
            invoice("INV-1", "10001", "2026-03-01"),
            invoice("INV-2", "10001", "2026-03-02"),
            invoice("INV-3", "10002", "2026-03-09"),  # not yet due: re-checked away
            invoice("INV-4", "10003", "2026-02-01", status="paid"),
            # a credit note past its due date is never overdue: re-checked away
            invoice("INV-5", "10004", "2026-02-01", sign="-"),
        ]
    )
    config = RestConfig(
        kind="erp", adapter="rest", url="http://127.0.0.1:1", spec=SPECS / "erp.yaml"
    )
    erp = RestSource("erp", config, httpx.MockTransport(pages))
    assert isinstance(erp, OverdueSearch)
    found = await erp.overdue_invoices(date(2026, 3, 5))
    await erp.aclose()
    assert {k: [i.key for i in v] for k, v in found.items()} == {"10001": ["INV-1", "INV-2"]}
    params = pages.requests[0].url.params
    assert (params["status"], params["kind"], params["due_before"]) == (
        "open",
        "invoice",
        "2026-03-05",
    )
    assert "customer" not in params


async def test_the_overdue_search_declines_without_a_due_date_filter(tmp_path: Path) -> None:
    raw = yaml.safe_load((SPECS / "erp.yaml").read_text(encoding="utf-8"))
    del raw["operations"]["overdue_invoices"]["filters"]
    path = tmp_path / "erp.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    pages = Pages([])
    config = RestConfig(kind="erp", adapter="rest", url="http://127.0.0.1:1", spec=path)
    erp = RestSource("erp", config, httpx.MockTransport(pages))
    with pytest.raises(Unsupported):
        await erp.overdue_invoices(date(2026, 3, 5))
    await erp.aclose()
    assert pages.requests == []
