"""The contract's "says so" check through GraphQL (../shared/FIGURES.md: a system that
cannot supply something says so in the answer, never a silent 0 or an empty list).

A Keylink is started on loopback over the one system under the contract (its
``System.gateway_system`` entry) with a link map holding the seeded customer, a probe
supplier and project, and the seeded supplier (with its purchases) where the system has
one. For every ERP read a GraphQL field is asked for; where the adapter declares the read
unsupported (``System.unsupported_reads``: it raises ``Unsupported``, or does not declare
the read at all) the field must be null with code NOT_SUPPORTED and
``extensions.sources.<system>`` must note that the system does not offer it; the others
must not claim NOT_SUPPORTED. A field under another read's field (a purchase's lines) is
asked where that read answers. The declaration itself is held to the adapter: exactly the
declared reads are refused when called directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from sources.base import EditableErp
from sources.records import InvoiceQuery
from tests.support.contract import MISSING, System
from tests.support.contract_desk import refuses
from tests.support.servers import ServerThread

PROBE = MISSING
"""The supplier and project key linked for the probe (no system of the suite has it: an
unsupported read is refused whatever the key, a supported one finds nothing)."""

ROLES = {"X-Keylink-Roles": "sales,analyst,admin"}


@dataclass(frozen=True)
class Field:
    """The GraphQL field that reads one ERP operation: the root field it hangs off, the
    selection under that root, the path of the field (``*`` stands for any index), and
    the read whose answer it hangs under (asked only where that read answers)."""

    root: str
    selection: str
    path: tuple[str, ...]
    under: str | None = None


FIELDS: dict[str, Field] = {
    "customers": Field("customer", "erp { key }", ("customer", "erp")),
    "invoices": Field("customer", "invoices { key }", ("customer", "invoices")),
    "orders": Field("customer", "orders { key }", ("customer", "orders")),
    "customer_projects": Field("customer", "projects { keys { key } }", ("customer", "projects")),
    "order_lines": Field(
        "customer", "orders { key lines { key } }", ("customer", "orders", "*", "lines")
    ),
    "products": Field(
        "customer",
        "orders { key lines { key availability { onHand } } }",
        ("customer", "orders", "*", "lines", "*", "availability"),
    ),
    "projects": Field("project", "erp { key }", ("project", "erp")),
    "project_invoices": Field("project", "invoices { key }", ("project", "invoices")),
    "suppliers": Field("supplier", "erp { key }", ("supplier", "erp")),
    "purchase_orders": Field(
        "supplier", "openPurchaseOrders { key }", ("supplier", "openPurchaseOrders")
    ),
    "purchase_order_lines": Field(
        "supplier",
        "purchaseOrders { key lines { key } }",
        ("supplier", "purchaseOrders", "*", "lines"),
        under="purchase_orders",
    ),
    "payables": Field("supplier", "openPayables { key }", ("supplier", "openPayables")),
    "sales_orders": Field("order", "key", ("order",)),
    "invoices_by_key": Field("invoice", "key", ("invoice",)),
}
"""Every ERP read the schema reaches, and the field that reaches it."""


def _keys(s: System) -> dict[str, str]:
    """The key each root field of ``FIELDS`` is asked with."""
    return {
        "customer": s.seeded.customer,
        "supplier": s.seeded.supplier or PROBE,
        "project": PROBE,
        "order": s.seeded.orders["quotation"].key,
        "invoice": s.seeded.invoices["plain_overdue"].key,
    }


def _direct_reads(adapter: EditableErp, s: System) -> dict[str, Callable[[], Awaitable[object]]]:
    """Each read of ``FIELDS`` called on the adapter itself, with the seeded keys."""
    customer, order = [s.seeded.customer], [s.seeded.orders["draft"].key]
    keys = _keys(s)
    purchase = s.seeded.purchases.get("open")

    async def products() -> object:
        line = (await adapter.order_lines_by_key([s.seeded.draft_line]))[s.seeded.draft_line]
        return await adapter.products([line.product_key or PROBE])

    async def named(operation: str, asked: list[str]) -> object:
        read: Callable[[list[str]], Awaitable[object]] = getattr(adapter, operation)
        return await read(asked)

    return {
        "customers": lambda: adapter.customers(customer),
        "invoices": lambda: adapter.invoices(customer, InvoiceQuery()),
        "orders": lambda: adapter.orders(customer, None),
        "customer_projects": lambda: adapter.customer_projects(customer),
        "order_lines": lambda: adapter.order_lines(order),
        "products": products,
        "projects": lambda: adapter.projects([PROBE]),
        "project_invoices": lambda: adapter.project_invoices([PROBE]),
        "suppliers": lambda: adapter.suppliers([PROBE]),
        "purchase_orders": lambda: adapter.purchase_orders([PROBE], True),
        "purchase_order_lines": lambda: named(
            "purchase_order_lines", [purchase.key if purchase else PROBE]
        ),
        "payables": lambda: adapter.payables([PROBE], True),
        "sales_orders": lambda: adapter.sales_orders([keys["order"]]),
        "invoices_by_key": lambda: named("invoices_by_key", [keys["invoice"]]),
    }


async def refused_reads(adapter: EditableErp, s: System) -> set[str]:
    """The reads of ``FIELDS`` the adapter refuses when asked directly: it does not
    declare them (``sources.operations``), or they raise ``Unsupported``."""
    refused: set[str] = set()
    for operation, read in _direct_reads(adapter, s).items():
        if await refuses(adapter, operation, read):
            refused.add(operation)
    return refused


@contextlib.asynccontextmanager
async def contract_gateway(
    s: System, *, link_supplier: bool = False, **settings: Any
) -> AsyncIterator[str]:
    """A Keylink on loopback over ``s``'s system alone (its base URL), its link map holding
    the seeded customer and the probe supplier and project (and, with ``link_supplier``,
    the seeded supplier where the system has one), with top-level ``settings`` added to its
    configuration; stopped on exit."""
    assert s.gateway_system is not None
    with tempfile.TemporaryDirectory(prefix="contract-gateway-") as workdir:
        url = f"sqlite+aiosqlite:///{Path(workdir) / 'links.db'}"
        await upgrade_async(url)
        store = LinkStore.from_url(url)
        try:
            linked = [
                ("customer", {s.name: [s.seeded.customer]}),
                ("supplier", {s.name: [PROBE]}),
                ("project", {s.name: [PROBE]}),
            ]
            if link_supplier and s.seeded.supplier is not None:
                linked.append(("supplier", {s.name: [s.seeded.supplier]}))
            await store.bulk_import(linked, actor="contract")
        finally:
            await store.close()
        settings = load_settings(
            overrides={
                "linkmap": {"url": url, "migrate_on_start": False},
                "cache": {"url": "none"},
                "rate_limit": {"enabled": False},
                "systems": {s.name: dict(s.gateway_system())},
                **settings,
            }
        )
        server = ServerThread(create_app(settings))
        await asyncio.to_thread(server.start)
        try:
            yield server.url
        finally:
            await asyncio.to_thread(server.stop)


def _at(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every ``(path, value)`` in ``value`` matching ``path`` (``*``: each list item)."""
    if not path:
        yield (), value
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for index, item in enumerate(value if isinstance(value, list) else []):
            for found_path, found in _at(item, rest):
                yield (index, *found_path), found
    elif isinstance(value, Mapping) and head in value:
        for found_path, found in _at(value[head], rest):
            yield (head, *found_path), found


