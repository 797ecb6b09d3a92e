"""Holding an OData spec to its live service: ``$metadata`` read once, every entity set,
property, navigation property and bound action the spec names looked up in it.

Each one the service lacks is one ``SystemProblem`` naming the operation; a service out of
reach (or whose ``$metadata`` is not EDMX) is one problem with ``reachable`` False.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx

from sources.base import SystemProblem
from sources.errors import SourceError
from sources.http import send_raw
from sources.odata.spec import EntityRead, LineWrites, OdataSpec

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass
class EntityType:
    """What ``$metadata`` says of one entity type: its properties and navigation
    properties (to the target type's qualified name)."""

    properties: set[str] = field(default_factory=set)
    navigation: dict[str, str] = field(default_factory=dict)
    actions: set[str] = field(default_factory=set)


@dataclass
class Metadata:
    """A service's entity sets (to their type's qualified name) and entity types."""

    sets: dict[str, str] = field(default_factory=dict)
    types: dict[str, EntityType] = field(default_factory=dict)

    def type_of(self, entity_set: str) -> EntityType | None:
        """The entity type of ``entity_set``; None if the service has no such set."""
        name = self.sets.get(entity_set)
        return None if name is None else self.types.get(name)


def _unwrap(type_name: str) -> str:
    return type_name[len("Collection(") : -1] if type_name.startswith("Collection(") else type_name


def parse_metadata(document: bytes) -> Metadata:
    """The entity sets, types and bound actions of an EDMX ``$metadata`` document;
    ``ValueError`` when it is not one."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise ValueError(f"$metadata is not XML: {exc}") from None
    found = Metadata()
    schemas = list(root.iter(f"{EDM}Schema"))
    if not schemas:
        raise ValueError("$metadata holds no EDM schema")
    for schema in schemas:
        namespace = schema.get("Namespace", "")
        for node in schema.findall(f"{EDM}EntityType"):
            entity = found.types.setdefault(f"{namespace}.{node.get('Name')}", EntityType())
            entity.properties |= {p.get("Name", "") for p in node.findall(f"{EDM}Property")}
            for nav in node.findall(f"{EDM}NavigationProperty"):
                entity.navigation[nav.get("Name", "")] = _unwrap(nav.get("Type", ""))
        for container in schema.findall(f"{EDM}EntityContainer"):
            for entity_set in container.findall(f"{EDM}EntitySet"):
                found.sets[entity_set.get("Name", "")] = entity_set.get("EntityType", "")
    for schema in schemas:
        namespace = schema.get("Namespace", "")
        for action in schema.findall(f"{EDM}Action"):
            binding = action.find(f"{EDM}Parameter")
            if action.get("IsBound") == "true" and binding is not None:
                bound = found.types.get(_unwrap(binding.get("Type", "")))
                if bound is not None:
                    bound.actions.add(f"{namespace}.{action.get('Name')}")
    return found


def read_problems(system: str, name: str, spec: EntityRead, meta: Metadata) -> list[SystemProblem]:
    """What the service lacks of read ``name``."""
    entity = meta.type_of(spec.entity_set)
    if entity is None:
        return [SystemProblem(system, name, f"the service has no entity set {spec.entity_set}")]
    problems = []
    if spec.key not in entity.properties:
        problems.append(
            SystemProblem(system, name, f"{spec.entity_set} has no property {spec.key}")
        )
    where, holder = spec.entity_set, entity
    if spec.expand is not None:
        child = meta.types.get(entity.navigation.get(spec.expand, ""))
        if child is None:
            problems.append(
                SystemProblem(system, name, f"{spec.entity_set} has no navigation {spec.expand}")
            )
            return problems
        where, holder = f"{spec.entity_set}/{spec.expand}", child
    problems += [
        SystemProblem(system, name, f"{where} has no property {prop}")
        for prop in spec.properties()
        if prop not in holder.properties
    ]
    return problems


def write_problems(
    system: str, writes: LineWrites, orders: EntityRead, meta: Metadata
) -> list[SystemProblem]:
    """What the service lacks of the spec's order-line edits."""
    lines = meta.type_of(writes.entity_set)
    if lines is None:
        return [SystemProblem(system, "writes", f"no entity set {writes.entity_set}")]
    problems = [
        SystemProblem(system, "writes", f"{writes.entity_set} has no property {prop}")
        for prop in writes.body.values()
        if prop not in lines.properties
    ]
    order = meta.type_of(orders.entity_set)
    if order is not None and writes.navigation not in order.navigation:
        problems.append(
            SystemProblem(
                system, "writes", f"{orders.entity_set} has no navigation {writes.navigation}"
            )
        )
    for action, bound, where in (
        (writes.preview_add, order, orders.entity_set),
        (writes.preview_change, lines, writes.entity_set),
    ):
        if action is not None and bound is not None and action not in bound.actions:
            problems.append(
                SystemProblem(system, "writes", f"{where} has no bound action {action}")
            )
    return problems


async def check_service(
    system: str, client: httpx.AsyncClient, spec: OdataSpec
) -> list[SystemProblem]:
    """Every problem between ``spec`` and the ``$metadata`` of the service ``client``
    reaches (system ``system``)."""
    try:
        status, raw = await send_raw(
            client,
            system,
            "GET",
            "$metadata",
            headers={"Accept": "application/xml"},
            write=False,
        )
        if status >= 400:
            return [SystemProblem(system, None, f"$metadata: HTTP {status}", reachable=False)]
        meta = parse_metadata(raw)
    except (SourceError, ValueError) as exc:
        return [SystemProblem(system, None, f"$metadata: {exc}", reachable=False)]
    problems: list[SystemProblem] = []
    for name, operation in spec.operations.items():
        problems += read_problems(system, name, operation, meta)
    writes = spec.writes
    if writes is not None:
        problems += write_problems(system, writes, spec.operations["sales_orders"], meta)
    return problems
