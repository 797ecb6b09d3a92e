"""Order-line writes of the demo ERP: it validates, prices, recomputes totals, bumps
versions and refuses edits of locked orders, like a real ERP (see demo/API.md).

Every applied write is appended to a write log (``GET /_writes``) that tests count;
rejections and previews are not logged. ``POST /_reset-data`` restores the generated
order data. All state changes happen under one lock, read-validate-write in one step.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from demo.httpapi import ItemCache, json_response
from demo.records import DemoDataset, OrderLine, Product, SalesOrder

CENT = Decimal("0.01")
TAX_RATE = Decimal("0.25")
LINE_FIELDS = (
    "product",
    "quantity",
    "discount_percent",
    "delivery_date",
    "description",
    "unit_price",
)


class WriteError(Exception):
    """A refused write: HTTP status, error code, detail and extra body fields."""

    def __init__(self, http_status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.http_status = http_status
        self.code = code
        self.detail = detail
        self.extra = extra

    def response(self) -> Response:
        """The JSON error answer."""
        body = {"error": self.code, "detail": self.detail, **self.extra}
        return json_response(body, self.http_status)


def _decimal(field: str, value: Any, places: int, low: Decimal, high: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WriteError(422, "invalid", f"{field} must be a decimal string", field=field)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise WriteError(422, "invalid", f"{field} is not a number", field=field) from exc
    exponent = number.as_tuple().exponent
    if not number.is_finite() or not isinstance(exponent, int):
        raise WriteError(422, "invalid", f"{field} is not a number", field=field)
    if -exponent > places:
        raise WriteError(422, "invalid", f"{field} has more than {places} decimals", field=field)
    if not low <= number <= high:
        raise WriteError(422, "invalid", f"{field} must be between {low} and {high}", field=field)
    return number


def _date(field: str, value: Any) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _bad_date(field)
    except ValueError as exc:
        raise WriteError(422, "invalid", f"{field} is not an ISO date", field=field) from exc


def _bad_date(field: str) -> date:
    raise WriteError(422, "invalid", f"{field} is not an ISO date", field=field)


class ErpWrites:
    """The writable part of the ERP's state, and its write log."""

    def __init__(
        self,
        ds: DemoDataset,
        *,
        orders: ItemCache[SalesOrder],
        lines: ItemCache[OrderLine],
        products: ItemCache[Product],
    ) -> None:
        """Wrap ``ds`` (mutated in place) and the dump caches that must forget changed rows."""
        self.ds = ds
        self._caches = (orders, lines, products)
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._original = copy.deepcopy((ds.orders, ds.order_lines, ds.lines_by_order))
        self._touched_orders: set[str] = set()
        self._touched_lines: set[str] = set()

    # -- Python accessors
    def write_log(self) -> list[dict[str, Any]]:
        """Applied writes, oldest first."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        """Forget the write log."""
        with self._lock:
            self._log.clear()

    def reset_data(self) -> None:
        """Restore orders and lines as generated (the log is kept)."""
        with self._lock:
            orders, lines, by_order = self._original
            for number in self._touched_orders:
                self.ds.orders[number] = orders[number]
                self.ds.lines_by_order[number] = list(by_order.get(number, []))
            for line_id in self._touched_lines:
                if line_id in lines:
                    self.ds.order_lines[line_id] = lines[line_id]
                else:
                    self.ds.order_lines.pop(line_id, None)
            self._touched_orders.clear()
            self._touched_lines.clear()
            for cache in self._caches:
                cache.forget()

    # -- parsing and pricing
    def _order(self, number: str) -> SalesOrder:
        order = self.ds.orders.get(number)
        if order is None:
            raise WriteError(404, "not_found", f"order {number} not found")
        return order

    def _line(self, line_id: str) -> OrderLine:
        line = self.ds.order_lines.get(line_id)
        if line is None:
            raise WriteError(404, "not_found", f"order line {line_id} not found")
        return line

    @staticmethod
    def _check_unlocked(order: SalesOrder) -> None:
        if order.locked:
            raise WriteError(
                409, "order_locked", f"order {order.number} is {order.status}", status=order.status
            )

    def _values(self, body: Any, *, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise WriteError(422, "invalid", "the body must be a JSON object", field="body")
        unknown = set(body) - set(allowed)
        if unknown:
            field = sorted(unknown)[0]
            raise WriteError(422, "invalid", f"unknown field {field}", field=field)
        values: dict[str, Any] = {}
        for name, raw in body.items():
            if raw is None:
                continue
            if name == "quantity":
                values[name] = _decimal(name, raw, 3, Decimal("0.001"), Decimal("1000000000"))
            elif name == "discount_percent":
                values[name] = _decimal(name, raw, 2, Decimal(0), Decimal(100))
            elif name == "unit_price":
                values[name] = _decimal(name, raw, 4, Decimal(0), Decimal("1000000000"))
            elif name == "delivery_date":
                values[name] = _date(name, raw)
            elif name in ("product", "description"):
                if not isinstance(raw, str) or not raw or len(raw) > 2000:
                    raise WriteError(
                        422, "invalid", f"{name} must be a non-empty string", field=name
                    )
                values[name] = raw
            elif name == "expected_version":
                if isinstance(raw, bool) or not isinstance(raw, int):
                    raise WriteError(
                        422, "invalid", "expected_version must be an integer", field=name
                    )
                values[name] = raw
        return values

    def _price(
        self, order: SalesOrder, base: OrderLine | None, values: dict[str, Any]
    ) -> OrderLine:
        sku = values.get("product", base.product if base else None)
        product = self.ds.products.get(sku or "")
        if product is None:
            raise WriteError(404, "unknown_product", f"unknown product {sku}", field="product")
        if "unit_price" in values and not product.manual_price:
            raise WriteError(
                422,
                "manual_price_not_allowed",
                f"product {product.sku} is priced by its price list",
                field="unit_price",
            )
        if "unit_price" in values:
            unit_price = values["unit_price"]
        elif base is not None and base.product == product.sku and product.manual_price:
            unit_price = base.unit_price
        else:
            listed = product.prices.get(order.currency)
            if listed is None:
                raise WriteError(
                    422,
                    "invalid",
                    f"no price for {product.sku} in {order.currency}",
                    field="product",
                )
            unit_price = listed
        customer = self.ds.customers[order.customer]
        discount = values.get(
            "discount_percent", base.discount_percent if base else customer.discount_percent
        )
        quantity = values.get("quantity", base.quantity if base else None)
        if quantity is None:
            raise WriteError(422, "invalid", "quantity is required", field="quantity")
        delivery = values.get(
            "delivery_date", base.delivery_date if base else order.order_date + timedelta(days=14)
        )
        if delivery < order.order_date:
            raise WriteError(
                422, "invalid", "delivery_date is before the order date", field="delivery_date"
            )
        amount = (quantity * unit_price * (1 - discount / 100)).quantize(CENT, ROUND_HALF_UP)
        return OrderLine(
            id=base.id if base else "",
            order=order.number,
            product=product.sku,
            description=values.get("description", base.description if base else product.name),
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount,
            amount=amount,
            currency=order.currency,
            delivery_date=delivery,
            version=base.version if base else 0,
        )

    def _totals(self, order: SalesOrder, lines: list[OrderLine], bump: bool) -> SalesOrder:
        untaxed = sum((line.amount for line in lines), Decimal("0.00"))
        tax = (untaxed * TAX_RATE).quantize(CENT, ROUND_HALF_UP)
        return dataclasses.replace(
            order,
            total_untaxed=untaxed,
            tax=tax,
            total=untaxed + tax,
            line_count=len(lines),
            version=order.version + 1 if bump else order.version,
        )

    def _lines_of(self, order: str) -> list[OrderLine]:
        return [self.ds.order_lines[i] for i in self.ds.lines_by_order.get(order, [])]

    def _dump(self, line: OrderLine | None, order: SalesOrder) -> dict[str, Any]:
        orders, lines, _ = self._caches
        return {"line": None if line is None else lines.dump(line), "order": orders.dump(order)}

    def _render(self, line: OrderLine, order: SalesOrder) -> dict[str, Any]:
        """A preview's answer: rendered afresh, never from (or into) the dump caches."""
        orders, lines, _ = self._caches
        return {"line": lines.render(line), "order": orders.render(order)}

    def _store(self, order: SalesOrder, line: OrderLine | None, removed: str | None) -> None:
        orders, lines, _ = self._caches
        self._touched_orders.add(order.number)
        self._touched_lines.update(i for i in (line.id if line else None, removed) if i)
        self.ds.orders[order.number] = order
        orders.forget(order.number)
        if line is not None:
            self.ds.order_lines[line.id] = line
            ids = self.ds.lines_by_order.setdefault(order.number, [])
            if line.id not in ids:
                ids.append(line.id)
            lines.forget(line.id)
        if removed is not None:
            del self.ds.order_lines[removed]
            self.ds.lines_by_order[order.number].remove(removed)
            lines.forget(removed)

    def _log_write(
        self, method: str, path: str, order: str, line: str, key: str | None, fields: list[str]
    ) -> None:
        self._log.append(
            {
                "seq": len(self._log) + 1,
                "at": datetime.now(UTC).isoformat(),
                "method": method,
                "path": path,
                "order": order,
                "line": line,
                "idempotency_key": key,
                "fields": fields,
                "outcome": "applied",
            }
        )

    # -- operations
    def add(self, number: str, body: Any, key: str | None, *, preview: bool) -> dict[str, Any]:
        """Add (or preview adding) a line to order ``number``."""
        with self._lock:
            values = self._values(body, allowed=LINE_FIELDS)
            if "product" not in values:
                raise WriteError(422, "invalid", "product is required", field="product")
            order = self._order(number)
            self._check_unlocked(order)
            priced = self._price(order, None, values)
            lines = self._lines_of(number)
            if preview:
                new = dataclasses.replace(priced, id="", version=0)
                answer = self._render(new, self._totals(order, [*lines, new], bump=False))
                answer["line"]["id"] = None
                answer["line"]["version"] = None
                return answer
            next_id = max((int(i) for i in self.ds.order_lines), default=0) + 1
            new = dataclasses.replace(priced, id=str(next_id), version=1)
            updated = self._totals(order, [*lines, new], bump=True)
            self._store(updated, new, None)
            self._log_write("POST", f"/orders/{number}/lines", number, new.id, key, sorted(values))
            return self._dump(new, updated)

    def change(self, line_id: str, body: Any, key: str | None, *, preview: bool) -> dict[str, Any]:
        """Change (or preview changing) line ``line_id`` at its expected version."""
        with self._lock:
            values = self._values(body, allowed=(*LINE_FIELDS[1:], "expected_version"))
            expected = values.pop("expected_version", None)
            if not preview and expected is None:
                raise WriteError(
                    422, "invalid", "expected_version is required", field="expected_version"
                )
            if not values:
                raise WriteError(422, "invalid", "nothing to change", field="body")
            line = self._line(line_id)
            order = self._order(line.order)
            self._check_unlocked(order)
            if expected is not None and expected != line.version:
                _, lines_cache, _ = self._caches
                raise WriteError(
                    409,
                    "version_conflict",
                    f"line {line_id} is at version {line.version}, not {expected}",
                    current=lines_cache.dump(line),
                )
            priced = self._price(order, line, values)
            others = [ln for ln in self._lines_of(order.number) if ln.id != line_id]
            if preview:
                return self._render(priced, self._totals(order, [*others, priced], bump=False))
            changed = dataclasses.replace(priced, version=line.version + 1)
            updated = self._totals(order, [*others, changed], bump=True)
            self._store(updated, changed, None)
            self._log_write(
                "PATCH", f"/order-lines/{line_id}", order.number, line_id, key, sorted(values)
            )
            return self._dump(changed, updated)

    def remove(self, line_id: str, expected: Any, key: str | None) -> dict[str, Any]:
        """Remove line ``line_id`` at its expected version."""
        with self._lock:
            if expected is None or not str(expected).isdigit():
                raise WriteError(
                    422, "invalid", "expected_version must be an integer", field="expected_version"
                )
            line = self._line(line_id)
            order = self._order(line.order)
            self._check_unlocked(order)
            if int(expected) != line.version:
                _, lines_cache, _ = self._caches
                raise WriteError(
                    409,
                    "version_conflict",
                    f"line {line_id} is at version {line.version}, not {expected}",
                    current=lines_cache.dump(line),
                )
            removed = self._lines_of(order.number)
            updated = self._totals(order, [ln for ln in removed if ln.id != line_id], bump=True)
            answer = self._dump(line, updated)
            self._store(updated, None, line_id)
            answer["order"] = self._dump(None, updated)["order"]
            self._log_write("DELETE", f"/order-lines/{line_id}", order.number, line_id, key, [])
            return answer


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise WriteError(400, "bad_request", "the body is not valid JSON") from exc


