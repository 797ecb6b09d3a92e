"""Order-line edits over an OData v4 service, as its spec's ``writes`` section describes.

A change is a PATCH and a removal a DELETE of the line entity with its ETag in
``If-Match`` (weak ETags ``W/"..."`` sent verbatim); an addition a POST to the order's
navigation property. The service prices: the line and the order's totals are read from
its answers, never computed here. Writes are sent once and never retried.

- 412 (the ETag no longer matches, or the line is gone: services answer 412 for a key that
  no longer exists) -> the line is read back: ``Conflict`` carrying it, or ``NotFound``.
- 428 (the service requires ``If-Match``): a preview, which keeps nothing, is sent again
  with the line's current ETag; an edit without a version is a ``Conflict`` carrying the
  current line (its version is what the next attempt must send).
- an OData error body's code -> the spec's ``errors`` table (``ORDER_LOCKED``,
  ``BAD_INPUT``...) -> ``Rejected``; 404 -> ``NotFound``; others -> ``Rejected``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from sources.errors import Conflict, NotFound, Rejected, SourceError, SourceUnavailable, Unsupported
from sources.http import send_raw
from sources.odata.spec import EntityRead, LineWrites, OdataSpec
from sources.odata.wire import accept, decode, encode, entity_path, error_of
from sources.records import LineChanges, LineDraft, LineWrite, OrderLine, SalesOrder
from sources.translate import TranslationError, build_record


class OdataLineEditor:
    """The ``OrderEditor`` writes of the OData source (mixed into ``OdataSource``)."""

    name: str
    client: httpx.AsyncClient
    spec: OdataSpec

    def operation(self, name: str) -> EntityRead:
        """The spec of read ``name`` (provided by ``OdataSource``)."""
        raise NotImplementedError

    async def read(self, operation: str, keys: Sequence[str]) -> dict[str, Any]:
        """Records of a read (provided by ``OdataSource``)."""
        raise NotImplementedError

    # -- OrderEditor ------------------------------------------------------------------------

    async def add_order_line(
        self, order_key: str, draft: LineDraft, *, idempotency_key: str
    ) -> LineWrite:
        """POST the line to the order's lines; the service prices it."""
        writes = self._writes()
        path = f"{self._order_path(order_key)}/{writes.navigation}"
        status, raw = await self._send("POST", path, self._body(draft), None, write=True)
        if status >= 400:
            raise await self._refusal(status, raw, path, None)
        line = self._line(self._answer(raw, path))
        return LineWrite(line, await self._order(line.order_key))

    async def change_order_line(
        self, line_key: str, changes: LineChanges, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """PATCH the line if still at ``version`` (its ETag); see the module docstring."""
        path = self._line_path(line_key)
        status, raw = await self._send("PATCH", path, self._body(changes), version, write=True)
        if status >= 400:
            raise await self._refusal(status, raw, path, line_key)
        line = self._line(self._answer(raw, path)) if status != 204 else None
        if line is None:
            line = await self._current(line_key)
            if line is None:
                raise SourceUnavailable(self.name, "the changed line does not read back")
        return LineWrite(line, await self._order(line.order_key))

    async def remove_order_line(
        self, line_key: str, *, version: str, idempotency_key: str
    ) -> LineWrite:
        """DELETE the line if still at ``version``; the order is read back for its totals."""
        path = self._line_path(line_key)
        before = await self._current(line_key)
        if before is None:
            raise NotFound(self.name, "no such order line")
        status, raw = await self._send("DELETE", path, None, version, write=True)
        if status >= 400:
            raise await self._refusal(status, raw, path, line_key)
        return LineWrite(None, await self._order(before.order_key))

    async def preview_order_line(self, order_key: str, draft: LineDraft) -> LineWrite:
        """The service's pricing of a new line (its ``preview_add`` action), kept nowhere."""
        writes = self._writes()
        if writes.preview_add is None:
            raise Unsupported(self.name, "the OData spec names no preview_add action")
        path = f"{self._order_path(order_key)}/{writes.preview_add}"
        status, raw = await self._send("POST", path, self._body(draft), None, write=False)
        if status >= 400:
            raise await self._refusal(status, raw, path, None)
        return self._previewed(self._answer(raw, path), "")

    async def preview_line_change(self, line_key: str, changes: LineChanges) -> LineWrite:
        """The service's pricing of a changed line (its ``preview_change`` action), kept
        nowhere; answers as the change would (NOT_FOUND, ORDER_LOCKED)."""
        writes = self._writes()
        if writes.preview_change is None:
            raise Unsupported(self.name, "the OData spec names no preview_change action")
        path = f"{self._line_path(line_key)}/{writes.preview_change}"
        body = self._body(changes)
        status, raw = await self._send("POST", path, body, None, write=False)
        if status == 428:  # the service wants the line's ETag even for an action
            current = await self._current(line_key)
            if current is None:
                raise NotFound(self.name, "no such order line")
            status, raw = await self._send("POST", path, body, current.version, write=False)
        if status >= 400:
            raise await self._refusal(status, raw, path, line_key)
        return self._previewed(self._answer(raw, path), line_key)

    # -- the steps --------------------------------------------------------------------------

    def _writes(self) -> LineWrites:
        if self.spec.writes is None:
            raise Unsupported(self.name, "the OData spec declares no writes")
        return self.spec.writes

    def _line_path(self, line_key: str) -> str:
        lines = self.operation("order_lines_by_key")
        path = entity_path(self._writes().entity_set, line_key, lines.key_type)
        if path is None:
            raise NotFound(self.name, "no such order line")
        return path

    def _order_path(self, order_key: str) -> str:
        orders = self.operation("sales_orders")
        path = entity_path(orders.entity_set, order_key, orders.key_type)
        if path is None:
            raise NotFound(self.name, "no such order")
        return path

    def _body(self, values: LineDraft | LineChanges) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name, prop in self._writes().body.items():
            value = getattr(values, name, None)
            if value is not None:
                body[prop] = encode(value)
        return body

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        version: str | None,
        *,
        write: bool,
    ) -> tuple[int, bytes]:
        kind = accept(True)  # decimals go as exact strings, which this announces
        headers = {"Accept": accept(self.spec.ieee754_compatible)}
        if method != "DELETE":  # services refuse a return preference on DELETE
            headers["Prefer"] = "return=representation"
        if body is not None:
            headers["Content-Type"] = kind
        if version:
            headers["If-Match"] = version
        return await send_raw(
            self.client, self.name, method, path, body=body, headers=headers, write=write
        )

    def _answer(self, raw: bytes, path: str) -> dict[str, Any]:
        try:
            found = decode(raw)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise SourceUnavailable(
                self.name, f"{path}: the answer is no entity", maybe_applied=True
            )
        return found

    def _line(self, entity: Mapping[str, Any], *, unsaved_key: str | None = None) -> OrderLine:
        spec = self.operation("order_lines_by_key")
        item = spec.prepared(entity)
        try:
            line = build_record(OrderLine, item, spec.fields)
        except TranslationError as exc:
            raise SourceUnavailable(self.name, f"line: {exc}", maybe_applied=True) from None
        if unsaved_key is not None:  # a previewed line: nothing kept, so no version
            line = dataclasses.replace(line, key=unsaved_key, version="")
        return line

    async def _current(self, line_key: str) -> OrderLine | None:
        found: OrderLine | None = (await self.read("order_lines_by_key", [line_key])).get(line_key)
        return found

    async def _order(self, order_key: str) -> SalesOrder:
        order: SalesOrder | None = (await self.read("sales_orders", [order_key])).get(order_key)
        if order is None:
            raise SourceUnavailable(self.name, "the order does not read back", maybe_applied=True)
        return order

    def _previewed(self, answer: Mapping[str, Any], line_key: str) -> LineWrite:
        """A preview action's answer (the order, its lines under the navigation property)
        as the priced line (``line_key``; "" for a new one) and the order's new totals."""
        orders = self.operation("sales_orders")
        try:
            order = build_record(SalesOrder, orders.prepared(answer), orders.fields)
        except TranslationError as exc:
            raise SourceUnavailable(self.name, f"preview order: {exc}") from None
        items = answer.get(self._writes().navigation)
        if not isinstance(items, list):
            raise SourceUnavailable(self.name, "the preview answers no lines")
        key_path = self.operation("order_lines_by_key").fields.fields["key"].path
        for item in items:
            if isinstance(item, dict) and str(item.get(key_path or "") or "") == line_key:
                return LineWrite(self._line(item, unsaved_key=line_key), order)
        raise SourceUnavailable(self.name, "the preview answers no priced line")

    async def _refusal(
        self, status: int, raw: bytes, path: str, line_key: str | None
    ) -> SourceError:
        """The typed error of a refused write (see the module docstring)."""
        code, message, target = error_of(raw)
        detail = f"{path}: HTTP {status} {code}".rstrip()
        if status in (412, 428) and line_key is not None:
            current = await self._current(line_key)
            if current is None:
                return NotFound(self.name, detail, message="The order line no longer exists.")
            return Conflict(self.name, detail, current=current)
        writes = self._writes()
        mapped = writes.errors.get(code)
        if mapped is not None:
            field = writes.error_fields.get(target or "", target)
            return Rejected(self.name, detail, code=mapped, message=message or None, field=field)
        if status == 404:
            return NotFound(self.name, detail, message=message or None)
        if status == 401 or status == 403:
            return SourceUnavailable(self.name, detail)
        return Rejected(self.name, detail, code="REJECTED", message=message or None)
