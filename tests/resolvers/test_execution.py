"""The lean execution gives exactly graphql-core's answers and errors."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pytest
import strawberry
from strawberry.permission import BasePermission

from resolvers.execution import LeanExecutionContext


@strawberry.enum
class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


class Never(BasePermission):
    message = "no"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Price:
    amount: Decimal
    currency: str


@strawberry.type
class Item:
    cost: Price
    maybe: Price | None
    key: str
    count: int
    price: Decimal
    colour: Colour
    note: str | None
    required: str  # some items break the schema's promise: None here must be an error
    secret: str = strawberry.field(default="s", permission_classes=[Never])

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.key.upper() * times


def item(key: str, **overrides: Any) -> Item:
    values: dict[str, Any] = {
        "cost": Price(amount=Decimal("2.00"), currency="EUR"),
        "maybe": None,
        "key": key,
        "count": 3,
        "price": Decimal("1.50"),
        "colour": Colour.BLUE,
        "note": None,
        "required": "r",
    }
    values.update(overrides)
    return Item(**values)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:  # a broken item nulls itself only
        return [
            item("a"),
            item("b", note="n", colour=Colour.RED),
            item("c", required=None),  # a non-null field that is null: an error
            item("d", count="not a number"),  # does not serialise: an error
            item("e", maybe=Price(amount=Decimal("1"), currency="NOK")),
            item("f", cost=Price(amount=Decimal("3"), currency=None)),  # type: ignore[arg-type]
        ]


QUERIES = [
    "{ items { key count price colour note } }",
    "{ items { key required } }",
    "{ items { key count } }",
    "{ items { key secret shout(times: 2) __typename } }",
    "{ items { ... on Item { k: key, c: colour } } }",
    "{ items { key cost { amount currency __typename } maybe { amount } } }",
    "{ items { c1: cost { a: amount } c2: cost { currency } maybe { currency } } }",
    "{ items { key cost { amount } count } }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_answers_and_errors_match_the_standard_execution(query: str) -> None:
    standard = strawberry.Schema(query=Query)
    lean = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    expected, got = standard.execute_sync(query), lean.execute_sync(query)
    # the items resolver itself works: every error is about one item's field
    assert all(len(e.path or ()) > 2 for e in expected.errors or []), expected.errors
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []
    ]


def test_plain_objects_take_the_one_step_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import resolvers.execution as execution

    calls = []
    original = execution._complete_plainly

    def counting(plan: Any, source: Any) -> Any:
        calls.append(source)
        return original(plan, source)

    per_item: list[Any] = []
    standard_item = LeanExecutionContext.complete_list_item_value

    def counting_items(self: Any, *args: Any) -> Any:
        per_item.append(args[0])
        return standard_item(self, *args)

    monkeypatch.setattr(execution, "_complete_plainly", counting)
    monkeypatch.setattr(LeanExecutionContext, "complete_list_item_value", counting_items)
    lean = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    result = lean.execute_sync("{ items { key cost { amount } } }")
    assert result.errors is None
    assert len([c for c in calls if isinstance(c, Item)]) == 6  # every item tried at once
    assert per_item == []  # the list completed in one loop, no per-item machinery

    calls.clear()
    result = lean.execute_sync("{ items { key cost { amount currency } } }")
    assert result.errors is not None  # item f's cost has no currency: reported as usual
    assert len(per_item) == 6  # that list went the standard way, item by item
