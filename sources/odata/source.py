"""The OData v4 source: an ERP read through its OData service as its spec describes.

Every read is one GET per batch of at most ``batch_size`` keys (``$filter=Key in (...)``,
or an ``or`` chain), with ``$select`` of the properties the field map reads and, for
children that come under their parent, ``$expand``; the service's pages are followed by
``@odata.nextLink`` at whatever size it pages. Entities map onto ``sources.records`` by the
spec's field map (``sources.translate``), the service's codes through the system's
translation tables (``sources.states``). An operation the spec lacks is ``Unsupported``.
Order-line edits (``sources.odata.writes``) carry the line's ETag in ``If-Match``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

import httpx

from sources.base import ORDER_LINE_WRITES, SystemProblem
from sources.config import BasicAuth, SystemConfigBase, read_secret
from sources.declarative import RecordReads
from sources.errors import SourceUnavailable, Unsupported
from sources.http import make_client
from sources.kept import SpecFigures
from sources.odata.check import check_service
from sources.odata.config import OdataConfig
from sources.odata.spec import EntityRead, OdataSpec
from sources.odata.wire import get, key_filter, query
from sources.odata.writes import OdataLineEditor
from sources.registry import Reach, register_adapter
from sources.rest.spec import CATALOGUE
from sources.states import translated_operations
from sources.translate import TranslationError, build_record


class OdataSource(OdataLineEditor, RecordReads, SpecFigures):
    """An ERP read (and its order lines edited) through its OData v4 service.

    Keys the service does not hold are absent from an answer (single records) or map to an
    empty list (children); an answer never holds a key that was not asked.
    """

    write_operations: frozenset[str]
    """The order-line writes when the spec has ``writes`` (``sources.base.DeclaresWrites``:
    never retried), else none."""

    def __init__(
        self, name: str, config: OdataConfig, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.name = name
        self.kinds = config.kinds
        self.config = config
        spec = OdataSpec.from_file(config.spec)
        operations = translated_operations(spec.operations, config.translations)
        self.spec = spec.model_copy(update={"operations": operations})
        headers = dict(config.headers)
        auth: httpx.Auth | None = None
        if isinstance(config.auth, BasicAuth):
            auth = httpx.BasicAuth(config.auth.username, read_secret(config.auth.password_env))
        elif config.auth is not None:
            headers["Authorization"] = f"Bearer {read_secret(config.auth.token_env)}"
        self.client = make_client(
            config.url.rstrip("/") + "/",
            timeout=config.timeout,
            headers=headers,
            auth=auth,
            max_connections=config.max_connections,
            transport=transport,
        )
        self.write_operations = ORDER_LINE_WRITES if spec.writes is not None else frozenset()

    async def aclose(self) -> None:
        """Close the HTTP client shared by reads and writes."""
        await self.client.aclose()

    # -- the generic read ------------------------------------------------------------------

    def operation(self, name: str) -> EntityRead:
        """The spec of read ``name``; ``Unsupported`` when the spec does not give it."""
        found = self.spec.operations.get(name)
        if found is None:
            raise Unsupported(self.name, f"operation {name} not in the OData spec")
        return found

    async def read(self, operation: str, keys: Sequence[str]) -> dict[str, Any]:
        """Records of ``operation`` for ``keys``: one record per key, or a list per key.

        One request (and its nextLink pages) per batch of keys; the batches of one read
        run at once up to ``max_concurrent_batches``."""
        spec = self.operation(operation)
        wanted = list(dict.fromkeys(keys))
        size = self.spec.batch_size_of(spec)
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        fan_out = asyncio.Semaphore(self.config.max_concurrent_batches)

        async def limited(chunk: list[str]) -> list[dict[str, Any]]:
            async with fan_out:
                return await self.entities(operation, spec, chunk)

        batches = await asyncio.gather(*(limited(chunk) for chunk in chunks))
        return self.group(operation, wanted, [e for batch in batches for e in batch])

    def url_of(self, spec: EntityRead, keys: Sequence[str]) -> str | None:
        """The first page's URL of ``spec`` for ``keys``; None when no key can match."""
        selected = key_filter(spec.key, keys, spec.key_type, self.spec.key_filter)
        if selected is None:
            return None
        if spec.filter:
            selected = f"({selected}) and ({spec.filter})"
        options = {"$filter": selected}
        properties = spec.properties()
        if spec.expand is None:
            options["$select"] = ",".join(properties)
        else:
            options["$select"] = spec.key
            options["$expand"] = f"{spec.expand}($select={','.join(properties)})"
        return f"{spec.entity_set}?{query(options)}"

    async def entities(
        self, operation: str, spec: EntityRead, keys: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Every entity ``spec`` finds for ``keys`` (the expanded children, with
        ``expand``), across the service's pages, ready for the field map."""
        url = self.url_of(spec, keys)
        found: list[dict[str, Any]] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > self.spec.max_pages:
                raise SourceUnavailable(self.name, f"{operation}: over {self.spec.max_pages} pages")
            body, asked = await get(
                self.client, self.name, url, ieee754=self.spec.ieee754_compatible, what=operation
            )
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise SourceUnavailable(self.name, f"{operation}: no entity collection")
            for entity in body["value"]:
                if not isinstance(entity, dict):
                    raise SourceUnavailable(self.name, f"{operation}: an entity is no object")
                found.extend(self._children(operation, spec, entity))
            link = body.get("@odata.nextLink")
            url = None if link is None else _link(self.name, operation, link, asked)
        return found

    def _children(
        self, operation: str, spec: EntityRead, entity: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if spec.expand is None:
            return [spec.prepared(entity)]
        children = entity.get(spec.expand)
        if not isinstance(children, list) or not all(isinstance(c, dict) for c in children):
            raise SourceUnavailable(self.name, f"{operation}: {spec.expand} is no collection")
        if f"{spec.expand}@odata.nextLink" in entity:
            raise SourceUnavailable(self.name, f"{operation}: {spec.expand} is paged")
        return [spec.prepared(child) for child in children]

    def group(
        self, operation: str, wanted: Sequence[str], entities: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Entities of ``operation`` as its records, by key or grouped by parent key."""
        shape = CATALOGUE[operation]
        spec = self.operation(operation)
        grouped: dict[str, Any] = {key: [] for key in wanted} if shape.many else {}
        wanted_set = set(wanted)
        for entity in entities:
            record = self.record(operation, spec, entity)
            group = getattr(record, shape.group_by)
            group = None if group is None else str(group)
            if group not in wanted_set:
                continue
            if shape.many:
                grouped[group].append(record)
            else:
                grouped[group] = record
        return grouped

    def record(self, operation: str, spec: EntityRead, entity: Mapping[str, Any]) -> Any:
        """One prepared entity of ``operation`` as its record."""
        try:
            return build_record(CATALOGUE[operation].record, entity, spec.fields)
        except TranslationError as exc:
            raise SourceUnavailable(self.name, f"{operation}: {exc}") from None

    # -- ChecksItsSystem ------------------------------------------------------------------

    async def check_system(self) -> list[SystemProblem]:
        """Every entity set, property, navigation and action the spec names that the
        service's ``$metadata`` lacks, or the service out of reach (``sources.odata.check``)."""
        return await check_service(self.name, self.client, self.spec)


def _link(system: str, operation: str, link: Any, asked: str) -> str:
    if not isinstance(link, str) or not link:
        raise SourceUnavailable(system, f"{operation}: @odata.nextLink is no URL")
    return urljoin(asked, link)


def _build(name: str, config: SystemConfigBase, reach: Reach) -> OdataSource:
    """The registry's factory: an OData source for ``config`` over ``reach``'s transport."""
    assert isinstance(config, OdataConfig)
    return OdataSource(name, config, reach.http_transport)


register_adapter(
    "odata",
    config=OdataConfig,
    implementation=OdataSource,
    factory=_build,
    kinds=frozenset({"erp"}),
)
