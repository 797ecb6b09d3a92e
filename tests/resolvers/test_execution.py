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
class Item:
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
    def items(self) -> list[Item]:
        return [
            item("a"),
            item("b", note="n", colour=Colour.RED),
            item("c", required=None),  # a non-null field that is null: an error
            item("d", count="not a number"),  # does not serialise: an error
        ]


QUERIES = [
    "{ items { key count price colour note } }",
    "{ items { key required } }",
    "{ items { key count } }",
    "{ items { key secret shout(times: 2) __typename } }",
    "{ items { ... on Item { k: key, c: colour } } }",
]


@pytest.mark.parametrize("query", QUERIES)
def test_answers_and_errors_match_the_standard_execution(query: str) -> None:
    standard = strawberry.Schema(query=Query)
    lean = strawberry.Schema(query=Query, execution_context_class=LeanExecutionContext)
    expected, got = standard.execute_sync(query), lean.execute_sync(query)
    assert got.data == expected.data
    assert [(e.message, e.path) for e in got.errors or []] == [
        (e.message, e.path) for e in expected.errors or []
    ]
