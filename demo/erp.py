"""The demo ERP: customers, suppliers, products, sales orders and lines, invoices, projects,
purchase orders and payables over a JSON API (see demo/API.md); order lines are writable
(``demo.erp_writes``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import HTTPException, Query
from fastapi.responses import Response

from demo.erp_writes import register_writes
from demo.httpapi import (
    ERRORS,
    NOT_FOUND,
    Csv,
    DemoApp,
    ItemCache,
    Page,
    PageNo,
    PerPage,
    gather,
    index_union,
    json_response,
    new_app,
    page_response,
    parse_csv,
)
from demo.knobs import Knobs
from demo.records import (
    DemoDataset,
    ErpCustomer,
    ErpProject,
    ErpSupplier,
    Invoice,
    OrderLine,
    Payable,
    Product,
    PurchaseOrder,
    SalesOrder,
)
from demo.schemas import (
    CustomerOut,
    InvoiceOut,
    OrderLineOut,
    OrderOut,
    PayableOut,
    ProductOut,
    ProjectOut,
    PurchaseOrderOut,
    SupplierOut,
)

ORDER_STATUSES = ("draft", "quoted", "confirmed", "processing", "invoiced", "cancelled")
INVOICE_STATUSES = ("draft", "open", "paid", "cancelled")
INVOICE_KINDS = ("invoice", "credit_note")
PAYABLE_STATUSES = ("open", "paid")
PROJECT_STATUSES = ("open", "closed")
PO_STATUSES = ("open", "received", "cancelled")
DateParam = Annotated[date | None, Query(description="ISO date YYYY-MM-DD, inclusive.")]


def _keep(value: str, wanted: list[str] | None) -> bool:
    return wanted is None or value in wanted


def _numeric(ids: list[str] | None) -> list[str] | None:
    return None if ids is None else [i for i in ids if i.isdigit()]


def create_app(dataset: DemoDataset, knobs: Knobs | None = None) -> DemoApp:
    """The ERP app serving ``dataset``; ``knobs`` (created if None) drives latency/faults.

    "Today" (for ``overdue``) is ``dataset.today``. Order lines are writable; the app's
    ``ErpWrites`` (write log, data reset) is ``demo.erp_writes.erp_writes(app)``. Writes
    change the app's own copies of the orders and lines, never ``dataset``.
    """
    # The ERP owns its copies of the writable dicts: writes change them, never ``dataset``.
    ds = dataclasses.replace(
        dataset,
        orders=dict(dataset.orders),
        order_lines=dict(dataset.order_lines),
        lines_by_order={number: list(ids) for number, ids in dataset.lines_by_order.items()},
    )
    app = new_app("erp", "Keylink demo ERP", knobs)
    customers = ItemCache[ErpCustomer](CustomerOut, lambda r: r.number)
    suppliers = ItemCache[ErpSupplier](SupplierOut, lambda r: r.number)
    products = ItemCache[Product](ProductOut, lambda r: r.sku)
    orders = ItemCache[SalesOrder](OrderOut, lambda r: r.number)
    lines = ItemCache[OrderLine](OrderLineOut, lambda r: r.id)
    invoices = ItemCache[Invoice](InvoiceOut, lambda r: r.number)
    projects = ItemCache[ErpProject](ProjectOut, lambda r: r.number)
    pos = ItemCache[PurchaseOrder](PurchaseOrderOut, lambda r: r.number)
    payables = ItemCache[Payable](PayableOut, lambda r: r.number)

    @app.get("/customers", response_model=Page[CustomerOut], responses=ERRORS, tags=["erp"])
    async def list_customers(
        ids: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Customers by number (``ids``), or all customers, in number order."""
        rows = gather(ds.customers, parse_csv("ids", ids))
        return page_response(rows, customers, page, per_page)

    @app.get("/customers/{number}", response_model=CustomerOut, responses=NOT_FOUND, tags=["erp"])
    async def get_customer(number: str) -> Response:
        """One customer; 404 when the number is unknown."""
        rec = ds.customers.get(number)
        if rec is None:
            raise HTTPException(404, f"customer {number} not found")
        return json_response(customers.dump(rec))

    @app.get("/suppliers", response_model=Page[SupplierOut], responses=ERRORS, tags=["erp"])
    async def list_suppliers(
        ids: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Suppliers by number (``ids``), or all, in number order."""
        return page_response(gather(ds.suppliers, parse_csv("ids", ids)), suppliers, page, per_page)

    @app.get("/products", response_model=Page[ProductOut], responses=ERRORS, tags=["erp"])
    async def list_products(ids: Csv = None, page: PageNo = 1, per_page: PerPage = 100) -> Response:
        """Products by SKU (``ids``), or all, in SKU order."""
        return page_response(gather(ds.products, parse_csv("ids", ids)), products, page, per_page)

    @app.get("/orders", response_model=Page[OrderOut], responses=ERRORS, tags=["erp"])
    async def list_orders(
        customer: Csv = None,
        ids: Csv = None,
        status: Annotated[
            str | None,
            Query(description="CSV of draft,quoted,confirmed,processing,invoiced,cancelled"),
        ] = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Sales order headers with totals, filtered by customer, number and status (AND)."""
        cust = parse_csv("customer", customer)
        wanted_ids = parse_csv("ids", ids)
        states = parse_csv("status", status, ORDER_STATUSES)
        rows = [
            o
            for o in gather(ds.orders, wanted_ids, index_union(ds.orders_by_customer, cust))
            if _keep(o.customer, cust) and _keep(o.status, states)
        ]
        return page_response(rows, orders, page, per_page)

    @app.get("/order-lines", response_model=Page[OrderLineOut], responses=ERRORS, tags=["erp"])
    async def list_order_lines(
        order: Csv = None, ids: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Lines by id (``ids``) and/or of the given orders (or all lines), in line-id order."""
        orders_wanted = parse_csv("order", order)
        rows = [
            line
            for line in gather(
                ds.order_lines,
                _numeric(parse_csv("ids", ids)),
                index_union(ds.lines_by_order, orders_wanted),
                numeric=True,
            )
            if _keep(line.order, orders_wanted)
        ]
        return page_response(rows, lines, page, per_page)

    @app.get("/invoices", response_model=Page[InvoiceOut], responses=ERRORS, tags=["erp"])
    async def list_invoices(
        customer: Csv = None,
        project: Csv = None,
        ids: Csv = None,
        status: Annotated[str | None, Query(description="CSV of draft,open,paid,cancelled")] = None,
        kind: Annotated[str | None, Query(description="CSV of invoice,credit_note")] = None,
        issued_from: DateParam = None,
        issued_to: DateParam = None,
        overdue: Annotated[
            bool | None,
            Query(
                description="true: open invoices (never credit notes) with an amount due "
                "and a due date before today; false: every other document"
            ),
        ] = None,
        due_before: Annotated[
            date | None,
            Query(description="Only documents with a due date before this date (exclusive)."),
        ] = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Customer invoices and credit notes; every given filter must hold (AND)."""
        cust = parse_csv("customer", customer)
        proj = parse_csv("project", project)
        wanted_ids = parse_csv("ids", ids)
        states = parse_csv("status", status, INVOICE_STATUSES)
        kinds = parse_csv("kind", kind, INVOICE_KINDS)
        checks: list[Callable[[Invoice], bool]] = []
        if cust is not None:
            checks.append(lambda i: i.customer in cust)
        if proj is not None:
            checks.append(lambda i: i.project in proj)
        if states is not None:
            checks.append(lambda i: i.status in states)
        if kinds is not None:
            checks.append(lambda i: i.kind in kinds)
        if issued_from is not None:
            checks.append(lambda i: i.issue_date >= issued_from)
        if issued_to is not None:
            checks.append(lambda i: i.issue_date <= issued_to)
        if overdue is not None:
            checks.append(lambda i: i.is_overdue(ds.today) is overdue)
        if due_before is not None:
            checks.append(lambda i: i.due_date is not None and i.due_date < due_before)
        candidates = gather(
            ds.invoices,
            wanted_ids,
            index_union(ds.invoices_by_customer, cust),
            index_union(ds.invoices_by_project, proj),
        )
        rows = [i for i in candidates if all(check(i) for check in checks)]
        return page_response(rows, invoices, page, per_page)

    @app.get("/projects", response_model=Page[ProjectOut], responses=ERRORS, tags=["erp"])
    async def list_projects(
        ids: Csv = None,
        customer: Csv = None,
        status: Annotated[str | None, Query(description="CSV of open,closed")] = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """ERP projects by number and/or customer and status (AND), in number order."""
        wanted_ids = parse_csv("ids", ids)
        cust = parse_csv("customer", customer)
        states = parse_csv("status", status, PROJECT_STATUSES)
        rows = [
            p
            for p in gather(ds.projects, wanted_ids, index_union(ds.projects_by_customer, cust))
            if _keep(p.customer, cust) and _keep(p.status, states)
        ]
        return page_response(rows, projects, page, per_page)

    @app.get(
        "/purchase-orders",
        response_model=Page[PurchaseOrderOut],
        responses=ERRORS,
        tags=["erp"],
    )
    async def list_purchase_orders(
        supplier: Csv = None,
        status: Annotated[str | None, Query(description="CSV of open,received,cancelled")] = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Purchase orders by supplier and status (AND), in number order."""
        sup = parse_csv("supplier", supplier)
        states = parse_csv("status", status, PO_STATUSES)
        rows = [
            p
            for p in gather(ds.purchase_orders, index_union(ds.pos_by_supplier, sup))
            if _keep(p.status, states)
        ]
        return page_response(rows, pos, page, per_page)

    @app.get("/payables", response_model=Page[PayableOut], responses=ERRORS, tags=["erp"])
    async def list_payables(
        supplier: Csv = None,
        status: Annotated[str | None, Query(description="open or paid")] = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Supplier invoices by supplier and status (AND), in number order."""
        sup = parse_csv("supplier", supplier)
        states = parse_csv("status", status, PAYABLE_STATUSES)
        rows = [
            p
            for p in gather(ds.payables, index_union(ds.payables_by_supplier, sup))
            if _keep(p.status, states)
        ]
        return page_response(rows, payables, page, per_page)

    register_writes(app, ds, orders=orders, lines=lines, products=products)
    return app