def _matches(error_path: list[str | int], pattern: tuple[str, ...]) -> bool:
    return len(error_path) == len(pattern) and all(
        p == "*" or p == e for p, e in zip(pattern, error_path, strict=True)
    )


ENTITIES = frozenset({"customer", "supplier", "project"})
"""The root fields that answer a linked entity (never null once linked)."""


async def _ask(client: httpx.AsyncClient, s: System, field: Field) -> dict[str, Any]:
    key = _keys(s)[field.root]
    query = f'query {{ {field.root}(system: "{s.name}", key: "{key}") {{ {field.selection} }} }}'
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if field.root in ENTITIES:
        found = (body.get("data") or {}).get(field.root)
        assert found is not None, f"{field.root} not linked: {body}"
    return body


FIGURES = {"credit_limit": "creditLimit", "credit_used": "creditUsed"}
"""The customer's credit figures (ERP master data) and their GraphQL fields."""


NOT_KEPT_NOTES = {
    "credit_used": "keeps no credit used",
    "line_unit": "keeps no units of measure",
}
"""What the answer's notes say of a figure the system keeps none of (``sources/kept.py``;
Tryton without ``account_credit_limit`` says it in its own words)."""


async def _figures_say_so(client: httpx.AsyncClient, s: System) -> None:
    """The customer's credit figures and its lines' units through GraphQL: what the ERP
    holds, or null where the adapter declares the system keeps none (never 0), and then the
    answer's notes say so."""
    selection = " ".join(f"{name} {{ amount currency }}" for name in FIGURES.values())
    query = f"erp {{ {selection} }} orders {{ lines {{ key unit {{ symbol digits }} }} }}"
    body = await _ask(client, s, Field("customer", query, ()))
    erp = body["data"]["customer"]["erp"]
    assert erp is not None, body
    notes = " | ".join(
        body.get("extensions", {}).get("sources", {}).get(s.name, {}).get("notes", [])
    )
    for figure, said in NOT_KEPT_NOTES.items():
        if figure in s.unsupported_figures:
            tryton_words = figure == "credit_used" and "account_credit_limit" in notes
            assert said in notes or tryton_words, f"{figure}: null without a note ({notes!r})"
    units = [
        line["unit"]
        for order in body["data"]["customer"]["orders"] or []
        for line in order["lines"] or []
    ]
    assert units, "the facts give no order line to ask for its unit"
    if "line_unit" in s.unsupported_figures:
        assert all(unit is None for unit in units), units
    fact = s.seeded.credit
    for figure, name in FIGURES.items():
        amount = fact.limit if figure == "credit_limit" else fact.used
        if figure in s.unsupported_figures:
            assert erp[name] is None, f"{name}: the system keeps none, answered {erp[name]}"
        else:
            assert amount is not None, f"{figure}: the facts hold none, declare it"
            got = erp[name]
            assert got is not None and Decimal(got["amount"]) == amount, (name, got)
            assert got["currency"] == fact.currency, (name, got)


