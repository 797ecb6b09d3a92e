"""Generator of project work: ERP projects, timesheet projects, time entries and expenses."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

from demo import names
from demo.gen_common import FX, Calendar, eur_to, money, month_start, pick, weekday_on_or_before
from demo.gen_parties import SHOWCASE_POSITIONS, Parties
from demo.records import Employee, ErpProject, Expense, TimeEntry, TsProject

N_PROJECTS = 165
N_FIXED_PRICE = 2  # ERP projects of timesheet clients that have no timesheet project
N_PRESALES = 4  # timesheet projects with no ERP project
TARGET_ENTRIES = 22_000
N_EXPENSES = 1_800
HOURS_CHOICES = tuple(
    Decimal(q) / 4 + Decimal("0.00")
    for q in (2, 3, 4, 4, 6, 8, 8, 10, 12, 14, 16, 16, 16, 20, 24, 24, 28, 30, 32, 32)
)


@dataclass
class Work:
    """Project work of one dataset and the ERP↔timesheet project correspondences."""

    projects: list[ErpProject]
    ts_projects: list[TsProject] = field(default_factory=list)
    entries: list[TimeEntry] = field(default_factory=list)
    expenses: list[Expense] = field(default_factory=list)
    end_of: dict[str, date] = field(default_factory=dict)  # ERP project -> last active day
    ts_of: dict[str, str] = field(default_factory=dict)  # ERP project -> timesheet project
    presales: list[str] = field(default_factory=list)
    unlinked_project: str = ""
    # (ERP project, month, amount) of hours invoiced per month
    billed: list[tuple[str, date, Decimal]] = field(default_factory=list)


def make_projects(rng: random.Random, cal: Calendar, parties: Parties) -> Work:
    """ERP projects "PR-3001".. numbered by start date; old ones are often closed."""
    cumulative = list(accumulate(parties.size_weight))
    raw: list[tuple[date, str, str, str, Decimal, bool, date]] = []
    showcase = [parties.customers[i] for i in SHOWCASE_POSITIONS]
    for n in range(N_PROJECTS):
        cust = showcase[n] if n < len(showcase) else pick(rng, parties.customers, cumulative)
        start = cal.today - timedelta(days=rng.randint(10, 880))
        age = (cal.today - start).days
        closed = (age > 420 and rng.random() < 0.7) or (age > 200 and rng.random() < 0.25)
        end = start + timedelta(days=rng.randint(60, min(age - 10, 400))) if closed else cal.today
        cur = cust.currency
        if cust.number in parties.second_currency and rng.random() < 0.3:
            cur = parties.second_currency[cust.number]
        budget = eur_to(rng.randint(15, 400) * 1000, cur, Decimal(1000))
        raw.append(
            (
                start,
                cust.number,
                f"{rng.choice(names.PROJECT_TOPICS)} {start.year}",
                cur,
                budget,
                closed,
                end,
            )
        )
    raw.sort()
    work = Work(projects=[])
    for i, (start, cust_no, name, cur, budget, closed, end) in enumerate(raw):
        number = f"PR-{3001 + i}"
        work.projects.append(
            ErpProject(number, cust_no, name, cur, budget, "closed" if closed else "open", start)
        )
        work.end_of[number] = end
    return work


def make_ts_projects(rng: random.Random, cal: Calendar, parties: Parties, work: Work) -> None:
    """Timesheet projects "<CLIENT>-NN" for most ERP projects, plus a few pre-sales ones."""
    with_client = [p for p in work.projects if p.customer in parties.client_of]
    showcase = {parties.customers[i].number for i in SHOWCASE_POSITIONS}
    ordinary = [p for p in with_client if p.customer not in showcase]
    fixed_price = {p.number for p in rng.sample(ordinary, N_FIXED_PRICE)}
    seq: dict[str, int] = defaultdict(int)
    for p in with_client:
        if p.number in fixed_price:
            continue
        client = parties.client_of[p.customer]
        seq[client] += 1
        code = f"{client}-{seq[client]:02d}"
        work.ts_of[p.number] = code
        work.ts_projects.append(
            TsProject(
                code,
                client,
                p.name if rng.random() < 0.7 else f"{p.name} (T&M)",
                p.currency,
                eur_to(rng.randint(85, 160), p.currency, Decimal(1)),
                Decimal(rng.randint(8, 320) * 5).quantize(Decimal("0.01")),
            )
        )
    by_client = {c.number: c for c in parties.customers}
    for customer_no in rng.sample(sorted(parties.client_of), N_PRESALES):
        client = parties.client_of[customer_no]
        seq[client] += 1
        code = f"{client}-{seq[client]:02d}"
        cur = by_client[customer_no].currency
        work.presales.append(code)
        work.ts_projects.append(
            TsProject(
                code,
                client,
                "Pre-sales workshop",
                cur,
                eur_to(120, cur, Decimal(1)),
                Decimal("40.00"),
            )
        )
        work.end_of[code] = cal.today
    work.unlinked_project = rng.choice([p.number for p in ordinary if p.number in work.ts_of])
    work.ts_projects.sort(key=lambda p: p.code)


def make_entries(rng: random.Random, cal: Calendar, work: Work, employees: list[Employee]) -> None:
    """~22,000 time entries spread over the active days of each timesheet project.

    Billable entries older than ~6 weeks are mostly invoiced, recent ones mostly not; the
    invoiced hours are summed per ERP project and month into ``work.billed``.
    """
    erp_of = {ts: erp for erp, ts in work.ts_of.items()}
    starts = {p.number: p.start_date for p in work.projects}
    spans: list[tuple[TsProject, date, int, float]] = []
    for tp in work.ts_projects:
        erp = erp_of.get(tp.code)
        start = starts[erp] if erp else cal.today - timedelta(days=rng.randint(30, 300))
        end = work.end_of[erp] if erp else cal.today
        span = max((end - start).days, 1)
        spans.append((tp, start, span, span * rng.uniform(0.5, 1.5)))
    total_weight = sum(w for *_, w in spans)
    rate = {(e.id, cur): e.cost_rate * FX[cur] for e in employees for cur in FX}
    raw: list[tuple[date, str, str, int, Decimal, bool, bool, str, Decimal, str, str]] = []
    billed: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for tp, start, span, weight in spans:
        team = rng.sample(employees, rng.randint(2, 6))
        presales = tp.code in work.presales
        erp = erp_of.get(tp.code)
        for _ in range(max(3, round(TARGET_ENTRIES * weight / total_weight))):
            day = max(start, weekday_on_or_before(start + timedelta(days=rng.randint(0, span))))
            day = min(day, cal.today)
            emp = rng.choice(team)
            hours = rng.choice(HOURS_CHOICES)
            billable = not presales and rng.random() < 0.88
            age = (cal.today - day).days
            p_inv = 0.93 if age > 45 else 0.5 if age > 15 else 0.08
            invoiced = billable and rng.random() < p_inv
            if invoiced and erp is not None:
                billed[(erp, month_start(day))] += hours * tp.hourly_rate
            raw.append(
                (
                    day,
                    tp.code,
                    emp.id,
                    len(raw),
                    hours,
                    billable,
                    invoiced,
                    rng.choice(names.WORK_DESCRIPTIONS),
                    money(hours * rate[(emp.id, tp.currency)]),
                    tp.currency,
                    tp.client,
                )
            )
    raw.sort()
    work.entries = [
        TimeEntry(str(i + 1), client, code, emp, day, hours, billable, invoiced, desc, cost, cur)
        for i, (day, code, emp, _, hours, billable, invoiced, desc, cost, cur, client) in enumerate(
            raw
        )
    ]
    work.billed = [(erp, month, money(amount)) for (erp, month), amount in sorted(billed.items())]


def make_expenses(rng: random.Random, work: Work) -> None:
    """Travel expenses on timesheet projects, each on the date of one of its time entries."""
    raw: list[tuple[date, str, str, str, Decimal, str, str]] = []
    for _ in range(N_EXPENSES):
        entry = rng.choice(work.entries)
        amount = eur_to(round(rng.uniform(8, 450), 2), entry.currency)
        raw.append(
            (
                entry.date,
                entry.project,
                entry.client,
                entry.employee,
                amount,
                entry.currency,
                rng.choice(names.EXPENSE_DESCRIPTIONS),
            )
        )
    raw.sort()
    work.expenses = [
        Expense(str(i + 1), client, project, emp, day, amount, cur, desc)
        for i, (day, project, client, emp, amount, cur, desc) in enumerate(raw)
    ]
