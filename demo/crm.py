"""The demo CRM: accounts, contacts and activities over a read-only JSON API (demo/API.md).

The CRM knows nothing of ERP or timesheet keys; only the link map connects them.
"""

from __future__ import annotations

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
from demo.records import CrmAccount, CrmActivity, CrmContact, DemoDataset
from demo.schemas import AccountOut, ActivityOut, ContactOut


def _keep(value: str, wanted: list[str] | None) -> bool:
    return wanted is None or value in wanted


def create_app(dataset: DemoDataset, knobs: Knobs | None = None) -> DemoApp:
    """The CRM app serving ``dataset``; ``knobs`` (created if None) drives latency/faults."""
    ds = dataset
    app = new_app("crm", "Keylink demo CRM", knobs)
    accounts = ItemCache[CrmAccount](AccountOut, lambda r: r.id)
    contacts = ItemCache[CrmContact](ContactOut, lambda r: r.id)
    activities = ItemCache[CrmActivity](ActivityOut, lambda r: r.id)

    @app.get("/accounts", response_model=Page[AccountOut], responses=ERRORS, tags=["crm"])
    async def list_accounts(
        ids: Csv = None,
        segment: Csv = None,
        team: Csv = None,
        owner: Csv = None,
        country: Csv = None,
        page: PageNo = 1,
        per_page: PerPage = 100,
    ) -> Response:
        """Accounts by id, segment, team, owner and country (AND; any value within one)."""
        wanted = parse_csv("ids", ids)
        seg, tm = parse_csv("segment", segment), parse_csv("team", team)
        own, ctry = parse_csv("owner", owner), parse_csv("country", country)
        rows = [
            a
            for a in gather(ds.accounts, wanted)
            if _keep(a.segment, seg)
            and _keep(a.team, tm)
            and _keep(a.owner, own)
            and _keep(a.country, ctry)
        ]
        return page_response(rows, accounts, page, per_page)

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

    return app
