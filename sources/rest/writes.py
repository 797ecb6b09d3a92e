"""Order-line edits over a REST upstream, as its spec's ``writes`` section describes.

Writes are sent once and never retried. The upstream's refusals are read from its error
body and translated by the spec's ``errors`` table into Keylink's codes; a version
conflict carries the line as the upstream has it now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from sources.errors import Conflict, NotFound, Rejected, SourceUnavailable, Unsupported
from sources.http import send_json
from sources.records import (
    LineChanges,
    LineDraft,
    LineWrite,
    OrderLine,
    Product,
    SalesOrder,
)
from sources.rest.spec import RestSpec, WriteCall, WriteSpec
from sources.translate import TranslationError, build_record, lookup


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class RestOrderEditor:
    """The ``OrderEditor`` half of the REST adapter (mixed into ``RestSource``)."""

    name: str
    client: httpx.AsyncClient
    spec: RestSpec

    async def read(
        self, operation: str, keys: Sequence[str], filters: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Records of a read operation (provided by ``RestSource``)."""
        raise NotImplementedError

    async def sales_orders(self, keys: Sequence[str]) -> Mapping[str, SalesOrder]:
        """Sales orders by order key."""
        return await self.read("sales_orders", keys)

    async def order_lines_by_key(self, line_keys: Sequence[str]) -> Mapping[str, OrderLine]:
        """Order lines by line key."""
        return await self.read("order_lines_by_key", line_keys)

    async def products(self, keys: Sequence[str]) -> Mapping[str, Product]:
        """Products by product key, with availability."""
        return await self.read("products", keys)

    async def add_order_line(
        self, order_key: str, draft: LineDraft, *, idempotency_key: str
    ) -> LineWrite:
        """Add a line to an order."""
        spec = _writes(self)
        return await _send(
            self,
            spec,
            spec.add_line,
            {"order": order_key},
            _body(spec, draft),
            None,
            idempotency_key,
        )

    async def change_order_line(
        self,
        line_key: str,
        changes: LineChanges,
        *,
        version: str,
        idempotency_key: str,
    ) -> LineWrite:
        """Change a line that is still at ``version``."""
        spec = _writes(self)
        return await _send(
            self,
            spec,
            spec.change_line,
            {"line": line_key},
            _body(spec, changes),
            version,
            idempotency_key,
        )

    async def remove_order_line(
        self, line_key: str, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """Remove a line that is still at ``version``."""
        spec = _writes(self)
        return await _send(
            self, spec, spec.remove_line, {"line": line_key}, None, version, idempotency_key
        )

    async def preview_order_line(self, order_key: str, draft: LineDraft) -> LineWrite:
        """Price a new line without saving it."""
        spec = _writes(self)
        if spec.preview_add is None:
            raise Unsupported(self.name, "no preview_add in spec")
        return await _send(
            self, spec, spec.preview_add, {"order": order_key}, _body(spec, draft), None, None
        )

    async def preview_line_change(
        self, line_key: str, changes: LineChanges, *, version: str | None = None
    ) -> LineWrite:
        """Price a change of a line without saving it. With ``version`` (and a spec whose
        ``preview_change`` says where it goes) the upstream checks it as the edit would: a
        stale one is a ``Conflict`` carrying the current line."""
        spec = _writes(self)
        if spec.preview_change is None:
            raise Unsupported(self.name, "no preview_change in spec")
        return await _send(
            self,
            spec,
            spec.preview_change,
            {"line": line_key},
            _body(spec, changes),
            version,
            None,
        )


def _writes(source: RestOrderEditor) -> WriteSpec:
    if source.spec.writes is None:
        raise Unsupported(source.name, "the spec declares no writes")
    return source.spec.writes


def _body(spec: WriteSpec, values: LineDraft | LineChanges) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, upstream in spec.body_fields.items():
        value = getattr(values, name, None)
        if value is not None:
            body[upstream] = _wire(value)
    return body


async def _send(
    source: RestOrderEditor,
    spec: WriteSpec,
    call: WriteCall,
    path_values: Mapping[str, str],
    body: dict[str, Any] | None,
    version: str | None,
    idempotency_key: str | None,
) -> LineWrite:
    from urllib.parse import quote

    path = call.path.format(**{k: quote(v, safe="") for k, v in path_values.items()})
    params: dict[str, str] = {}
    if version is not None and call.version != "none":
        wire_version: Any = int(version) if spec.version_format == "int" else version
        if call.version == "body":
            body = {**(body or {}), spec.version_field: wire_version}
        else:
            params[spec.version_field] = str(wire_version)
    headers = {}
    if idempotency_key is not None and spec.idempotency_header:
        headers[spec.idempotency_header] = idempotency_key
    status, answer = await send_json(
        source.client, source.name, call.method, path, body=body, params=params, headers=headers
    )
    if status >= 400:
        raise _refusal(source, spec, status, answer, f"{call.method} {path}")
    return _answer(source, spec, answer, f"{call.method} {path}", preview=idempotency_key is None)


def _refusal(
    source: RestOrderEditor, spec: WriteSpec, status: int, answer: Any, what: str
) -> Exception:
    code_raw = lookup(answer, spec.error_code_path) if isinstance(answer, Mapping) else None
    upstream_code = str(code_raw) if isinstance(code_raw, (str, int)) else ""
    field_raw = lookup(answer, spec.error_field_path) if isinstance(answer, Mapping) else None
    message_raw = lookup(answer, spec.error_message_path) if isinstance(answer, Mapping) else None
    message = message_raw if isinstance(message_raw, str) and message_raw else None
    detail = f"{what}: {status} {upstream_code}"
    code = spec.errors.get(upstream_code)
    if code == "CONFLICT":
        current_raw = lookup(answer, spec.current_path)
        current = _line(source, current_raw) if isinstance(current_raw, Mapping) else None
        return Conflict(source.name, detail, current=current, message=message)
    if code is not None:
        return Rejected(
            source.name,
            detail,
            code=code,
            message=message,
            field=field_raw if isinstance(field_raw, str) else None,
        )
    if status == 404:
        return NotFound(source.name, detail, message=message)
    return Rejected(source.name, detail, code="REJECTED", message=message)


def _line(source: RestOrderEditor, item: Mapping[str, Any], *, preview: bool = False) -> OrderLine:
    operation = source.spec.operations["order_lines_by_key"]
    if preview:  # a priced, unsaved line has no key or version yet: they read as ""
        item = dict(item)
        for name in ("key", "version"):
            path = operation.fields.fields[name].path
            if path is not None and "." not in path and item.get(path) is None:
                item[path] = ""
    try:
        return build_record(OrderLine, item, operation.fields)
    except TranslationError as exc:
        raise SourceUnavailable(source.name, f"line: {exc}", maybe_applied=True) from exc


def _answer(
    source: RestOrderEditor, spec: WriteSpec, answer: Any, what: str, *, preview: bool = False
) -> LineWrite:
    if not isinstance(answer, Mapping):
        raise SourceUnavailable(source.name, f"{what}: answer is not an object", maybe_applied=True)
    line_raw = lookup(answer, spec.line_path)
    order_raw = lookup(answer, spec.order_path)
    if not isinstance(order_raw, Mapping):
        raise SourceUnavailable(source.name, f"{what}: answer has no order", maybe_applied=True)
    try:
        order = build_record(SalesOrder, order_raw, source.spec.operations["sales_orders"].fields)
    except TranslationError as exc:
        raise SourceUnavailable(source.name, f"order: {exc}", maybe_applied=True) from exc
    line = _line(source, line_raw, preview=preview) if isinstance(line_raw, Mapping) else None
    return LineWrite(line=line, order=order)
