"""The demo CRM: accounts, contacts, activities, opportunities and tasks over a read-only
JSON API (demo/API.md).

The CRM knows nothing of ERP or timesheet keys; only the link map connects them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from demo.gen_pipeline import CrmPipeline, DemoOpportunity, DemoTask, make_pipeline
from demo.httpapi import (
    DEFAULT_PER_PAGE,
    ERRORS,
    After,
    Csv,
    DemoApp,
    ItemCache,
    Limit,
    MaybePageNo,
    MaybePerPage,
    Page,
    PageNo,
    PerPage,
    SortKey,
    bad_request,
    gather,
    index_union,
    keyset_response,
    new_app,
    page_response,
    parse_csv,
    parse_sort,
)
from demo.knobs import Knobs
from demo.records import CrmAccount, CrmActivity, CrmContact, DemoDataset
from demo.schemas import AccountOut, ActivityOut, ContactOut

ACCOUNT_SORTS = ("id", "name", "segment", "owner", "team", "country")
"""Fields ``/accounts`` sorts by (``sort=name``, ``sort=-name``); ties by id."""

SortParam = Annotated[
    str | None,
    Query(description=f"Order: one of {', '.join(ACCOUNT_SORTS)}, '-' before it descends."),
]


class OpportunityOut(BaseModel):
    """A deal of an account: stage code, amount (null: not estimated) and currency."""

    id: str
    account: str
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    close_date: date | None
    probability: int


class TaskOut(BaseModel):
    """A to-do on an account: status code, due date (null: none) and priority."""

    id: str
    account: str
    title: str
    status: str
    due_date: date | None
    priority: str


def _keep(value: str, wanted: list[str] | None) -> bool:
    return wanted is None or value in wanted


def create_app(
    dataset: DemoDataset, knobs: Knobs | None = None, pipeline: CrmPipeline | None = None
) -> DemoApp:
    """The CRM app serving ``dataset`` and ``pipeline`` (opportunities and tasks; default:
    derived from ``dataset`` by ``make_pipeline``); ``knobs`` (created if None) drives
    latency/faults."""
    ds = dataset
    deals = pipeline if pipeline is not None else make_pipeline(dataset)
    app = new_app("crm", "Keylink demo CRM", knobs)
    accounts = ItemCache[CrmAccount](AccountOut, lambda r: r.id)
    contacts = ItemCache[CrmContact](ContactOut, lambda r: r.id)
    activities = ItemCache[CrmActivity](ActivityOut, lambda r: r.id)
    opportunities = ItemCache[DemoOpportunity](OpportunityOut, lambda r: r.id)
    tasks = ItemCache[DemoTask](TaskOut, lambda r: r.id)

    @app.get("/accounts", response_model=Page[AccountOut], responses=ERRORS, tags=["crm"])
    async def list_accounts(
        request: Request,
        ids: Csv = None,
        segment: Csv = None,
        team: Csv = None,
        owner: Csv = None,
        country: Csv = None,
        sort: SortParam = None,
        page: MaybePageNo = None,
        per_page: MaybePerPage = None,
        after: After = None,
        limit: Limit = None,
    ) -> Response:
        """Accounts by id, segment, team, owner and country (AND; any value within one),
        in ``sort`` order (a field, ``-`` before it for descending; ties by id in the same
        direction). Paged by number (``page``, ``per_page``) or, with ``limit`` or
        ``after``, by position (keyset: ``next`` token, also in a ``Link`` header)."""
        wanted = parse_csv("ids", ids)
        seg, tm = parse_csv("segment", segment), parse_csv("team", team)
        own, ctry = parse_csv("owner", owner), parse_csv("country", country)
        field, descending = parse_sort(sort, ACCOUNT_SORTS, "id")
        rows = [
            a
            for a in gather(ds.accounts, wanted)
            if _keep(a.segment, seg)
            and _keep(a.team, tm)
            and _keep(a.owner, own)
            and _keep(a.country, ctry)
        ]

        def position(account: CrmAccount) -> SortKey:
            return getattr(account, field), account.id

        if after is None and limit is None:
            if sort is not None:
                rows.sort(key=position, reverse=descending)
            return page_response(rows, accounts, page or 1, per_page or DEFAULT_PER_PAGE)
        if page is not None or per_page is not None:
            raise bad_request("page/per_page and after/limit do not mix")
        return keyset_response(
            rows,
            accounts,
            position,
            sort=f"{'-' if descending else ''}{field}",
            descending=descending,
            after=after,
            limit=limit or DEFAULT_PER_PAGE,
            link=lambda token: str(request.url.include_query_params(after=token)),
        )

    @app.get("/contacts", response_model=Page[ContactOut], responses=ERRORS, tags=["crm"])
    async def list_contacts(
        account: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Contacts of the given accounts (or all), in id order."""
        keys = index_union(ds.contacts_by_account, parse_csv("account", account))
        return page_response(gather(ds.contacts, keys), contacts, page, per_page)

    @app.get("/activities", response_model=Page[ActivityOut], responses=ERRORS, tags=["crm"])
    async def list_activities(
        account: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Activities of the given accounts (or all), in id order (= date order)."""
        keys = index_union(ds.activities_by_account, parse_csv("account", account))
        return page_response(gather(ds.activities, keys), activities, page, per_page)

    @app.get("/opportunities", response_model=Page[OpportunityOut], responses=ERRORS, tags=["crm"])
    async def list_opportunities(
        account: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Opportunities (deals) of the given accounts (or all), in id order."""
        keys = index_union(deals.opportunities_by_account, parse_csv("account", account))
        return page_response(gather(deals.opportunities, keys), opportunities, page, per_page)

    @app.get("/tasks", response_model=Page[TaskOut], responses=ERRORS, tags=["crm"])
    async def list_tasks(
        account: Csv = None, page: PageNo = 1, per_page: PerPage = 100
    ) -> Response:
        """Tasks of the given accounts (or all), in id order."""
        keys = index_union(deals.tasks_by_account, parse_csv("account", account))
        return page_response(gather(deals.tasks, keys), tasks, page, per_page)

    return app
