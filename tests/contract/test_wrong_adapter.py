"""The suite catches a wrong adapter: each deliberately wrong wrapper around the REST
adapter (over the demo ERP's facts) breaks one meaning of FIGURES.md, and the contract's
checks for that meaning fail on it, while the honest adapter passes them (a discount
dropped from a line's amount, 0 for a credit figure the ERP keeps none of, a cancelled
purchase counted open, an invoice number guessed included). That includes a
pushdown that disagrees with the gateway's own computation, an adapter that answers [] for
a read it cannot do (caught in the GraphQL answer of a Keylink in front of it), and an
account search that drops a condition (on the demo CRM, as no contract system is a CRM)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

import pytest
import yaml

from demo.runner import DemoUpstreams
from sources.base import EditableErp, Source
from sources.config import SystemConfigBase
from sources.errors import SourceError, Unsupported
from sources.money import Money
from sources.records import (
    Account,
    AccountQuery,
    Customer,
    Invoice,
    InvoiceQuery,
    InvoiceStatus,
    LineChanges,
    LineWrite,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderStatus,
    SalesOrder,
)
from sources.registry import ADAPTERS, Reach, register_adapter
from sources.rest import RestConfig, RestSource
from tests.support import contract_demo
from tests.support.contract import CHECKS, System, TransportWrapper
from tests.support.contract_demo import SPEC, DemoFacts
from tests.support.contract_gateway import check_unsupported_reads_say_so


class Wrong:
    """Delegates everything to a real adapter; subclasses get one meaning wrong."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def read_operations(self) -> Any:
        """The real adapter's declared batched reads, each called through this wrapper:
        a Keylink in front of it reads what the subclass gets wrong."""
        return self.inner.read_operations().guarded(lambda op: getattr(self, op.name))


class CreditNoteAsInvoice(Wrong):
    """Reads a credit note as a plain invoice with positive amounts: it then counts as
    overdue and raises the open balance."""

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        def positive(m: Money) -> Money:
            return Money(abs(m.amount), m.currency)

        found = await self.inner.invoices(customer_keys, query)
        return {
            key: [
                dataclasses.replace(
                    inv,
                    total=positive(inv.total),
                    total_untaxed=positive(inv.total_untaxed),
                    amount_due=positive(inv.amount_due),
                )
                for inv in invoices
            ]
            for key, invoices in found.items()
        }


class DraftInvoiceAsOpen(Wrong):
    """Counts a draft invoice as issued and open."""

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        found = await self.inner.invoices(customer_keys, query)
        return {
            key: [
                dataclasses.replace(inv, status=InvoiceStatus.OPEN, amount_due=inv.total)
                if inv.status is InvoiceStatus.DRAFT
                else inv
                for inv in invoices
            ]
            for key, invoices in found.items()
        }


class ProcessingAsInvoiced(Wrong):
    """Takes an order with a (draft) invoice for INVOICED."""

    @staticmethod
    def _flip(order: SalesOrder) -> SalesOrder:
        if order.status_raw == "processing":
            return dataclasses.replace(order, status=OrderStatus.INVOICED)
        return order

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        found = await self.inner.orders(customer_keys, None)
        return {
            key: [o for o in map(self._flip, orders) if statuses is None or o.status in statuses]
            for key, orders in found.items()
        }


class RetriesWrites(Wrong):
    """Sends a failed write again."""

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        try:
            return cast(
                LineWrite,
                await self.inner.change_order_line(
                    line_key, changes, version=version, idempotency_key=idempotency_key
                ),
            )
        except SourceError:
            return cast(
                LineWrite,
                await self.inner.change_order_line(
                    line_key, changes, version=version, idempotency_key=idempotency_key
                ),
            )


