"""Demo datasets whose CRM holds many accounts, for tests that count upstream requests at
1k and 10k accounts. Only the CRM's accounts change; the other systems keep the default
demo data (``demo.data.generate``), which itself is never changed."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache

from demo.data import CrmAccount, DemoDataset, generate
from demo.runner import DemoUpstreams

TODAY = date(2025, 11, 28)
TEAMS = {"NO": ("Oslo", "Bergen"), "DK": ("Copenhagen",), "SE": ("Stockholm",)}
SEGMENTS = ("Industry", "Retail", "Public", "Services")
OWNERS = ("Ingrid Berg", "Sindre Bakke", "Mette Hansen", "Erik Lund", "Åsa Nilsson")
WORDS = ("Nord", "Fjord", "Bygg", "Øst", "Vest", "Handel", "Transport", "Data", "Æble")


@cache
def _base() -> DemoDataset:
    return generate(42, TODAY)


def crm_dataset(accounts: int, seed: int = 7) -> DemoDataset:
    """The demo dataset with ``accounts`` CRM accounts ("A-100001"...). Names, owners,
    teams, segments and countries come from small pools, so every sort field has ties."""
    rng = random.Random(f"crm-scale/{seed}")
    rows: dict[str, CrmAccount] = {}
    for index in range(accounts):
        key = f"A-{100001 + index}"
        country = rng.choice(sorted(TEAMS))
        rows[key] = CrmAccount(
            id=key,
            name=f"{rng.choice(WORDS)} {rng.choice(WORDS)} AS",
            owner=rng.choice(OWNERS),
            team=rng.choice(TEAMS[country]),
            segment=rng.choice(SEGMENTS),
            country=country,
        )
    dataset = dataclasses.replace(_base(), accounts=rows)
    dataset.build_indexes()
    return dataset


@contextmanager
def crm_upstreams(accounts: int) -> Iterator[DemoUpstreams]:
    """The demo upstreams running on loopback with a CRM of ``accounts`` accounts."""
    with DemoUpstreams(dataset=crm_dataset(accounts)) as running:
        yield running
