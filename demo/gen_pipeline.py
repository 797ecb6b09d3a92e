"""Demo CRM data beyond accounts and contacts: each account's opportunities (deals) and
tasks, as the demo CRM (demo/crm.py) serves them.

``make_pipeline(dataset)`` derives them from a ``DemoDataset`` deterministically: the same
dataset (same seed and today) always gives the same pipeline. Stage and status codes are
the demo CRM's own lower-case words (``proposal``, ``closed_won``, ``in_progress``...),
which demo/specs/crm.yaml translates to Keylink's states.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from demo import names
from demo.records import DemoDataset

OPEN_STAGES = ("prospecting", "qualification", "proposal", "negotiation")
"""The demo CRM's stages of a deal still being worked."""
STAGES = (*OPEN_STAGES, "closed_won", "closed_lost")
"""Every stage code the demo CRM uses."""
STAGE_PROBABILITY = {
    "prospecting": 10,
    "qualification": 25,
    "proposal": 50,
    "negotiation": 75,
    "closed_won": 100,
    "closed_lost": 0,
}
TASK_STATUSES = ("open", "in_progress", "done")
"""Every task status code the demo CRM uses (``done``: nothing left to do)."""
PRIORITIES = ("low", "normal", "high")
DEAL_WORDS = ("Renewal", "Expansion", "Pilot", "Framework deal", "Upgrade", "Service contract")
TASK_WORDS = ("Call back", "Send quote", "Prepare demo", "Follow up", "Check contract terms")


@dataclass(frozen=True, slots=True)
class DemoOpportunity:
    """A deal of one account in the demo CRM (amount None: not yet estimated)."""

    id: str
    account: str
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    close_date: date | None
    probability: int


@dataclass(frozen=True, slots=True)
class DemoTask:
    """A to-do on one account in the demo CRM."""

    id: str
    account: str
    title: str
    status: str
    due_date: date | None
    priority: str


@dataclass
class CrmPipeline:
    """The opportunities and tasks the demo CRM serves, by id, with per-account indexes."""

    opportunities: dict[str, DemoOpportunity] = field(default_factory=dict)
    tasks: dict[str, DemoTask] = field(default_factory=dict)
    opportunities_by_account: dict[str, list[str]] = field(default_factory=dict)
    tasks_by_account: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, opportunities: Iterable[DemoOpportunity], tasks: Iterable[DemoTask]) -> CrmPipeline:
        """A pipeline holding ``opportunities`` and ``tasks`` (ids unique), indexed."""
        made = cls()
        for deal in opportunities:
            made.opportunities[deal.id] = deal
            made.opportunities_by_account.setdefault(deal.account, []).append(deal.id)
        for task in tasks:
            made.tasks[task.id] = task
            made.tasks_by_account.setdefault(task.account, []).append(task.id)
        return made


def _currency(country: str) -> str:
    profile = names.PROFILE_BY_COUNTRY.get(country)
    return profile.currency if profile is not None else "EUR"


def make_pipeline(dataset: DemoDataset) -> CrmPipeline:
    """Every account's opportunities (0-4, in the account's country's currency, some not
    yet estimated) and tasks (0-3, open, in progress or done, some overdue), derived
    deterministically from ``dataset``."""
    rng = random.Random(f"keylink-demo/{dataset.seed}/pipeline")
    today = dataset.today
    deals: list[DemoOpportunity] = []
    tasks: list[DemoTask] = []
    for account in sorted(dataset.accounts.values(), key=lambda a: a.id):
        for _ in range(rng.randint(0, 4)):
            stage = rng.choice(STAGES)
            closed = stage not in OPEN_STAGES
            offset = -rng.randint(1, 200) if closed else rng.randint(-20, 180)
            deals.append(
                DemoOpportunity(
                    id=f"D-{20001 + len(deals)}",
                    account=account.id,
                    name=f"{rng.choice(DEAL_WORDS)} {account.name}",
                    stage=stage,
                    amount=None
                    if rng.random() < 0.1
                    else Decimal(rng.randint(10, 900) * 100) + Decimal("0.50") * rng.randint(0, 1),
                    currency=_currency(account.country),
                    close_date=today + timedelta(days=offset),
                    probability=STAGE_PROBABILITY[stage],
                )
            )
        for _ in range(rng.randint(0, 3)):
            tasks.append(
                DemoTask(
                    id=f"T-{30001 + len(tasks)}",
                    account=account.id,
                    title=rng.choice(TASK_WORDS),
                    status=rng.choice(TASK_STATUSES),
                    due_date=None
                    if rng.random() < 0.15
                    else today + timedelta(rng.randint(-30, 30)),
                    priority=rng.choice(PRIORITIES),
                )
            )
    return CrmPipeline.of(deals, tasks)