class SilentOnGarbage(Wrong):
    """Answers an empty list when the upstream's answer cannot be read."""

    async def invoices(
        self, customer_keys: Sequence[str], query: InvoiceQuery
    ) -> Mapping[str, Sequence[Invoice]]:
        try:
            return cast(
                Mapping[str, Sequence[Invoice]], await self.inner.invoices(customer_keys, query)
            )
        except SourceError:
            return {key: [] for key in customer_keys}

    async def orders(
        self, customer_keys: Sequence[str], statuses: frozenset[OrderStatus] | None
    ) -> Mapping[str, Sequence[SalesOrder]]:
        try:
            return cast(
                Mapping[str, Sequence[SalesOrder]], await self.inner.orders(customer_keys, statuses)
            )
        except SourceError:
            return {key: [] for key in customer_keys}

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        try:
            return cast(Mapping[str, SalesOrder], await self.inner.sales_orders(keys))
        except SourceError:
            return {}


class DropsDiscount(Wrong):
    """Silently ignores a line discount (neither applies nor refuses it)."""

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        kept = dataclasses.replace(changes, discount_percent=None)
        if not kept.changed_fields():
            kept = dataclasses.replace(kept, description=None, quantity=None)
            line = (await self.inner.order_lines_by_key([line_key]))[line_key]
            order = (await self.inner.sales_orders([line.order_key]))[line.order_key]
            return LineWrite(line=line, order=order)
        return cast(LineWrite, await self.inner.preview_line_change(line_key, kept))


class PushdownCountsDueToday(Wrong):
    """Pushes the overdue search down as "due on or before the day": an invoice due today
    comes back as overdue."""

    async def overdue_invoices(self, as_of: date) -> Mapping[str, Sequence[Invoice]]:
        return cast(
            Mapping[str, Sequence[Invoice]],
            await self.inner.overdue_invoices(as_of + timedelta(days=1)),
        )


class PushdownCountsCreditNotes(Wrong):
    """Pushes the overdue search down as "open and due before the day", forgetting that a
    credit note is never overdue."""

    async def overdue_invoices(self, as_of: date) -> Mapping[str, Sequence[Invoice]]:
        pushed = await self.inner.overdue_invoices(as_of)
        found = {key: list(invoices) for key, invoices in pushed.items()}
        open_ones = await self.inner.invoices(list(found), InvoiceQuery(status=InvoiceStatus.OPEN))
        for key, invoices in open_ones.items():
            found[key] += [
                inv
                for inv in invoices
                if inv.is_credit_note and inv.due_date is not None and inv.due_date < as_of
            ]
        return found


class RecomputesLineAmount(Wrong):
    """Recomputes a line's amount as quantity x unit price, dropping the ERP's discount."""

    @staticmethod
    def _recomputed(line: OrderLine) -> OrderLine:
        amount = (line.quantity * line.unit_price.amount).quantize(Decimal("0.01"))
        return dataclasses.replace(line, amount=Money(amount, line.amount.currency))

    async def order_lines(self, order_keys: Sequence[str]) -> Mapping[str, Sequence[OrderLine]]:
        found = await self.inner.order_lines(order_keys)
        return {key: [self._recomputed(line) for line in lines] for key, lines in found.items()}

    async def order_lines_by_key(self, line_keys: Sequence[str]) -> Mapping[str, OrderLine]:
        found = await self.inner.order_lines_by_key(line_keys)
        return {key: self._recomputed(line) for key, line in found.items()}


class CreditUsedAsZero(Wrong):
    """Answers 0 for the credit used that its ERP does not keep."""

    async def customers(self, keys: Sequence[str]) -> Mapping[str, Customer]:
        found = await self.inner.customers(keys)
        return {
            key: dataclasses.replace(c, credit_used=Money(Decimal(0), c.currency))
            for key, c in found.items()
        }


class CancelledPurchaseAsOpen(Wrong):
    """Counts every purchase of a supplier as open (a cancelled one too)."""

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[PurchaseOrder]]:
        found = await self.inner.purchase_orders(supplier_keys, False)
        return {
            key: [dataclasses.replace(po, status=PurchaseOrderStatus.OPEN) for po in orders]
            for key, orders in found.items()
        }


