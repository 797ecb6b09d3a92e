"""The demo CRM and timesheet APIs over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from demo.data import DemoDataset
from demo.schemas import (
    AccountOut,
    ActivityOut,
    ClientOut,
    ContactOut,
    EmployeeOut,
    EntryOut,
    ExpenseOut,
    TsProjectOut,
)

from .test_erp_api import all_items, get


def test_accounts_lookup_and_filters(crm: httpx.Client, dataset: DemoDataset) -> None:
    body = get(crm, "/accounts", ids="A-1043,A-1001,A-9999")
    assert [a["id"] for a in body["items"]] == ["A-1001", "A-1043"]
    assert body["items"][1]["name"] == dataset.accounts["A-1043"].name
    assert body["items"][1]["name"].lower().startswith("acme")
    assert set(body["items"][0]) == set(AccountOut.model_fields)
    oslo = all_items(crm, "/accounts", team="Oslo", segment="Industry,Retail")
    assert oslo and [a["id"] for a in oslo] == [
        k
        for k, a in dataset.accounts.items()
        if a.team == "Oslo" and a.segment in {"Industry", "Retail"}
    ]
    owner = next(iter(dataset.accounts.values())).owner
    mine = all_items(crm, "/accounts", owner=owner)
    assert mine and [a["id"] for a in mine] == [
        k for k, a in dataset.accounts.items() if a.owner == owner
    ]
    polish = all_items(crm, "/accounts", country="PL")
    assert polish and [a["id"] for a in polish] == [
        k for k, a in dataset.accounts.items() if a.country == "PL"
    ]
    assert get(crm, "/accounts")["total"] == len(dataset.accounts)


def test_contacts_and_activities(crm: httpx.Client, dataset: DemoDataset) -> None:
    accounts = ["A-1001", "A-1043", "A-1100"]
    contacts = all_items(crm, "/contacts", account=",".join(accounts))
    expected = sorted(k for a in accounts for k in dataset.contacts_by_account.get(a, []))
    assert expected and [c["id"] for c in contacts] == expected
    assert set(contacts[0]) == set(ContactOut.model_fields)
    assert all("@" in c["email"] and c["email"].isascii() for c in contacts)
    activities = all_items(crm, "/activities", account=",".join(accounts))
    want = sorted(k for a in accounts for k in dataset.activities_by_account.get(a, []))
    assert want and [a["id"] for a in activities] == want
    assert set(activities[0]) == set(ActivityOut.model_fields)
    assert {a["type"] for a in activities} <= {"call", "meeting", "email"}
    assert [a["type"] for a in activities] == [dataset.activities[k].type for k in want]
    too_many = ",".join(f"A-{1001 + i}" for i in range(101))
    assert crm.get("/contacts", params={"account": too_many}).status_code == 400


def test_crm_knows_no_erp_keys(crm: httpx.Client) -> None:
    text = crm.get("/accounts", params={"per_page": 500}).text
    assert "10001" not in text and 'ACME"' not in text


def test_clients_projects_employees(ts: httpx.Client, dataset: DemoDataset) -> None:
    clients = get(ts, "/clients", ids="MULLER2,ACME,NOPE")["items"]
    assert [c["code"] for c in clients] == ["ACME", "MULLER2"]
    assert set(clients[0]) == set(ClientOut.model_fields)
    projects = get(ts, "/projects", client="ACME")["items"]
    assert [p["code"] for p in projects] == dataset.ts_projects_by_client["ACME"]
    assert set(projects[0]) == set(TsProjectOut.model_fields)
    assert isinstance(projects[0]["hourly_rate"], str)
    one = get(ts, "/projects", ids=projects[0]["code"], client="BJORNSTAD")
    assert one["items"] == []  # AND
    employees = get(ts, "/employees")["items"]
    assert [e["id"] for e in employees] == [f"E-{i:02d}" for i in range(1, 31)]
    assert set(employees[0]) == set(EmployeeOut.model_fields)


def test_entries_filters(ts: httpx.Client, dataset: DemoDataset) -> None:
    today = dataset.today
    start = today - timedelta(days=60)
    params = {"client": "ACME,MULLER", "from": str(start), "to": str(today)}
    items = all_items(ts, "/entries", **params)
    expected = [
        e
        for e in dataset.entries.values()
        if e.client in {"ACME", "MULLER"} and start <= e.date <= today
    ]
    assert expected and [i["id"] for i in items] == [e.id for e in expected]
    assert set(items[0]) == set(EntryOut.model_fields)
    assert [Decimal(i["hours"]) for i in items] == [e.hours for e in expected]
    unbilled = all_items(ts, "/entries", **params, billable="true", invoiced="false")
    want = [e.id for e in expected if e.billable and not e.invoiced]
    assert want and [i["id"] for i in unbilled] == want
    assert {(i["billable"], i["invoiced"]) for i in unbilled} == {(True, False)}
    project = dataset.ts_projects_by_client["ACME"][0]
    by_project = all_items(ts, "/entries", project=project)
    assert by_project and [i["id"] for i in by_project] == dataset.entries_by_project[project]


def test_entries_date_range_without_client(ts: httpx.Client, dataset: DemoDataset) -> None:
    day = max(e.date for e in dataset.entries.values())
    body = get(ts, "/entries", **{"from": str(day), "to": str(day)}, per_page=500)
    assert body["total"] == sum(e.date == day for e in dataset.entries.values())
    everything = get(ts, "/entries", per_page=500)
    assert everything["total"] == len(dataset.entries) and everything["next_page"] == 2
    assert ts.get("/entries", params={"from": "yesterday"}).status_code == 400


def test_big_batch_over_many_clients_is_fast(ts: httpx.Client, dataset: DemoDataset) -> None:
    clients = ",".join(list(dataset.clients)[:100])
    body = get(ts, "/entries", client=clients, per_page=500)
    assert body["total"] > 5_000 and len(body["items"]) == 500
    assert ts.get("/entries", params={"client": clients + ",EXTRA"}).status_code == 400


def test_expenses(ts: httpx.Client, dataset: DemoDataset) -> None:
    client = next(iter(dataset.expenses_by_client))
    items = all_items(ts, "/expenses", client=client)
    assert [i["id"] for i in items] == dataset.expenses_by_client[client]
    assert set(items[0]) == set(ExpenseOut.model_fields)
    day = dataset.expenses[items[0]["id"]].date
    same_day: dict[str, Any] = {"client": client, "from": str(day), "to": str(day)}
    found = all_items(ts, "/expenses", **same_day)
    assert found and [i["id"] for i in found] == [
        k for k in dataset.expenses_by_client[client] if dataset.expenses[k].date == day
    ]
