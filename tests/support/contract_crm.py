"""The CRM part of the shared contract suite: business facts, what a fixture made of them,
and checks that hold a CRM adapter to what a sales rep means (../shared/FIGURES.md).

``CRM_FACTS`` says in business words what every CRM fixture makes in its own system by
that system's own rules (the demo CRM here, BottleCRM through its REST API in
tests/bottlecrm/facts.py). A fixture reports what it made as a ``CrmSeeded``: the keys the
system gave each fact and the figures the *system* computed where it computes them
(BottleCRM's own open pipeline per currency and overdue task count), never the adapter's.

Meanings the checks hold (FIGURES.md style):
- An account's contacts are the people the CRM files under that account, each once; an
  account without contacts has an empty list, an account the CRM does not have has none.
- An open opportunity is one still being worked: in any stage the CRM counts as neither
  won nor lost, whatever that stage is called. Won and lost deals are never open.
- The pipeline value is the sum of the amounts of the open opportunities, per currency,
  never added across currencies; a deal without an amount adds nothing (it is not 0 in
  some currency), and won or lost deals add nothing.
- A task is overdue when it is still to be done (not completed) and its due date lies
  before today; due today is not overdue, a completed task is never overdue however late
  it was done, and a task without a due date never is.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from demo import crm as demo_crm
from demo.gen_pipeline import CrmPipeline, DemoOpportunity, DemoTask
from demo.records import CrmAccount, CrmContact, DemoDataset
from gateway.app import create_app
from gateway.settings import load_settings
from linkmap.migrate import upgrade_async
from linkmap.store import LinkStore
from sources.base import CrmSource, OpportunityReads, TaskReads
from sources.errors import Unsupported
from sources.money import Money, sum_by_currency
from sources.records import Opportunity, OpportunityStage, Task, TaskStatus
from sources.rest import RestConfig, RestSource
from tests.conftest import repo_root
from tests.support.servers import ServerThread

CRM_FACTS: dict[str, str] = {
    "account": "an account with two contacts and every deal and task below",
    "no_contacts": "an account with no contacts, no deals and no tasks",
    "open_eur": "a deal in an open stage (proposal), 1200.50 EUR, closing in 30 days, 50 %",
    "open_usd": "a deal in another open stage (negotiation), 800.00 USD, closing in 60 days",
    "open_unestimated": "a deal in the first open stage (prospecting) without an amount",
    "won": "a won deal of 5000.00 EUR, closed 10 days ago",
    "lost": "a lost deal of 700.00 EUR, closed 20 days ago",
    "overdue_task": "a new task due yesterday",
    "late_in_progress": "a task in progress, due 5 days ago",
    "due_today_task": "a new task due today",
    "done_late_task": "a completed task that was due 3 days ago",
    "undated_task": "a new task without a due date",
}
"""Every fact the CRM fixtures make (the deals and tasks all belong to ``account``)."""


@dataclass(frozen=True)
class DealFact:
    """A deal as the facts state it: its stage's meaning, amount, dates, probability."""

    stage: OpportunityStage
    amount: Decimal | None
    currency: str
    close_in_days: int
    probability: int


@dataclass(frozen=True)
class TaskFact:
    """A task as the facts state it: done or not, in progress or not, due when."""

    done: bool
    in_progress: bool
    due_in_days: int | None


DEALS: dict[str, DealFact] = {
    "open_eur": DealFact(OpportunityStage.OPEN, Decimal("1200.50"), "EUR", 30, 50),
    "open_usd": DealFact(OpportunityStage.OPEN, Decimal("800.00"), "USD", 60, 75),
    "open_unestimated": DealFact(OpportunityStage.OPEN, None, "EUR", 90, 10),
    "won": DealFact(OpportunityStage.WON, Decimal("5000.00"), "EUR", -10, 100),
    "lost": DealFact(OpportunityStage.LOST, Decimal("700.00"), "EUR", -20, 0),
}
TASKS: dict[str, TaskFact] = {
    "overdue_task": TaskFact(False, False, -1),
    "late_in_progress": TaskFact(False, True, -5),
    "due_today_task": TaskFact(False, False, 0),
    "done_late_task": TaskFact(True, False, -3),
    "undated_task": TaskFact(False, False, None),
}
CONTACTS = (
    ("Ada", "Lovelace", "ada@analytical.example", "CFO"),
    ("Grace", "Hopper", "grace@analytical.example", "Head of IT"),
)
OPEN_DEALS = ("open_eur", "open_usd", "open_unestimated")
OVERDUE = ("overdue_task", "late_in_progress")
OPEN_TASKS = ("overdue_task", "late_in_progress", "due_today_task", "undated_task")
MISSING_ACCOUNT = "00000000-0000-4000-8000-000000000000"
"""An account key no CRM of the suite has (UUID-shaped: BottleCRM refuses other keys)."""