class InvoiceByNumberGuessed(Wrong):
    """Answers an unknown invoice number with the customer's first invoice."""

    async def invoices_by_key(self, keys: Sequence[str]) -> Mapping[str, Invoice]:
        found = dict(await self.inner.invoices_by_key(keys))
        some = next(iter(found.values()), None)
        return {key: found.get(key, some) for key in keys if some is not None}


WRONG: dict[type[Wrong], tuple[str, ...]] = {
    CreditNoteAsInvoice: ("credit_note", "overdue", "open_balance", "revenue"),
    DraftInvoiceAsOpen: ("open_invoices", "revenue"),
    ProcessingAsInvoiced: ("order_states", "open_orders_value"),
    RetriesWrites: ("write_not_retried",),
    SilentOnGarbage: ("garbage_upstream",),
    DropsDiscount: ("declared_gaps",),
    PushdownCountsDueToday: ("overdue_pushdown",),
    PushdownCountsCreditNotes: ("overdue_pushdown",),
    RecomputesLineAmount: ("discounted_line",),
    CreditUsedAsZero: ("credit",),
    CancelledPurchaseAsOpen: ("purchase_orders",),
    InvoiceByNumberGuessed: ("invoices_by_number",),
}
"""Each wrong adapter and the contract checks that must catch it."""


def wrong_system(demo: DemoFacts, wrong: type[Wrong]) -> System:
    def make(wrap: TransportWrapper) -> EditableErp:
        return cast(EditableErp, wrong(demo.adapter(wrap)))

    return System(
        name=f"wrong-{wrong.__name__}",
        adapter=cast(EditableErp, wrong(demo.adapter())),
        seeded=demo.seeded,
        make_adapter=make,
        is_write=contract_demo.is_write,
        unsupported_reads=contract_demo.UNSUPPORTED_READS,
        unsupported_figures=contract_demo.UNSUPPORTED_FIGURES,
    )


