"""Products as Tryton sells them, with the stock on hand in each warehouse."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from decimal import Decimal

from sources.records import Product, StockLevel
from sources.tryton.common import Row, decimal, nested
from sources.tryton.core import TrytonCore


class CatalogueReads(TrytonCore):
    """Salable products by product code."""

    async def _warehouses(self) -> list[Row]:
        """The company's warehouses (Tryton ``stock.location`` of type warehouse)."""
        return await self.search_read(
            "stock.location", [["type", "=", "warehouse"]], ["name", "code"], [["id", "ASC"]]
        )

    async def products(self, keys: Sequence[str]) -> Mapping[str, Product]:
        """Salable products by product code, with the quantity on hand in each warehouse
        and in total, as Tryton's product form computes it (``quantity`` in the context
        of the warehouse's locations); services keep no stock (None)."""
        warehouses = await self._warehouses()

        async def read(batch: list[str]) -> list[Row]:
            return await self.search_read(
                "product.product",
                [["code", "in", batch], ["salable", "=", True]],
                ["code", "name", "type", "default_uom.rec_name"],
            )

        async def stock_in(warehouse: Row, codes: list[str]) -> dict[str, Decimal]:
            rows = await self._batched(
                codes,
                lambda batch: self.search_read(
                    "product.product",
                    [["code", "in", batch]],
                    ["code", "quantity"],
                    context={"locations": [warehouse["id"]], "with_childs": True},
                ),
            )
            return {row["code"]: decimal(row.get("quantity")) for row in rows}

        rows = await self._batched(keys, read)
        stocked = sorted(row["code"] for row in rows if row.get("type") != "service")
        levels = await asyncio.gather(*(stock_in(wh, stocked) for wh in warehouses))
        found: dict[str, Product] = {}
        for row in rows:
            code = row["code"]
            stock = None
            if row.get("type") != "service":
                stock = tuple(
                    StockLevel(
                        warehouse_key=str(wh.get("code") or wh["id"]),
                        warehouse_name=str(wh.get("name") or ""),
                        quantity=level.get(code, Decimal(0)),
                    )
                    for wh, level in zip(warehouses, levels, strict=True)
                )
            found[code] = Product(
                key=code,
                name=row["name"],
                unit=nested(row, "default_uom", "rec_name"),
                on_hand=None
                if stock is None
                else sum((level.quantity for level in stock), Decimal(0)),
                stock=stock,
            )
        return found


__all__ = ["CatalogueReads"]
