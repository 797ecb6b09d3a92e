"""The demo link list: which keys in ERP, CRM and timesheet denote the same entity.

This is the "truth" a link map is seeded with for the demo. It covers every customer,
supplier and project of the dataset except three entities left out on purpose
(``unlinked(dataset)``): two customers present in all three systems and one project present
in ERP and timesheet. Entities that exist in only some systems are linked with just those
keys (CRM-only prospects, ERP-only customers and projects, timesheet-only pre-sales
projects). System names are "erp", "crm" and "timesheet".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from demo.records import DemoDataset

LinkKind = Literal["customer", "supplier", "project"]


@dataclass(frozen=True, slots=True)
class DemoLink:
    """One entity: its kind and its key(s) per system (system name → keys)."""

    kind: LinkKind
    keys: dict[str, list[str]]


def _as_links(dataset: DemoDataset, linked: bool) -> list[DemoLink]:
    return [
        DemoLink(kind=e.kind, keys={system: [key] for system, key in e.keys.items()})
        for e in dataset.entities
        if e.linked is linked
    ]


def demo_links(dataset: DemoDataset) -> list[DemoLink]:
    """The link list for ``dataset``, without the deliberately unlinked entities.

    Order: customers by ERP number then CRM-only prospects, suppliers by number, projects
    by ERP number then timesheet-only projects.
    """
    return _as_links(dataset, linked=True)


def unlinked(dataset: DemoDataset) -> list[DemoLink]:
    """The three entities that exist in the systems but are deliberately not in
    ``demo_links`` (what their links would have been)."""
    return _as_links(dataset, linked=False)


def unlinked_keys(dataset: DemoDataset) -> list[tuple[str, str]]:
    """``(system, key)`` of every key belonging to a deliberately unlinked entity."""
    return [(s, k) for link in unlinked(dataset) for s, keys in link.keys.items() for k in keys]
