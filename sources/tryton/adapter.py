"""Tryton as an ERP and a timesheet system, read and written over its JSON-RPC API.

One Tryton database serves kind ``erp`` (parties as customers and suppliers, sales and
their lines, customer and supplier invoices, purchases, projects) and kind ``timesheet``
(parties as clients, projects as timesheet projects, timesheet lines as time entries).
Keys are what a CRM can hold: party codes for customers, suppliers and clients, product
codes for products, the numbers people use for sales, invoices and purchases
(``sources.tryton.keys``: ``draft-<id>`` for a draft, which has none), and Tryton's ids
for lines and projects.

Every read is one ``search_read`` per batch of keys (at most ``batch_size`` keys), asking
for the fields Keylink's records need and nothing more. What Tryton's optional modules
hold is read only where they are active (``sources.tryton.modules``, asked once):
purchases (``purchase``), line discounts (``sale_discount``), amendments of processing
sales (``sale_amendment``), credit limits (``account_credit_limit``) and project billing
(``project_invoice``); without them the reads say so. Line edits go through Tryton's own
model methods (``sources.tryton.writes``), so its rules apply.

The parts: ``core`` (session, parties), ``sales``, ``catalogue``, ``invoices``,
``purchases``, ``projects``, ``pricing``, ``amendments``, ``editing``, ``writes``,
``previews``; this module puts them together and registers the adapter.

Example ``systems:`` entry (the password comes from the environment)::

    tryton:
      kind: [erp, timesheet]
      adapter: tryton
      url: http://127.0.0.1:8069
      database: keylink
      auth: {username: admin, password_env: KEYLINK_TRYTON_PASSWORD}
"""

from __future__ import annotations

from sources.base import ORDER_LINE_WRITES
from sources.config import SystemConfigBase
from sources.operations import ReadOperations, ReadTable, list_per_key, one_per_key
from sources.registry import Reach, register_adapter
from sources.tryton.browse import TrytonBrowsing
from sources.tryton.catalogue import CatalogueReads
from sources.tryton.config import TrytonConfig, TrytonLogin
from sources.tryton.core import TrytonCore
from sources.tryton.invoices import InvoiceReads
from sources.tryton.previews import LinePreviews
from sources.tryton.projects import ProjectReads
from sources.tryton.purchases import PurchaseReads
from sources.tryton.sales import SalesReads
from sources.tryton.writes import LineWrites


class TrytonSource(
    LineWrites, LinePreviews, PurchaseReads, ProjectReads, CatalogueReads, TrytonBrowsing
):
    """A Tryton database read and written as one user with a renewed JSON-RPC session.

    Serves the ``erp`` and ``timesheet`` protocols and order-line edits. Reads that need a
    module the database has not activated raise ``Unsupported`` (purchases, project
    invoices: null with NOT_SUPPORTED, never an empty list) or say so in the answer's
    notes (credit figures); timesheet lines carry billing flags only with
    ``project_invoice`` (``keeps_billing_flags``).
    """

    write_operations: frozenset[str] = ORDER_LINE_WRITES
    """Every method that changes upstream data (``sources.base.DeclaresWrites``): never
    retried. The rest (previews included, which save nothing) are reads."""

    batched_reads = ReadTable(
        one_per_key(TrytonCore.customers),
        list_per_key(InvoiceReads.invoices),
        one_per_key(InvoiceReads.invoices_by_key),
        list_per_key(ProjectReads.project_invoices),
        list_per_key(SalesReads.orders),
        list_per_key(SalesReads.order_lines),
        one_per_key(ProjectReads.projects),
        list_per_key(ProjectReads.customer_projects),
        one_per_key(TrytonCore.suppliers),
        list_per_key(PurchaseReads.purchase_orders),
        list_per_key(PurchaseReads.purchase_order_lines),
        list_per_key(InvoiceReads.payables),
        one_per_key(SalesReads.sales_orders),
        one_per_key(SalesReads.order_lines_by_key),
        one_per_key(CatalogueReads.products),
        one_per_key(TrytonCore.clients),
        one_per_key(ProjectReads.timesheet_projects),
        list_per_key(ProjectReads.time_entries),
        list_per_key(ProjectReads.project_time_entries),
    )
    """Every read batched by key (``purchase_orders``, ``purchase_order_lines`` and
    ``project_invoices`` are declared and raise ``Unsupported`` where their module is not
    active, so their fields say so instead of failing)."""

    def read_operations(self) -> ReadOperations:
        """This source's batched reads, bound to it (``sources.operations.DeclaresReads``)."""
        return self.batched_reads.bind(self)


def _build(name: str, config: SystemConfigBase, reach: Reach) -> TrytonSource:
    assert isinstance(config, TrytonConfig)
    return TrytonSource(name, config, reach.http_transport)


register_adapter(
    "tryton",
    config=TrytonConfig,
    implementation=TrytonSource,
    factory=_build,
    kinds=frozenset({"erp", "timesheet"}),
)

__all__ = ["TrytonConfig", "TrytonLogin", "TrytonSource"]