@dataclass(frozen=True)
class CrmSeeded:
    """What a CRM fixture made, as the system itself reports it."""

    today: date
    account: str
    account_name: str
    no_contacts: str
    contacts: dict[str, str]
    """Contact key -> e-mail, for the two contacts of ``account``."""
    deals: dict[str, str]
    """Fact name -> the system's opportunity key."""
    tasks: dict[str, str]
    """Fact name -> the system's task key."""
    pipeline: dict[str, Decimal]
    """The open pipeline of ``account`` per currency as the system computes it."""
    overdue_count: int
    """How many of ``account``'s tasks the system itself counts overdue."""


@dataclass
class CrmSystem:
    """One CRM adapter under the contract."""

    name: str
    adapter: CrmSource
    seeded: CrmSeeded
    unsupported_reads: frozenset[str] = field(default_factory=frozenset)
    gateway_system: Callable[[], Mapping[str, Any]] | None = None


CrmCheck = Callable[[CrmSystem], Awaitable[None]]


async def _deals(s: CrmSystem, keys: list[str]) -> Mapping[str, list[Opportunity]]:
    assert isinstance(s.adapter, OpportunityReads)
    found = await s.adapter.opportunities(keys)
    return {key: list(found.get(key, [])) for key in keys}


async def _tasks(s: CrmSystem, keys: list[str]) -> Mapping[str, list[Task]]:
    assert isinstance(s.adapter, TaskReads)
    found = await s.adapter.tasks(keys)
    return {key: list(found.get(key, [])) for key in keys}


def _names(made: Mapping[str, str], records: list[Any]) -> list[str]:
    """The fact names of ``records`` (by their keys), sorted; unknown keys fail."""
    by_key = {key: name for name, key in made.items()}
    unknown = [r.key for r in records if r.key not in by_key]
    assert not unknown, f"records the facts did not make: {unknown}"
    return sorted(by_key[r.key] for r in records)


async def check_accounts_by_key(s: CrmSystem) -> None:
    """Accounts are found by their keys in one batch; a key the CRM lacks is absent."""
    seeded = s.seeded
    found = await s.adapter.accounts([seeded.account, seeded.no_contacts, MISSING_ACCOUNT])
    assert set(found) == {seeded.account, seeded.no_contacts}, sorted(found)
    assert found[seeded.account].key == seeded.account
    assert found[seeded.account].name == seeded.account_name


async def check_contacts_of_accounts(s: CrmSystem) -> None:
    """An account's contacts are exactly the people filed under it, each once; an account
    without contacts, and one the CRM does not have, have none."""
    seeded = s.seeded
    keys = [seeded.account, seeded.no_contacts, MISSING_ACCOUNT]
    found = await s.adapter.contacts(keys)
    mine = list(found.get(seeded.account, []))
    assert sorted(c.key for c in mine) == sorted(seeded.contacts), mine
    assert {c.key: c.email for c in mine} == seeded.contacts
    assert all(c.account_key == seeded.account for c in mine)
    assert list(found.get(seeded.no_contacts, [])) == []
    assert list(found.get(MISSING_ACCOUNT, [])) == []


