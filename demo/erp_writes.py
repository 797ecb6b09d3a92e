"""Order-line writes of the demo ERP: it validates, prices, recomputes totals, bumps
versions and refuses edits of locked orders, like a real ERP (see demo/API.md).

Every applied write is appended to a write log (``GET /_writes``) that tests count;
rejections and previews are not logged. ``POST /_reset-data`` restores the generated
order data. All state changes happen under one lock, read-validate-write in one step.
From Python: ``erp_writes(app)`` or ``DemoUpstreams.erp_writes`` (``write_log()``,
``reset_log()``, ``reset_data()``, ``line()``, ``order()``, ``lines_of()``).
"""

from __future__ import annotations

import dataclasses
import re
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
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
VERSION = re.compile(r"[1-9][0-9]{0,17}")
TAX_RATE = Decimal("0.25")
MAX_AMOUNT = Decimal(1_000_000_000)
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


def _tidy(number: Decimal, min_places: int) -> Decimal:
    """``number`` without trailing zeros beyond ``min_places`` decimals (never ``-0``)."""
    exponent = number.normalize().as_tuple().exponent
    places = max(-exponent if isinstance(exponent, int) else 0, min_places)
    return +number.quantize(Decimal(1).scaleb(-places))


def _date(field: str, value: Any) -> date:
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise WriteError(422, "invalid", f"{field} is not an ISO date (YYYY-MM-DD)", field=field)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise WriteError(422, "invalid", f"{field} is not a valid date", field=field) from exc


class ErpWrites:
    """The writable part of the ERP's state, and its write log.

    ``add``/``change``/``remove`` serve the HTTP routes and run in the server's thread;
    the accessors (``write_log``, ``reset_log``, ``reset_data``, ``line``, ``order``,
    ``lines_of``) are safe to call from any thread, e.g. a test's.
    """

    def __init__(
        self,
        ds: DemoDataset,
        *,
        orders: ItemCache[SalesOrder],
        lines: ItemCache[OrderLine],
        products: ItemCache[Product],
    ) -> None:
        """Wrap ``ds`` and the dump caches that must forget changed rows.

        ``ds.orders``, ``ds.order_lines`` and ``ds.lines_by_order`` are changed in place by
        writes; ``create_app`` hands in a dataset whose three dicts are the ERP's own copies,
        so the generated ``DemoDataset`` itself is never modified. Records are frozen and
        replaced, never mutated, so keeping the original dicts' contents is enough to reset.
        """
        self.ds = ds
        self._caches = (orders, lines, products)
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._original = (
            dict(ds.orders),
            dict(ds.order_lines),
            {number: list(ids) for number, ids in ds.lines_by_order.items()},
        )
        self._touched_orders: set[str] = set()
        self._touched_lines: set[str] = set()
        self._first_free_id = max((int(i) for i in ds.order_lines), default=0) + 1
        self._next_id = self._first_free_id

    # -- Python accessors
    def write_log(self) -> list[dict[str, Any]]:
        """Applied writes, oldest first (copies; the same entries ``GET /_writes`` lists)."""
        with self._lock:
            return [{**entry, "fields": list(entry["fields"])} for entry in self._log]

    def reset_log(self) -> None:
        """Forget the write log (``seq`` starts at 1 again)."""
        with self._lock:
            self._log.clear()

    def reset_data(self) -> None:
        """Restore orders and lines as generated (the write log is kept).

        The three dicts are replaced by fresh copies of the originals (one attribute
        assignment each), so a read running in the server thread at the same moment sees
        either the old or the restored dict, never one being rebuilt; key order (and thus
        list order) is the generated one again, and removed lines come back at their place.
        """
        with self._lock:
            if not self._touched_orders and not self._touched_lines:
                return
            orders, lines, by_order = self._original
            self.ds.orders = dict(orders)
            self.ds.order_lines = dict(lines)
            self.ds.lines_by_order = {number: list(ids) for number, ids in by_order.items()}
            orders_cache, lines_cache, _ = self._caches
            for number in self._touched_orders:
                orders_cache.forget(number)
            for line_id in self._touched_lines:
                lines_cache.forget(line_id)
            self._touched_orders.clear()
            self._touched_lines.clear()
            self._next_id = self._first_free_id

    def line(self, line_id: str) -> OrderLine | None:
        """The order line ``line_id`` as the ERP has it now, or None."""
        with self._lock:
            return self.ds.order_lines.get(line_id)

    def order(self, number: str) -> SalesOrder | None:
        """The order header ``number`` as the ERP has it now (totals, version), or None."""
        with self._lock:
            return self.ds.orders.get(number)

    def lines_of(self, number: str) -> list[OrderLine]:
        """The lines of order ``number`` as the ERP has them now, in line-id order."""
        with self._lock:
            return self._lines_of(number)

    # -- parsing and pricing
    def _order(self, number: str) -> SalesOrder:
        order = self.ds.orders.get(number)
        if order is None:
            raise WriteError(404, "not_found", f"order {number} not found", field="order")
        return order

    def _line(self, line_id: str) -> OrderLine:
        line = self.ds.order_lines.get(line_id)
        if line is None:
            raise WriteError(404, "not_found", f"order line {line_id} not found", field="line")
        return line

    @staticmethod
    def _check_unlocked(order: SalesOrder) -> None:
        if order.locked:
            raise WriteError(
                409,
                "order_locked",
                f"order {order.number} is {order.status}",
                field="order",
                status=order.status,
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
                quantity = _decimal(name, raw, 3, Decimal("0.001"), MAX_AMOUNT)
                values[name] = _tidy(quantity, 0)
            elif name == "discount_percent":
                values[name] = _tidy(_decimal(name, raw, 2, Decimal(0), Decimal(100)), 2)
            elif name == "unit_price":
                values[name] = _tidy(_decimal(name, raw, 4, Decimal(0), MAX_AMOUNT), 2)
            elif name == "delivery_date":
                values[name] = _date(name, raw)
            elif name in ("product", "description"):
                if not isinstance(raw, str) or not raw or len(raw) > 2000:
                    raise WriteError(
                        422, "invalid", f"{name} must be a non-empty string", field=name
                    )
                values[name] = raw
            elif name == "expected_version":
                if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                    raise WriteError(
                        422, "invalid", "expected_version must be an integer ≥ 1", field=name
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
            for required in ("product", "quantity"):
                if required not in values:
                    raise WriteError(422, "invalid", f"{required} is required", field=required)
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
            # After the highest id there is or was since the last reset: never reused, so a
            # stale reference to a removed line can never hit a new one.
            new = dataclasses.replace(priced, id=str(self._next_id), version=1)
            self._next_id += 1
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
            if not isinstance(expected, str) or not VERSION.fullmatch(expected):
                raise WriteError(
                    422,
                    "invalid",
                    "expected_version must be an integer ≥ 1",
                    field="expected_version",
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
            remaining = [ln for ln in self._lines_of(order.number) if ln.id != line_id]
            updated = self._totals(order, remaining, bump=True)
            self._store(updated, None, line_id)
            self._log_write("DELETE", f"/order-lines/{line_id}", order.number, line_id, key, [])
            orders_cache, lines_cache, _ = self._caches
            return {"line": lines_cache.render(line), "order": orders_cache.dump(updated)}


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


def erp_writes(app: FastAPI) -> ErpWrites:
    """The ``ErpWrites`` of an ERP app made by ``demo.erp.create_app`` (write log, reset)."""
    writes = getattr(app.state, "writes", None)
    if not isinstance(writes, ErpWrites):
        raise TypeError("not a demo ERP app")
    return writes
