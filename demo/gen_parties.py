"""Generator of the parties and catalogues: ERP customers, suppliers and products, CRM
accounts/contacts/activities, timesheet clients and employees."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate

from demo import names
from demo.gen_common import CURRENCIES, Calendar, eur_to, pick
from demo.records import (
    ActivityType,
    CrmAccount,
    CrmActivity,
    CrmContact,
    Employee,
    ErpCustomer,
    ErpSupplier,
    Product,
    TsClient,
)

ACTIVITY_TYPES: tuple[ActivityType, ...] = ("call", "meeting", "email")
N_CUSTOMERS = 240
N_PROSPECTS = 5
N_NO_CRM = 5
N_NO_TIMESHEET = 5
N_UNLINKED_CUSTOMERS = 2
N_EMPLOYEES = 30
SHOWCASE_POSITIONS = (0, 1, 2, 22, 40, 57, 88)  # ERP 10001, 10002, 10003, 10023 (ACME), ...
ACME_INDEX, ACME_ACCOUNT = 22, "A-1043"  # the DESIGN.md example: A-1043 = 10023 = ACME


@dataclass
class Parties:
    """Parties generated for one dataset plus the sets that shape their correspondences."""

    customers: list[ErpCustomer]
    second_currency: dict[str, str]
    size_weight: list[float]
    no_crm: set[str] = field(default_factory=set)
    no_timesheet: set[str] = field(default_factory=set)
    unlinked: set[str] = field(default_factory=set)
    account_of: dict[str, str] = field(default_factory=dict)  # ERP number -> CRM id
    client_of: dict[str, str] = field(default_factory=dict)  # ERP number -> client code
    prospects: list[str] = field(default_factory=list)


def _vat_id(rng: random.Random, country: str) -> str:
    def digits(n: int) -> str:
        return "".join(str(rng.randint(0, 9)) for _ in range(n))

    if country == "NO":
        return f"NO{rng.randint(8, 9)}{digits(8)}MVA"
    if country == "SE":
        return f"SE{digits(10)}01"
    if country == "AT":
        return f"ATU{digits(8)}"
    length = {"DK": 8, "DE": 9, "PL": 10, "FI": 8}[country]
    return f"{country}{digits(length)}"


def make_customers(rng: random.Random) -> Parties:
    """ERP customers "10001".. with showcase names at fixed numbers and Pareto-sized volumes."""
    cumulative = list(accumulate(p.weight for p in names.COUNTRIES))
    taken = {n for n, _ in names.SHOWCASE_CUSTOMERS}
    showcase = dict(zip(SHOWCASE_POSITIONS, names.SHOWCASE_CUSTOMERS, strict=True))
    customers: list[ErpCustomer] = []
    for i in range(N_CUSTOMERS):
        if i in showcase:
            name, country = showcase[i]
            profile = names.PROFILE_BY_COUNTRY[country]
        else:
            profile = pick(rng, names.COUNTRIES, cumulative)
            name = names.company_name(rng, profile)
            while name in taken:
                name = names.company_name(rng, profile)
            taken.add(name)
        customers.append(
            ErpCustomer(
                number=str(10001 + i),
                name=name,
                currency=profile.currency,
                credit_limit=eur_to(
                    rng.choice((10, 20, 25, 50, 75, 100, 150, 250)) * 1000,
                    profile.currency,
                    Decimal(1000),
                ),
                country=profile.country,
                vat_id=_vat_id(rng, profile.country),
                discount_percent=Decimal(
                    rng.choice(("0", "0", "0", "2.5", "5", "7.5", "10"))
                ).quantize(Decimal("0.01")),
                payment_terms_days=rng.choice((10, 14, 14, 30, 30, 30, 45, 60)),
            )
        )
    second: dict[str, str] = {}
    for c in customers:
        if rng.random() < 0.10:
            second[c.number] = rng.choice([x for x in CURRENCIES if x != c.currency])
    weights = [min(rng.paretovariate(1.3), 10.0) for _ in customers]
    for i in SHOWCASE_POSITIONS:  # showcase customers are busy ones
        weights[i] = max(weights[i], 4.0)
    parties = Parties(customers=customers, second_currency=second, size_weight=weights)
    pool = [c.number for i, c in enumerate(customers) if i not in showcase]
    chosen = rng.sample(pool, N_NO_CRM + N_NO_TIMESHEET + N_UNLINKED_CUSTOMERS)
    parties.no_crm = set(chosen[:N_NO_CRM])
    parties.no_timesheet = set(chosen[N_NO_CRM : N_NO_CRM + N_NO_TIMESHEET])
    parties.unlinked = set(chosen[N_NO_CRM + N_NO_TIMESHEET :])
    return parties


def make_suppliers() -> list[ErpSupplier]:
    """ERP suppliers "70001".. from a fixed list of names."""
    return [
        ErpSupplier(number=str(70001 + i), name=n, currency=cur, country=country)
        for i, (n, country, cur) in enumerate(names.SUPPLIER_NAMES)
    ]


def make_products(rng: random.Random, today: date) -> list[Product]:
    """Products "P-1001".. with a price list in every currency; ~15 % of goods out of stock."""
    out: list[Product] = []
    for i, (name, unit, base) in enumerate(names.PRODUCT_CATALOGUE):
        step = Decimal("0.01") if base < 50 else Decimal("1")
        prices = {
            cur: eur_to(base, cur, step if cur != "EUR" else Decimal("0.01")) for cur in CURRENCIES
        }
        if unit == "h":
            on_hand, available = 0, None
        elif rng.random() < 0.15:
            on_hand, available = 0, today + timedelta(days=rng.randint(3, 45))
        else:
            on_hand = rng.randint(5, 2000) if unit == "pcs" else rng.randint(100, 20000)
            available = None
        out.append(Product(f"P-{1001 + i}", name, unit, prices, on_hand, available))
    return out


def make_crm(
    rng: random.Random, cal: Calendar, parties: Parties
) -> tuple[list[CrmAccount], list[CrmContact], list[CrmActivity]]:
    """CRM accounts (ERP customers minus ``no_crm``, plus prospects), contacts and activities.

    Account ids are handed out in a shuffled order (the CRM was filled in another order than
    the ERP); the DESIGN.md example pair A-1043 = ERP 10023 is pinned.
    """
    rows: list[tuple[str | None, str, str]] = []  # (erp number or None, name, country)
    for c in parties.customers:
        if c.number not in parties.no_crm:
            rows.append((c.number, names.crm_variant(rng, c.name), c.country))
    taken = {c.name for c in parties.customers}
    for _ in range(N_PROSPECTS):
        profile = rng.choice(names.COUNTRIES)
        name = names.company_name(rng, profile)
        while name in taken:
            name = names.company_name(rng, profile)
        taken.add(name)
        rows.append((None, name, profile.country))
    rng.shuffle(rows)
    acme = str(10001 + ACME_INDEX)
    pinned = int(ACME_ACCOUNT[2:]) - 1001
    at = next(i for i, r in enumerate(rows) if r[0] == acme)
    rows[at], rows[pinned] = rows[pinned], rows[at]

    accounts: list[CrmAccount] = []
    for i, (erp, name, country) in enumerate(rows):
        acc_id = f"A-{1001 + i}"
        team = rng.choice(names.TEAMS_BY_COUNTRY[country])
        accounts.append(
            CrmAccount(
                acc_id,
                name,
                rng.choice(names.CRM_OWNERS[team]),
                team,
                rng.choice(names.SEGMENTS),
                country,
            )
        )
        if erp is None:
            parties.prospects.append(acc_id)
        else:
            parties.account_of[erp] = acc_id

    contacts: list[CrmContact] = []
    raw_activities: list[tuple[date, str, ActivityType, str, str]] = []
    for acc in accounts:
        phone = names.PROFILE_BY_COUNTRY[acc.country].phone_prefix
        for _ in range(rng.randint(1, 4)):
            person = names.person_name(rng)
            contacts.append(
                CrmContact(
                    id=f"C-{10001 + len(contacts)}",
                    account=acc.id,
                    name=person,
                    email=names.email_for(person, acc.name),
                    phone=f"{phone} {rng.randint(200, 999)} {rng.randint(10000, 99999)}",
                    role=rng.choice(names.CONTACT_ROLES),
                )
            )
        for _ in range(rng.randint(0, 12)):
            kind = rng.choice(ACTIVITY_TYPES)
            raw_activities.append(
                (
                    cal.sample(rng),
                    acc.id,
                    kind,
                    rng.choice(names.ACTIVITY_SUBJECTS[kind]),
                    acc.owner,
                )
            )
    raw_activities.sort()
    activities = [
        CrmActivity(f"ACT-{100001 + i}", acc_id, kind, subject, day, owner)
        for i, (day, acc_id, kind, subject, owner) in enumerate(raw_activities)
    ]
    return accounts, contacts, activities


def make_clients(rng: random.Random, parties: Parties) -> list[TsClient]:
    """Timesheet clients for ERP customers minus ``no_timesheet``, with unique ASCII codes."""
    taken: set[str] = set()
    clients: list[TsClient] = []
    for c in parties.customers:
        if c.number in parties.no_timesheet:
            continue
        name = names.strip_legal_form(c.name) if rng.random() < 0.4 else c.name
        code = names.unique_code(names.client_code_stem(name), taken)
        parties.client_of[c.number] = code
        clients.append(TsClient(code, name))
    clients.sort(key=lambda cl: cl.code)
    return clients


def make_employees(rng: random.Random) -> list[Employee]:
    """Employees "E-01".."E-30" with distinct names and an hourly cost rate in EUR."""
    seen: set[str] = set()
    out: list[Employee] = []
    while len(out) < N_EMPLOYEES:
        person = names.person_name(rng)
        if person in seen:
            continue
        seen.add(person)
        rate = Decimal(rng.randint(45, 95)).quantize(Decimal("0.01"))
        out.append(Employee(f"E-{len(out) + 1:02d}", person, rate))
    return out