async def check_deal_stages(s: CrmSystem) -> None:
    """Every deal has the stage its facts give (OPEN, WON, LOST), whatever the CRM calls
    it (the CRM's own stage kept raw), its amount in its currency, its close date."""
    opportunities = (await _deals(s, [s.seeded.account]))[s.seeded.account]
    assert _names(s.seeded.deals, opportunities) == sorted(DEALS)
    by_key = {o.key: o for o in opportunities}
    for name, fact in DEALS.items():
        deal = by_key[s.seeded.deals[name]]
        assert deal.account_key == s.seeded.account
        assert deal.stage is fact.stage, (name, deal)
        assert deal.stage_raw, (name, deal)
        expected = None if fact.amount is None else Money(fact.amount, fact.currency)
        assert deal.amount == expected, (name, deal.amount)
        assert deal.close_date == s.seeded.today + timedelta(days=fact.close_in_days)
        assert deal.probability == fact.probability, (name, deal.probability)


async def check_open_opportunities(s: CrmSystem) -> None:
    """The open opportunities are the deals still being worked, in whatever open stage;
    won and lost deals are not open."""
    opportunities = (await _deals(s, [s.seeded.account]))[s.seeded.account]
    open_ones = [o for o in opportunities if o.is_open]
    assert _names(s.seeded.deals, open_ones) == sorted(OPEN_DEALS)


async def check_pipeline_value_per_currency(s: CrmSystem) -> None:
    """The pipeline value is the open deals' amounts summed per currency, as the CRM
    itself sums them: a deal without an amount and closed deals add nothing."""
    opportunities = (await _deals(s, [s.seeded.account]))[s.seeded.account]
    pipeline = sum_by_currency(o.amount for o in opportunities if o.is_open and o.amount)
    mine = {m.currency: m.amount for m in pipeline}
    expected: dict[str, Decimal] = {}
    for name in OPEN_DEALS:
        fact = DEALS[name]
        if fact.amount is not None:
            expected[fact.currency] = expected.get(fact.currency, Decimal(0)) + fact.amount
    assert mine == expected, (mine, expected)
    assert mine == s.seeded.pipeline, f"the CRM itself counts {s.seeded.pipeline}, got {mine}"


async def check_open_and_overdue_tasks(s: CrmSystem) -> None:
    """Open tasks are those not completed; overdue ones are open and due before today
    (not due today, not completed late, not undated), as many as the CRM itself counts."""
    tasks = (await _tasks(s, [s.seeded.account]))[s.seeded.account]
    assert _names(s.seeded.tasks, tasks) == sorted(TASKS)
    assert all(t.account_key == s.seeded.account for t in tasks)
    assert _names(s.seeded.tasks, [t for t in tasks if t.is_open]) == sorted(OPEN_TASKS)
    overdue = [t for t in tasks if t.is_overdue(s.seeded.today)]
    assert _names(s.seeded.tasks, overdue) == sorted(OVERDUE)
    assert len(overdue) == s.seeded.overdue_count
    done = next(t for t in tasks if t.key == s.seeded.tasks["done_late_task"])
    assert done.status is TaskStatus.DONE and done.status_raw


async def check_accounts_without_deals_or_tasks(s: CrmSystem) -> None:
    """In one batch, an account with no deals or tasks and one the CRM lacks have none,
    and the other account's are not mixed into them."""
    keys = [s.seeded.account, s.seeded.no_contacts, MISSING_ACCOUNT]
    deals, tasks = await _deals(s, keys), await _tasks(s, keys)
    assert len(deals[s.seeded.account]) == len(DEALS)
    assert len(tasks[s.seeded.account]) == len(TASKS)
    for key in keys[1:]:
        assert deals[key] == [] and tasks[key] == [], key


CRM_CHECKS: dict[str, CrmCheck] = {
    "accounts_by_key": check_accounts_by_key,
    "contacts_of_accounts": check_contacts_of_accounts,
    "deal_stages": check_deal_stages,
    "open_opportunities": check_open_opportunities,
    "pipeline_value_per_currency": check_pipeline_value_per_currency,
    "open_and_overdue_tasks": check_open_and_overdue_tasks,
    "accounts_without_deals_or_tasks": check_accounts_without_deals_or_tasks,
}
"""Every check of the CRM contract; those on deals or tasks need ``OpportunityReads`` /
``TaskReads`` (``CRM_CHECK_READS``) and are skipped with the reason where a CRM declares
it cannot read them."""

