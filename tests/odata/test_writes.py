"""Order-line edits through the OData source against SAP CAP: the line's ETag in If-Match,
a change made in CAP between read and edit is CONFLICT with the current line and nothing
written, a PATCH on a line deleted meanwhile (CAP answers 412) is NOT_FOUND, a write
without a version (CAP answers 428) is CONFLICT with the current line, and OData error
bodies become Keylink's codes. Each test edits a line of an order it adds to the draft."""

from __future__ import annotations

from decimal import Decimal

import httpx

from sources.errors import Conflict, NotFound, Rejected
from sources.odata import OdataSource
from sources.records import LineChanges, LineDraft, OrderLine
from tests.support.contract import Seeded
from tests.support.contract_odata import PASSWORD, USER, CapServer, odata_adapter


def _cap(server: CapServer) -> httpx.Client:
    """Another user of CAP, changing it directly (as someone in the ERP would)."""
    return httpx.Client(base_url=server.url + "/", auth=(USER, PASSWORD), timeout=10)


async def _new_line(adapter: OdataSource, seeded: Seeded, text: str) -> OrderLine:
    draft = seeded.orders["draft"].key
    written = await adapter.add_order_line(
        draft,
        LineDraft(product_key="P-9001", quantity=Decimal(2), description=text),
        idempotency_key=text,
    )
    assert written.line is not None and written.line.version.startswith('W/"')
    assert written.line.amount.amount == Decimal("80.00")  # priced by CAP: 2 x 40.00
    return written.line


async def test_a_change_in_cap_between_read_and_edit_is_a_conflict_and_nothing_is_written(
    cap: tuple[CapServer, Seeded],
) -> None:
    server, seeded = cap
    adapter = odata_adapter(server.url)
    try:
        line = await _new_line(adapter, seeded, "read then edited")
        with _cap(server) as other:
            answer = other.patch(
                f"A_SalesOrderItem('{line.key}')",
                json={"SalesOrderItemText": "changed in the ERP"},
                headers={"If-Match": line.version},
            )
            assert answer.status_code == 200, answer.text
        try:
            await adapter.change_order_line(
                line.key,
                LineChanges(quantity=Decimal(5)),
                version=line.version,
                idempotency_key="stale",
            )
        except Conflict as conflict:
            current = conflict.current
            assert isinstance(current, OrderLine)
            assert current.description == "changed in the ERP"
            assert current.version != line.version and current.quantity == Decimal(2)
        else:
            raise AssertionError("a stale ETag was accepted")
        after = (await adapter.order_lines_by_key([line.key]))[line.key]
        assert after.quantity == Decimal(2) and after.description == "changed in the ERP"
    finally:
        await adapter.aclose()


async def test_an_edit_of_a_line_deleted_meanwhile_is_not_found(
    cap: tuple[CapServer, Seeded],
) -> None:
    server, seeded = cap
    adapter = odata_adapter(server.url)
    try:
        line = await _new_line(adapter, seeded, "deleted meanwhile")
        with _cap(server) as other:
            gone = other.delete(
                f"A_SalesOrderItem('{line.key}')", headers={"If-Match": line.version}
            )
            assert gone.status_code == 204, gone.text
            again = other.patch(
                f"A_SalesOrderItem('{line.key}')",
                json={"RequestedQuantity": 3},
                headers={"If-Match": line.version},
            )
            assert again.status_code == 412  # what CAP answers for a key that no longer exists
        for attempt in ("change", "remove"):
            try:
                if attempt == "change":
                    await adapter.change_order_line(
                        line.key,
                        LineChanges(quantity=Decimal(3)),
                        version=line.version,
                        idempotency_key="gone",
                    )
                else:
                    await adapter.remove_order_line(
                        line.key, version=line.version, idempotency_key="gone"
                    )
            except NotFound:
                continue
            raise AssertionError(f"{attempt} of a deleted line did not say NOT_FOUND")
    finally:
        await adapter.aclose()


async def test_a_write_without_a_version_is_a_conflict_carrying_the_current_line(
    cap: tuple[CapServer, Seeded],
) -> None:
    server, seeded = cap
    adapter = odata_adapter(server.url)
    try:
        line = await _new_line(adapter, seeded, "no version")
        try:
            await adapter.change_order_line(
                line.key, LineChanges(quantity=Decimal(9)), version="", idempotency_key="none"
            )
        except Conflict as conflict:  # CAP answered 428: If-Match required
            assert isinstance(conflict.current, OrderLine)
            assert conflict.current.version == line.version
        else:
            raise AssertionError("a write without If-Match was accepted")
        assert (await adapter.order_lines_by_key([line.key]))[line.key].quantity == Decimal(2)
    finally:
        await adapter.aclose()


async def test_change_and_remove_with_the_etag_and_the_totals_the_service_computed(
    cap: tuple[CapServer, Seeded],
) -> None:
    server, seeded = cap
    adapter = odata_adapter(server.url)
    try:
        line = await _new_line(adapter, seeded, "changed and removed")
        before = (await adapter.sales_orders([line.order_key]))[line.order_key]
        changed = await adapter.change_order_line(
            line.key,
            LineChanges(quantity=Decimal("2.5"), discount_percent=Decimal(10)),
            version=line.version,
            idempotency_key="change",
        )
        assert changed.line is not None
        assert changed.line.amount.amount == Decimal("90.00")  # 2.5 x 40.00 less 10 %
        assert changed.order.total_untaxed.amount == before.total_untaxed.amount + Decimal(10)
        assert changed.order.total.amount == changed.order.total_untaxed.amount * Decimal("1.25")
        removed = await adapter.remove_order_line(
            line.key, version=changed.line.version, idempotency_key="remove"
        )
        assert removed.line is None
        assert removed.order.total_untaxed.amount == before.total_untaxed.amount - Decimal(80)
        assert line.key not in await adapter.order_lines_by_key([line.key])
    finally:
        await adapter.aclose()


async def test_odata_error_bodies_become_keylinks_codes(cap: tuple[CapServer, Seeded]) -> None:
    server, seeded = cap
    adapter = odata_adapter(server.url)
    try:
        quotation = seeded.orders["quotation"].key
        for order, draft, code, field in (
            (
                quotation,
                LineDraft(product_key="P-9001", quantity=Decimal(1)),
                "ORDER_LOCKED",
                "order",
            ),
            (
                seeded.orders["draft"].key,
                LineDraft(product_key="NO-SUCH", quantity=Decimal(1)),
                "BAD_INPUT",
                "product",
            ),
        ):
            try:
                await adapter.add_order_line(order, draft, idempotency_key=code)
            except Rejected as refused:
                assert (refused.code, refused.field) == (code, field)
                assert refused.message and "HTTP" not in refused.message  # the ERP's words
            else:
                raise AssertionError(f"{code}: the add was accepted")
        try:
            await adapter.add_order_line(
                "NO-SUCH-ORDER",
                LineDraft(product_key="P-9001", quantity=Decimal(1)),
                idempotency_key="missing order",
            )
        except NotFound:
            pass
        else:
            raise AssertionError("an add to a missing order was accepted")
    finally:
        await adapter.aclose()