def register_writes(
    app: FastAPI,
    ds: DemoDataset,
    *,
    orders: ItemCache[SalesOrder],
    lines: ItemCache[OrderLine],
    products: ItemCache[Product],
) -> ErpWrites:
    """Add the write, preview, write-log and reset routes to the ERP ``app``."""
    writes = ErpWrites(ds, orders=orders, lines=lines, products=products)
    app.state.writes = writes

    def key_of(request: Request) -> str | None:
        return request.headers.get("idempotency-key")

    async def run(action: Any, status: int = 200) -> Response:
        try:
            return json_response(await action(), status)
        except WriteError as error:
            return error.response()

    @app.post("/orders/{number}/lines", status_code=201, tags=["erp-writes"])
    async def add_line(number: str, request: Request) -> Response:
        """Add a line; the ERP prices it. 201 with the line and the order's new totals."""

        async def action() -> dict[str, Any]:
            return writes.add(number, await _json_body(request), key_of(request), preview=False)

        return await run(action, 201)

    @app.post("/orders/{number}/lines/preview", tags=["erp-writes"])
    async def preview_add(number: str, request: Request) -> Response:
        """Price a new line without saving it."""

        async def action() -> dict[str, Any]:
            return writes.add(number, await _json_body(request), None, preview=True)

        return await run(action)

    @app.patch("/order-lines/{line_id}", tags=["erp-writes"])
    async def change_line(line_id: str, request: Request) -> Response:
        """Change a line at ``expected_version``; 409 version_conflict carries ``current``."""

        async def action() -> dict[str, Any]:
            return writes.change(line_id, await _json_body(request), key_of(request), preview=False)

        return await run(action)

    @app.post("/order-lines/{line_id}/preview", tags=["erp-writes"])
    async def preview_change(line_id: str, request: Request) -> Response:
        """Price a change of a line without saving it."""

        async def action() -> dict[str, Any]:
            return writes.change(line_id, await _json_body(request), None, preview=True)

        return await run(action)

    @app.delete("/order-lines/{line_id}", tags=["erp-writes"])
    async def remove_line(line_id: str, request: Request) -> Response:
        """Remove a line at ``expected_version`` (query parameter)."""

        async def action() -> dict[str, Any]:
            expected = request.query_params.get("expected_version")
            return writes.remove(line_id, expected, key_of(request))

        return await run(action)

    @app.get("/_writes", include_in_schema=False)
    async def write_log() -> Response:
        entries = writes.write_log()
        return json_response({"writes": entries, "total": len(entries)})

    @app.post("/_writes/reset", include_in_schema=False)
    async def reset_write_log() -> Response:
        writes.reset_log()
        return json_response({"writes": [], "total": 0})

    @app.post("/_reset-data", include_in_schema=False)
    async def reset_data() -> Response:
        writes.reset_data()
        return json_response({"reset": True})

    return writes