CRM_CHECK_READS: dict[str, frozenset[str]] = {
    "deal_stages": frozenset({"opportunities"}),
    "open_opportunities": frozenset({"opportunities"}),
    "pipeline_value_per_currency": frozenset({"opportunities"}),
    "open_and_overdue_tasks": frozenset({"tasks"}),
    "accounts_without_deals_or_tasks": frozenset({"opportunities", "tasks"}),
}


async def check_unsupported_crm_reads_say_so(s: CrmSystem) -> None:
    """Exactly the reads the system declares unsupported raise ``Unsupported``."""
    refused: set[str] = set()
    for operation in ("opportunities", "tasks"):
        read = getattr(s.adapter, operation, None)
        try:
            if read is None:
                raise Unsupported(s.name, f"no {operation}")
            await read([s.seeded.account])
        except Unsupported:
            refused.add(operation)
    assert refused == set(s.unsupported_reads), (refused, s.unsupported_reads)


# -- the demo CRM seeded with the facts -------------------------------------------------

DEMO_SPEC = repo_root() / "demo" / "specs" / "crm.yaml"
DEMO_STAGE = {
    "open_eur": "proposal",
    "open_usd": "negotiation",
    "open_unestimated": "prospecting",
    "won": "closed_won",
    "lost": "closed_lost",
}
"""The demo CRM's stage code for each deal of the facts."""


def demo_facts(today: date) -> tuple[DemoDataset, CrmPipeline, CrmSeeded]:
    """The facts as the demo CRM holds them (its accounts, contacts, deals and tasks),
    with what was made."""
    accounts = [
        CrmAccount("A-9001", "Analytical Engines Ltd", "Ann Owner", "North", "Enterprise", "GB"),
        CrmAccount("A-9002", "Quiet Prospects plc", "Ann Owner", "North", "SMB", "GB"),
    ]
    contacts = [
        CrmContact(f"C-9{i:04d}", "A-9001", f"{first} {last}", email, "+44 20 1", role)
        for i, (first, last, email, role) in enumerate(CONTACTS, start=1)
    ]
    deals = [
        DemoOpportunity(
            id=f"D-9{i:04d}",
            account="A-9001",
            name=f"{name} deal",
            stage=DEMO_STAGE[name],
            amount=fact.amount,
            currency=fact.currency,
            close_date=today + timedelta(days=fact.close_in_days),
            probability=fact.probability,
        )
        for i, (name, fact) in enumerate(DEALS.items(), start=1)
    ]
    tasks = [
        DemoTask(
            id=f"T-9{i:04d}",
            account="A-9001",
            title=name.replace("_", " "),
            status="done" if fact.done else "in_progress" if fact.in_progress else "open",
            due_date=None if fact.due_in_days is None else today + timedelta(fact.due_in_days),
            priority="high",
        )
        for i, (name, fact) in enumerate(TASKS.items(), start=1)
    ]
    dataset = _crm_only_dataset(today, accounts, contacts)
    pipeline: dict[str, Decimal] = {}
    for name in OPEN_DEALS:  # the demo CRM computes no figure: the facts' own sums
        fact = DEALS[name]
        if fact.amount is not None:
            pipeline[fact.currency] = pipeline.get(fact.currency, Decimal(0)) + fact.amount
    seeded = CrmSeeded(
        today=today,
        account="A-9001",
        account_name=accounts[0].name,
        no_contacts="A-9002",
        contacts={c.id: c.email for c in contacts},
        deals={name: deal.id for name, deal in zip(DEALS, deals, strict=True)},
        tasks={name: task.id for name, task in zip(TASKS, tasks, strict=True)},
        pipeline=pipeline,
        overdue_count=len(OVERDUE),
    )
    return dataset, CrmPipeline.of(deals, tasks), seeded