@pytest.mark.parametrize(
    ("wrong", "check"),
    [(wrong, check) for wrong, checks in WRONG.items() for check in checks],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
async def test_a_wrong_adapter_fails_the_suite(
    demo_facts: DemoFacts, wrong: type[Wrong], check: str
) -> None:
    honest = demo_facts.adapter()
    system = wrong_system(demo_facts, wrong)
    try:
        # the same check holds on the honest adapter over the same facts...
        await CHECKS[check](
            honest, dataclasses.replace(system, adapter=honest, make_adapter=demo_facts.adapter)
        )
        # ...and fails on the wrong one
        with pytest.raises(AssertionError):
            await CHECKS[check](system.adapter, system)
    finally:
        await honest.aclose()
        await system.adapter.aclose()


def test_the_wrong_adapters_name_checks_of_the_suite() -> None:
    assert all(set(checks) <= set(CHECKS) for checks in WRONG.values())


# --- "says so" through GraphQL ------------------------------------------------------------

NOT_OFFERED = frozenset({"purchase_orders", "project_invoices"})
"""What the partial spec below leaves out: a REST ERP that offers neither (nor purchase
lines, which the REST adapter never declares)."""
SILENT = "contract-silent-unsupported"


class SilentUnsupported(Wrong):
    """Answers an empty list where its system does not offer a read (no purchase orders,
    no project invoices) instead of saying so."""

    async def purchase_orders(
        self, supplier_keys: Sequence[str], open_only: bool
    ) -> Mapping[str, Sequence[Any]]:
        try:
            return cast(
                Mapping[str, Sequence[Any]],
                await self.inner.purchase_orders(supplier_keys, open_only),
            )
        except Unsupported:
            return {key: [] for key in supplier_keys}

    async def project_invoices(self, project_keys: Sequence[str]) -> Mapping[str, Sequence[Any]]:
        try:
            return cast(
                Mapping[str, Sequence[Any]], await self.inner.project_invoices(project_keys)
            )
        except Unsupported:
            return {key: [] for key in project_keys}


class SilentConfig(SystemConfigBase):
    """A ``systems:`` entry for ``SilentUnsupported`` over a REST spec."""

    adapter: Literal["contract-silent-unsupported"]
    url: str
    spec: Path


def _silent(name: str, config: SystemConfigBase, reach: Reach) -> Source:
    assert isinstance(config, SilentConfig)
    rest = RestConfig(
        kind=config.kind, adapter="rest", url=config.url, spec=config.spec, timeout=config.timeout
    )
    return cast(Source, SilentUnsupported(RestSource(name, rest, reach.http_transport)))


@pytest.fixture
def silent_adapter() -> Iterator[str]:
    """``SilentUnsupported`` registered as an adapter a Keylink can be configured with."""
    register_adapter(
        SILENT,
        config=SilentConfig,
        implementation=RestSource,
        factory=_silent,
        kinds=frozenset({"erp"}),
    )
    try:
        yield SILENT
    finally:
        ADAPTERS.pop(SILENT, None)


@pytest.fixture(scope="module")
def partial_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """demo/specs/erp.yaml without the reads of ``NOT_OFFERED``."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    for operation in NOT_OFFERED:
        del spec["operations"][operation]
    path = tmp_path_factory.mktemp("partial-spec") / "erp.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


async def test_an_adapter_answering_empty_for_what_it_cannot_read_fails_the_suite(
    demo_facts: DemoFacts, partial_spec: Path, silent_adapter: str
) -> None:
    def system(adapter: EditableErp, entry: dict[str, Any]) -> System:
        return System(
            name="demo-rest-partial",
            adapter=adapter,
            seeded=demo_facts.seeded,
            make_adapter=demo_facts.adapter,
            is_write=contract_demo.is_write,
            unsupported_reads=NOT_OFFERED | contract_demo.UNSUPPORTED_READS,
            unsupported_figures=contract_demo.UNSUPPORTED_FIGURES,
            gateway_system=lambda: entry,
        )

    entry = demo_facts.gateway_system(partial_spec)
    honest = system(demo_facts.adapter(spec=partial_spec), entry)
    wrong = system(
        cast(EditableErp, SilentUnsupported(demo_facts.adapter(spec=partial_spec))),
        {**entry, "adapter": silent_adapter},
    )
    try:
        # the REST adapter over a spec without them says so, field by field...
        await check_unsupported_reads_say_so(honest.adapter, honest)
        # ...an adapter that answers [] instead is caught at the GraphQL answer
        with pytest.raises(AssertionError, match="an unsupported read answered"):
            await check_unsupported_reads_say_so(wrong.adapter, wrong)
    finally:
        await honest.adapter.aclose()
        await wrong.adapter.aclose()


# --- the account search pushdown, on a CRM -------------------------------------------------

CRM_SPEC = SPEC.parent / "crm.yaml"


class SearchIgnoresCountry(Wrong):
    """Pushes an account search down without its country condition."""

    async def search_accounts(self, query: AccountQuery) -> Mapping[str, Account]:
        wider = dataclasses.replace(query, countries=None)
        return cast(Mapping[str, Account], await self.inner.search_accounts(wider))


async def test_the_account_search_check_holds_a_crm_and_catches_a_wrong_pushdown(
    demo_facts: DemoFacts, live_upstreams: DemoUpstreams
) -> None:
    # No contract system is a CRM yet: the demo CRM (its own data) stands in for one.
    config = RestConfig(kind="crm", adapter="rest", url=live_upstreams.urls["crm"], spec=CRM_SPEC)
    honest = RestSource("demo-crm", config)
    wrong = SearchIgnoresCountry(RestSource("demo-crm", config))
    system = System(
        name="demo-crm",
        adapter=cast(EditableErp, honest),
        seeded=demo_facts.seeded,
        make_adapter=demo_facts.adapter,
        is_write=contract_demo.is_write,
    )
    check = CHECKS["account_search_pushdown"]
    try:
        await check(cast(EditableErp, honest), system)
        with pytest.raises(AssertionError):
            await check(cast(EditableErp, wrong), system)
    finally:
        await honest.aclose()
        await wrong.aclose()
