"""``ResilientSource`` around the real REST adapter (``sources.rest.RestSource``) over an
httpx MockTransport: the protocol checks resolvers rely on still hold, and the R3/R4/R5
anchors count real HTTP requests."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from sources.base import (
    CrmSource,
    EditableErp,
    ErpSource,
    OrderEditor,
    Source,
    TimesheetSource,
)
from sources.errors import SourceTimeout, SourceUnavailable
from sources.records import LineDraft
from sources.resilience.guards import Bulkhead, CircuitBreaker, RetryBudget
from sources.resilience.source import ResilientSource
from sources.rest import RestConfig, RestSource
from tests.resilience.fakes import FakeClock, FakeSleep

SPECS = Path(__file__).resolve().parents[2] / "demo" / "specs"
Handler = Callable[[httpx.Request], httpx.Response]
CUSTOMER = {
    "number": "10023",
    "name": "Acme GmbH",
    "currency": "EUR",
    "credit_limit": "5000.00",
    "country": "DE",
}


class Counted:
    """A MockTransport handler that counts the requests it got."""

    def __init__(self, *answers: Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers[min(len(self.requests), len(self.answers)) - 1](request)


def status(code: int) -> Handler:
    return lambda request: httpx.Response(code, text="upstream trouble")


def raise_(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def customers_page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"items": [CUSTOMER], "total": 1, "next_page": None})


def rest(
    handler: Handler, *, kind: str = "erp", spec: str = "erp.yaml", name: str = "erp"
) -> RestSource:
    config = RestConfig(kind=kind, adapter="rest", url="http://127.0.0.1:1", spec=SPECS / spec)
    return RestSource(name, config, httpx.MockTransport(handler))


def guarded(inner: RestSource, clock: FakeClock | None = None) -> ResilientSource:
    clock = clock or FakeClock()
    return ResilientSource(
        inner,
        breaker=CircuitBreaker(inner.name, clock=clock),
        bulkhead=Bulkhead(),
        budget=RetryBudget(clock=clock),
        sleep=FakeSleep(),
        clock=clock,
    )


@pytest.mark.parametrize(
    ("kind", "spec"), [("erp", "erp.yaml"), ("crm", "crm.yaml"), ("timesheet", "timesheet.yaml")]
)
async def test_protocol_checks_hold_as_for_the_adapter(kind: str, spec: str) -> None:
    inner = rest(customers_page, kind=kind, spec=spec)
    wrapper = guarded(inner)
    for protocol in (Source, ErpSource, OrderEditor, EditableErp, CrmSource, TimesheetSource):
        assert isinstance(wrapper, protocol) == isinstance(inner, protocol), protocol.__name__
    assert isinstance(wrapper, EditableErp)
    assert wrapper.kinds == frozenset({kind})
    # Python ≥ 3.12 checks protocols with inspect.getattr_static, which skips __getattr__:
    # the guarded methods must be real attributes of the wrapper.
    for method in ("customers", "order_lines_by_key", "add_order_line", "accounts"):
        assert inspect.iscoroutinefunction(inspect.getattr_static(wrapper, method))
    await wrapper.aclose()


def test_a_partial_adapter_gives_a_partial_wrapper() -> None:
    class CrmOnly:
        name = "crm"
        kinds = frozenset({"crm"})

        async def accounts(self, keys: list[str]) -> dict[str, object]:
            return {}

        async def contacts(self, account_keys: list[str]) -> dict[str, object]:
            return {}

        async def aclose(self) -> None:
            return None

    wrapper = guarded(CrmOnly())  # type: ignore[arg-type]
    assert isinstance(wrapper, CrmSource)
    assert not isinstance(wrapper, ErpSource)
    assert not isinstance(wrapper, OrderEditor)


async def test_r3_one_503_then_an_answer_is_two_requests() -> None:
    route = Counted(status(503), customers_page)
    erp = guarded(rest(route))
    found = await erp.customers(["10023"])
    assert found["10023"].name == "Acme GmbH"
    assert len(route.requests) == 2
    await erp.aclose()


@pytest.mark.parametrize(
    "answer",
    [status(500), status(404), raise_(httpx.ReadTimeout("slow"))],
    ids=["500", "404", "read-timeout"],
)
async def test_r3_other_faults_are_one_request(answer: Handler) -> None:
    route = Counted(answer)
    erp = guarded(rest(route))
    with pytest.raises(Exception):  # noqa: B017 - the adapter's typed error, whichever
        await erp.customers(["10023"])
    assert len(route.requests) == 1
    await erp.aclose()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (status(503), SourceUnavailable),
        (raise_(httpx.ReadTimeout("slow")), SourceTimeout),
        (raise_(httpx.ConnectError("refused")), SourceUnavailable),
    ],
    ids=["503", "timeout", "refused"],
)
async def test_r4_a_failed_write_is_exactly_one_request(
    answer: Handler, error: type[Exception]
) -> None:
    route = Counted(answer)
    erp = guarded(rest(route))
    draft = LineDraft(product_key="P-1", quantity=Decimal(2))
    with pytest.raises(error):
        await erp.add_order_line("SO-1", draft, idempotency_key="key-1")
    assert len(route.requests) == 1
    assert route.requests[0].method == "POST"
    await erp.aclose()


async def test_r5_five_failures_then_no_request_then_one_probe_after_30s() -> None:
    clock = FakeClock()
    route = Counted(status(500))
    erp = guarded(rest(route), clock)
    for _ in range(5):
        with pytest.raises(SourceUnavailable):
            await erp.customers(["10023"])
    assert len(route.requests) == 5
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await erp.customers(["10023"])
    assert len(route.requests) == 5
    clock.advance(30)
    route.answers = [customers_page]
    assert (await erp.customers(["10023"]))["10023"].key == "10023"
    assert len(route.requests) == 6
    assert erp.health()["state"] == "closed"
    await erp.aclose()
