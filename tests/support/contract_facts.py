"""What the shared contract suite is run on: the facts a fixture made in its system
(``Seeded``, as the system itself reports them) and the adapter under the contract with
what it declares it cannot do (``System``). The checks are in tests/support/contract.py
and tests/support/contract_desk.py; the facts' meaning is ``contract.BUSINESS_FACTS``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from sources.base import EditableErp
from sources.records import PurchaseOrderStatus, Unit

MISSING = "999999999"
"""A key no system of the suite knows (all-digit, so id-keyed adapters parse it)."""


@dataclass(frozen=True)
class SeededInvoice:
    key: str
    number: str | None
    issue_date: date | None
    total: Decimal
    untaxed: Decimal
    amount_due: Decimal
    issued: bool


@dataclass(frozen=True)
class SeededOrder:
    key: str
    number: str | None
    total: Decimal


@dataclass(frozen=True)
class SeededLine:
    """An order line as the ERP priced it (its unit where the ERP keeps units)."""

    key: str
    order: str
    quantity: Decimal
    unit: Unit | None
    unit_price: Decimal
    discount_percent: Decimal
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class SeededPurchaseLine:
    """A purchase order line as the ERP has it."""

    key: str
    quantity: Decimal
    unit: Unit | None
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class SeededPurchase:
    """A purchase order as the ERP has it; ``lines`` None where the ERP keeps none."""

    key: str
    number: str | None
    status: PurchaseOrderStatus
    total: Decimal
    currency: str
    lines: tuple[SeededPurchaseLine, ...] | None


@dataclass(frozen=True)
class SeededCredit:
    """The customer's credit figures as the ERP keeps them (None: it keeps none)."""

    limit: Decimal | None
    used: Decimal | None
    currency: str


@dataclass(frozen=True)
class SeededProject:
    """A project, the keys of its invoices, and its hours as the ERP records them (None
    where the ERP keeps no timesheets)."""

    key: str
    invoices: tuple[str, ...]
    hours: Decimal | None
    billed: Decimal | None
    unbilled: Decimal | None


def _unit(raw: Any) -> Unit | None:
    return None if raw is None else Unit(str(raw[0]), int(raw[1]))


def _optional(raw: Any) -> Decimal | None:
    return None if raw is None else Decimal(raw)


def _purchase(raw: Mapping[str, Any]) -> SeededPurchase:
    lines = raw.get("lines")
    return SeededPurchase(
        key=raw["key"],
        number=raw["number"],
        status=PurchaseOrderStatus(raw["status"]),
        total=Decimal(raw["total"]),
        currency=raw["currency"],
        lines=None
        if lines is None
        else tuple(
            SeededPurchaseLine(
                key=line["key"],
                quantity=Decimal(line["quantity"]),
                unit=_unit(line["unit"]),
                unit_price=Decimal(line["unit_price"]),
                amount=Decimal(line["amount"]),
            )
            for line in lines
        ),
    )


@dataclass(frozen=True)
class Seeded:
    """What a fixture made, as the system itself reports it."""

    customer: str
    today: date
    orders: dict[str, SeededOrder]
    invoices: dict[str, SeededInvoice]
    same_day: list[SeededOrder]
    same_day_date: date
    draft_line: str
    locked_line: str
    discounted_line: SeededLine
    credit: SeededCredit
    supplier: str | None = None
    """The supplier of ``purchases`` (None where the ERP keeps no purchases)."""
    purchases: dict[str, SeededPurchase] = field(default_factory=dict)
    """"open" (confirmed, awaiting its goods) and "cancelled", where the ERP has them."""
    project: SeededProject | None = None
    """None where the ERP keeps no projects' invoices."""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Seeded:
        def order(o: Mapping[str, Any]) -> SeededOrder:
            return SeededOrder(o["key"], o["number"], Decimal(o["total"]))

        line, credit, project = raw["discounted_line"], raw["credit"], raw.get("project")
        return cls(
            customer=raw["customer"],
            today=date.fromisoformat(raw["today"]),
            orders={name: order(o) for name, o in raw["orders"].items()},
            invoices={
                name: SeededInvoice(
                    key=i["key"],
                    number=i["number"],
                    issue_date=date.fromisoformat(i["issue_date"]) if i["issue_date"] else None,
                    total=Decimal(i["total"]),
                    untaxed=Decimal(i["untaxed"]),
                    amount_due=Decimal(i["amount_due"]),
                    issued=bool(i["issued"]),
                )
                for name, i in raw["invoices"].items()
            },
            same_day=[order(o) for o in raw["same_day"]],
            same_day_date=date.fromisoformat(raw["same_day_date"]),
            draft_line=raw["draft_line"],
            locked_line=raw["locked_line"],
            discounted_line=SeededLine(
                key=line["key"],
                order=line["order"],
                quantity=Decimal(line["quantity"]),
                unit=_unit(line["unit"]),
                unit_price=Decimal(line["unit_price"]),
                discount_percent=Decimal(line["discount_percent"]),
                amount=Decimal(line["amount"]),
                currency=line["currency"],
            ),
            credit=SeededCredit(
                limit=_optional(credit["limit"]),
                used=_optional(credit["used"]),
                currency=credit["currency"],
            ),
            supplier=raw.get("supplier"),
            purchases={name: _purchase(p) for name, p in (raw.get("purchases") or {}).items()},
            project=None
            if project is None
            else SeededProject(
                key=project["key"],
                invoices=tuple(project["invoices"]),
                hours=_optional(project["hours"]),
                billed=_optional(project["billed"]),
                unbilled=_optional(project["unbilled"]),
            ),
        )


TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


@dataclass
class System:
    """One adapter under the contract: the adapter over the seeded system, a way to make
    another one whose HTTP goes through a wrapper (for garbage answers and write faults),
    which requests are writes, and what the adapter declares it cannot do."""

    name: str
    adapter: EditableErp
    seeded: Seeded
    make_adapter: Callable[[TransportWrapper], EditableErp]
    is_write: Callable[[httpx.Request], bool]
    unsupported: frozenset[str] = field(default_factory=frozenset)
    """Capabilities the adapter declares it lacks: "line_discount", "delivery_date"."""
    unsupported_reads: frozenset[str] = field(default_factory=frozenset)
    """Read operations the adapter declares it cannot answer (it raises ``Unsupported``,
    or does not declare the read at all): through GraphQL their fields are null with
    NOT_SUPPORTED, never [] or 0."""
    unsupported_figures: frozenset[str] = field(default_factory=frozenset)
    """Figures its records leave null because the system keeps none: "credit_limit",
    "credit_used", "line_unit" (units on order lines), "project_hours" (no timesheet kind
    on this adapter): null, never 0 or a guess."""
    gateway_system: Callable[[], Mapping[str, Any]] | None = None
    """The ``systems:`` entry of a Keylink over this system (for the GraphQL checks of
    tests/support/contract_gateway.py); None when it cannot be put behind a gateway."""


class NotOffered(Exception):
    """The adapter does not offer what a check holds it to (an optional pushdown): the
    check is skipped with this reason, visible per adapter in the test report."""