def _crm_only_dataset(
    today: date, accounts: list[CrmAccount], contacts: list[CrmContact]
) -> DemoDataset:
    dataset = DemoDataset(
        seed=0,
        today=today,
        customers={},
        suppliers={},
        products={},
        orders={},
        order_lines={},
        invoices={},
        projects={},
        purchase_orders={},
        payables={},
        accounts={a.id: a for a in accounts},
        contacts={c.id: c for c in contacts},
        activities={},
        clients={},
        ts_projects={},
        employees={},
        entries={},
        expenses={},
        entities=[],
    )
    dataset.build_indexes()
    return dataset


def demo_crm_adapter(today: date, spec: Path = DEMO_SPEC) -> tuple[RestSource, CrmSeeded]:
    """The REST adapter (with ``spec``) over the demo CRM holding the facts (in-process,
    ASGI)."""
    dataset, pipeline, seeded = demo_facts(today)
    app = demo_crm.create_app(dataset, pipeline=pipeline)
    config = RestConfig(kind="crm", adapter="rest", url="http://demo-crm", spec=spec)
    return RestSource("demo-crm", config, httpx.ASGITransport(app=app)), seeded


def demo_crm_app(today: date) -> tuple[Any, CrmSeeded]:
    """The demo CRM app holding the facts (to serve on loopback), and what was made."""
    dataset, pipeline, seeded = demo_facts(today)
    return demo_crm.create_app(dataset, pipeline=pipeline), seeded


def demo_gateway_system(url: str, spec: Path = DEMO_SPEC) -> dict[str, Any]:
    """The ``systems:`` entry of a Keylink reading the demo CRM at ``url`` with ``spec``."""
    return {"kind": "crm", "adapter": "rest", "url": url, "spec": str(spec)}


async def check_account_fields_through_graphql(s: CrmSystem) -> None:
    """Through a Keylink over the CRM alone, a customer's account lists exactly the seeded
    contacts, opportunities (with their stages) and tasks; a read the CRM declares it
    cannot do is null with NOT_SUPPORTED and noted in ``extensions.sources`` (never [])."""
    assert s.gateway_system is not None
    with tempfile.TemporaryDirectory(prefix="crm-gateway-") as workdir:
        url = f"sqlite+aiosqlite:///{Path(workdir) / 'links.db'}"
        await upgrade_async(url)
        store = LinkStore.from_url(url)
        try:
            await store.bulk_import([("customer", {s.name: [s.seeded.account]})], actor="contract")
        finally:
            await store.close()
        settings = load_settings(
            overrides={
                "linkmap": {"url": url, "migrate_on_start": False},
                "cache": {"url": "none"},
                "rate_limit": {"enabled": False},
                "systems": {s.name: dict(s.gateway_system())},
            }
        )
        server = ServerThread(create_app(settings))
        await asyncio.to_thread(server.start)
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                answer = await client.post(
                    "/graphql",
                    json={"query": ACCOUNT_QUERY % (s.name, s.seeded.account)},
                    headers={"X-Keylink-Roles": "sales,analyst,admin"},
                )
        finally:
            await asyncio.to_thread(server.stop)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    account = body["data"]["customer"]["account"]
    assert sorted(c["key"] for c in account["contacts"]) == sorted(s.seeded.contacts)
    expected = {
        "opportunities": {s.seeded.deals[n]: DEALS[n].stage.name for n in DEALS},
        "tasks": {s.seeded.tasks[n]: "DONE" if TASKS[n].done else "OPEN" for n in TASKS},
    }
    state = {"opportunities": "stage", "tasks": "status"}
    errors = body.get("errors", [])
    for read, wanted in expected.items():
        if read in s.unsupported_reads:
            assert account[read] is None, (read, account[read])
            codes = [e["extensions"]["code"] for e in errors if e.get("path", [])[-1:] == [read]]
            assert codes == ["NOT_SUPPORTED"], (read, errors)
            notes = body["extensions"]["sources"][s.name].get("notes", [])
            assert f"does not offer {read}" in notes, notes
        else:
            assert {r["key"]: r[state[read]] for r in account[read]} == wanted, read
    assert len(errors) == len(s.unsupported_reads), errors


ACCOUNT_QUERY = """{ customer(system: "%s", key: "%s") { account {
  contacts { key } opportunities { key stage } tasks { key status } } } }"""
