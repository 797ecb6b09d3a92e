"""The demo timesheet system: clients, projects, employees, time entries and expenses over a
read-only JSON API (demo/API.md)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Query
from fastapi.responses import Response

from demo.httpapi import (
    ERRORS,
    Csv,
    DemoApp,
    ItemCache,
    Page,
    PageNo,
    PerPage,
    gather,
    index_union,
    new_app,
    page_response,
    parse_csv,
)
from demo.knobs import Knobs
from demo.records import DemoDataset, Employee, Expense, TimeEntry, TsClient, TsProject
from demo.schemas import ClientOut, EmployeeOut, EntryOut, ExpenseOut, TsProjectOut

FromParam = Annotated[dt.date | None, Query(alias="from", description="First date, inclusive.")]
ToParam = Annotated[dt.date | None, Query(alias="to", description="Last date, inclusive.")]


class _Booked(Protocol):
    """What entries and expenses share: where and when they were booked."""

    @property
    def client(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def date(self) -> dt.date: ...


@dataclass(frozen=True, slots=True)
class _Scope:
    """The client/project/date filters common to entries and expenses (None = any)."""

    clients: list[str] | None
    projects: list[str] | None
    first: dt.date | None
    last: dt.date | None

    def holds(self, r: _Booked) -> bool:
        """Whether ``r`` passes every filter that is set."""
        return (
            (self.clients is None or r.client in self.clients)
            and (self.projects is None or r.project in self.projects)
            and (self.first is None or r.date >= self.first)
            and (self.last is None or r.date <= self.last)
        )


def create_app(dataset: DemoDataset, knobs: Knobs | None = None) -> DemoApp:
    """The timesheet app serving ``dataset``; ``knobs`` (created if None) drives faults."""
    ds = dataset
    app = new_app("timesheet", "Keylink demo timesheet", knobs)
    clients = ItemCache[TsClient](ClientOut, lambda r: r.code)
    projects = ItemCache[TsProject](TsProjectOut, lambda r: r.code)
    employees = ItemCache[Employee](EmployeeOut, lambda r: r.id)
    entries = ItemCache[TimeEntry](EntryOut, lambda r: r.id)
    expenses = ItemCache[Expense](ExpenseOut, lambda r: r.id)
    all_entries = list(ds.entries.values())  # id order is date order
    entry_dates = [e.date for e in all_entries]

    def entries_between(first: dt.date | None, last: dt.date | None) -> list[TimeEntry]:
        lo = bisect_left(entry_dates, first) if first else 0
        hi = bisect_right(entry_dates, last) if last else len(entry_dates)
        return all_entries[lo:hi]

    @app.get("/clients", response_model=Page[ClientOut], responses=ERRORS, tags=["timesheet"])
    async def list_clients(ids: Csv = None, page: PageNo = 1, per_page: PerPage = 100) -> Response:
        """Clients by code (``ids``), or all, in code order."""
        return page_response(gather(ds.clients, parse_csv("ids", ids)), clients, page, per_page)

    @app.get("/projects", response_model=Page[TsProjectOut], responses=ERRORS, tags=["timesheet"])
    async def list_projects(
        ids: Csv = None, client: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Projects by code and/or client (AND), in code order."""
        wanted = parse_csv("ids", ids)
        cl = parse_csv("client", client)
        rows = [
            p
            for p in gather(ds.ts_projects, wanted, index_union(ds.ts_projects_by_client, cl))
            if cl is None or p.client in cl
        ]
        return page_response(rows, projects, page, per_page)

    @app.get("/employees", response_model=Page[EmployeeOut], responses=ERRORS, tags=["timesheet"])
    async def list_employees(
        ids: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Employees by id, or all, in id order."""
        return page_response(gather(ds.employees, parse_csv("ids", ids)), employees, page, per_page)

    @app.get("/entries", response_model=Page[EntryOut], responses=ERRORS, tags=["timesheet"])
    async def list_entries(
        client: Csv = None,
        project: Csv = None,
        date_from: FromParam = None,
        date_to: ToParam = None,
        billable: bool | None = None,
        invoiced: bool | None = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Time entries; every given filter must hold (AND); in id (= date) order."""
        cl = parse_csv("client", client)
        pr = parse_csv("project", project)
        scope = _Scope(cl, pr, date_from, date_to)
        candidates = (
            gather(
                ds.entries,
                index_union(ds.entries_by_project, pr),
                index_union(ds.entries_by_client, cl),
                numeric=True,
            )
            if pr or cl
            else entries_between(date_from, date_to)
        )
        rows = [
            e
            for e in candidates
            if scope.holds(e)
            and (billable is None or e.billable is billable)
            and (invoiced is None or e.invoiced is invoiced)
        ]
        return page_response(rows, entries, page, per_page)

    @app.get("/expenses", response_model=Page[ExpenseOut], responses=ERRORS, tags=["timesheet"])
    async def list_expenses(
        client: Csv = None,
        project: Csv = None,
        date_from: FromParam = None,
        date_to: ToParam = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Travel expenses by client, project and date range (AND), in id order."""
        cl = parse_csv("client", client)
        pr = parse_csv("project", project)
        scope = _Scope(cl, pr, date_from, date_to)
        candidates = gather(
            ds.expenses,
            index_union(ds.expenses_by_project, pr),
            index_union(ds.expenses_by_client, cl),
            numeric=True,
        )
        rows = [e for e in candidates if scope.holds(e)]
        return page_response(rows, expenses, page, per_page)

    return app