async def check_unsupported_reads_say_so(adapter: EditableErp, s: System) -> None:
    """Through GraphQL, every read the adapter declares unsupported is a null field with
    NOT_SUPPORTED and a note in ``extensions.sources`` (never [], 0 or {}); no other field
    claims NOT_SUPPORTED; a credit figure the system keeps none of is null; and exactly
    the declared reads are refused."""
    unknown = s.unsupported_reads - FIELDS.keys()
    assert not unknown, f"no GraphQL field known for {sorted(unknown)}: add one to FIELDS"
    async with (
        contract_gateway(s, link_supplier=True) as url,
        httpx.AsyncClient(base_url=url, timeout=60, headers=ROLES) as client,
    ):
        for operation, field in FIELDS.items():
            body = await _ask(client, s, field)
            errors = [
                e for e in body.get("errors", []) if _matches(e.get("path") or [], field.path)
            ]
            refusals = [e for e in errors if e["extensions"].get("code") == "NOT_SUPPORTED"]
            if operation not in s.unsupported_reads:
                assert not refusals, f"{operation}: NOT_SUPPORTED but not declared: {refusals}"
                continue
            if field.under in s.unsupported_reads:
                continue  # the field it hangs under is refused already: nothing to ask
            answers = list(_at(body["data"], field.path))
            assert answers, f"{operation}: the facts give no {'.'.join(field.path)} to ask"
            silent = [(path, value) for path, value in answers if value is not None]
            assert not silent, f"{operation}: an unsupported read answered {silent}"
            assert len(refusals) == len(answers) == len(errors), (operation, errors)
            for refusal in refusals:
                assert refusal["extensions"].get("system") == s.name, refusal
                assert "does not offer" in refusal["message"], refusal
            report = body["extensions"]["sources"][s.name]
            assert f"does not offer {operation}" in report.get("notes", []), (operation, report)
        await _figures_say_so(client, s)
    refused = await refused_reads(adapter, s)
    assert refused <= s.unsupported_reads, (
        f"refused but not declared: {refused - s.unsupported_reads}"
    )
    assert s.unsupported_reads <= refused, f"declared but answered: {s.unsupported_reads - refused}"
