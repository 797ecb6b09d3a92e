"""The CRM contract's facts (tests/support/contract_crm.py) made in a real BottleCRM
through its own REST API, as a user's script would: accounts, contacts, opportunities in
the default pipeline's stages, tasks. What the system computes of them (its open pipeline
per currency, its overdue task count) is read back from BottleCRM's own list totals.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.bottlecrm.server import BottleCrm
from tests.support.contract_crm import CONTACTS, DEALS, TASKS, CrmSeeded

STAGE = {
    "open_eur": "PROPOSAL",
    "open_usd": "NEGOTIATION",
    "open_unestimated": "PROSPECTING",
    "won": "CLOSED_WON",
    "lost": "CLOSED_LOST",
}
"""BottleCRM's default pipeline stage for each deal of the facts."""


def _status(done: bool, in_progress: bool) -> str:
    return "Completed" if done else "In Progress" if in_progress else "New"


def seed_facts(server: BottleCrm, today: date) -> CrmSeeded:
    """Make the facts in ``server`` through its API; what it made and computed."""
    name = "Analytical Engines Ltd"
    account = server.post("/api/accounts/", {"name": name, "country": "GB"})["id"]
    empty = server.post("/api/accounts/", {"name": "Quiet Prospects plc", "country": "GB"})["id"]
    contacts: dict[str, str] = {}
    for first, last, email, role in CONTACTS:
        made = server.post(
            "/api/contacts/",
            {
                "first_name": first,
                "last_name": last,
                "email": email,
                "title": role,
                "account": account,
            },
        )
        contacts[made["id"]] = email
    deals: dict[str, str] = {}
    for fact_name, fact in DEALS.items():
        body: dict[str, object] = {
            "name": f"{fact_name} deal",
            "account": account,
            "stage": STAGE[fact_name],
            "currency": fact.currency,
            "probability": fact.probability,
            "closed_on": (today + timedelta(days=fact.close_in_days)).isoformat(),
        }
        if fact.amount is not None:
            body["amount"] = str(fact.amount)
        deals[fact_name] = server.post("/api/opportunities/", body)["id"]
    for fact_name, task in TASKS.items():
        body = {
            "title": fact_name,
            "status": _status(task.done, task.in_progress),
            "priority": "High",
            "account": account,
        }
        if task.due_in_days is not None:
            body["due_date"] = (today + timedelta(days=task.due_in_days)).isoformat()
        server.post("/api/tasks/", body)  # answers no id: found by title below
    listed = server.get("/api/tasks/", account=account, slim="true", limit="100")
    tasks = {t["title"]: t["id"] for t in listed["tasks"]}
    assert set(tasks) == set(TASKS), tasks
    open_deals = server.get("/api/opportunities/", account=account, open="true", limit="100")
    pipeline = {
        row["currency"]: Decimal(row["amount_sum"])
        for row in open_deals["totals"]["by_currency"]
        if Decimal(row["amount_sum"])
    }
    return CrmSeeded(
        today=today,
        account=account,
        account_name=name,
        no_contacts=empty,
        contacts=contacts,
        deals=deals,
        tasks=tasks,
        pipeline=pipeline,
        overdue_count=int(listed["totals"]["overdue"]),
    )
