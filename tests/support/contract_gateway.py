"""The contract's "says so" check through GraphQL (../shared/FIGURES.md: a system that
cannot supply something says so in the answer, never a silent 0 or an empty list).

A Keylink is started on loopback over the one system under the contract (its
``System.gateway_system`` entry) with a link map holding the seeded customer and a probe
supplier and project. For every ERP read a GraphQL field is asked for; where the adapter
declares the read unsupported (``System.unsupported_reads``: it raises ``Unsupported``)
the field must be null with code NOT_SUPPORTED and ``extensions.sources.<system>`` must
note that the system does not offer it; the others must not claim NOT_SUPPORTED. The
declaration itself is held to the adapter: exactly the declared reads raise
``Unsupported`` when called directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from sources.base import EditableErp
from sources.errors import Unsupported
from sources.records import InvoiceQuery
from tests.support.contract import MISSING, System
from tests.support.servers import ServerThread

PROBE = MISSING
"""The supplier and project key linked for the probe (no system of the suite has it: an
unsupported read is refused whatever the key, a supported one finds nothing)."""

ROLES = {"X-Keylink-Roles": "sales,analyst,admin"}


@dataclass(frozen=True)
class Field:
    """The GraphQL field that reads one ERP operation: the root entity it hangs off, the
    selection under that root, and the path of the field (``*`` stands for any index)."""

    root: str
    selection: str
    path: tuple[str, ...]


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
    "payables": Field("supplier", "openPayables { key }", ("supplier", "openPayables")),
}
"""Every ERP read the schema reaches, and the field that reaches it."""


def _direct_reads(adapter: EditableErp, s: System) -> dict[str, Callable[[], Awaitable[object]]]:
    """Each read of ``FIELDS`` called on the adapter itself, with the seeded keys."""
    customer, order = [s.seeded.customer], [s.seeded.orders["draft"].key]

    async def products() -> object:
        line = (await adapter.order_lines_by_key([s.seeded.draft_line]))[s.seeded.draft_line]
        return await adapter.products([line.product_key or PROBE])

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
        "payables": lambda: adapter.payables([PROBE], True),
    }


async def refused_reads(adapter: EditableErp, s: System) -> set[str]:
    """The reads of ``FIELDS`` the adapter refuses with ``Unsupported`` when asked directly."""
    refused: set[str] = set()
    for operation, read in _direct_reads(adapter, s).items():
        try:
            await read()
        except Unsupported:
            refused.add(operation)
    return refused


@contextlib.asynccontextmanager
async def contract_gateway(s: System, **settings: Any) -> AsyncIterator[str]:
    """A Keylink on loopback over ``s``'s system alone (its base URL), its link map holding
    the seeded customer and the probe supplier and project, with top-level ``settings``
    added to its configuration; stopped on exit."""
    assert s.gateway_system is not None
    with tempfile.TemporaryDirectory(prefix="contract-gateway-") as workdir:
        url = f"sqlite+aiosqlite:///{Path(workdir) / 'links.db'}"
        await upgrade_async(url)
        store = LinkStore.from_url(url)
        try:
            await store.bulk_import(
                [
                    ("customer", {s.name: [s.seeded.customer]}),
                    ("supplier", {s.name: [PROBE]}),
                    ("project", {s.name: [PROBE]}),
                ],
                actor="contract",
            )
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


async def _ask(client: httpx.AsyncClient, s: System, field: Field) -> dict[str, Any]:
    key = s.seeded.customer if field.root == "customer" else PROBE
    query = f'query {{ {field.root}(system: "{s.name}", key: "{key}") {{ {field.selection} }} }}'
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert (body.get("data") or {}).get(field.root) is not None, f"{field.root} not linked: {body}"
    return body


async def check_unsupported_reads_say_so(adapter: EditableErp, s: System) -> None:
    """Through GraphQL, every read the adapter declares unsupported is a null field with
    NOT_SUPPORTED and a note in ``extensions.sources`` (never [], 0 or {}); no other field
    claims NOT_SUPPORTED; and exactly the declared reads raise ``Unsupported``."""
    unknown = s.unsupported_reads - FIELDS.keys()
    assert not unknown, f"no GraphQL field known for {sorted(unknown)}: add one to FIELDS"
    async with (
        contract_gateway(s) as url,
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
    refused = await refused_reads(adapter, s)
    assert refused <= s.unsupported_reads, (
        f"refused but not declared: {refused - s.unsupported_reads}"
    )
    assert s.unsupported_reads <= refused, f"declared but answered: {s.unsupported_reads - refused}"
