"""A record's ``Money`` is served as the GraphQL ``Money`` without a copy: that only holds
while the GraphQL type reads nothing a ``sources.money.Money`` lacks."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import strawberry

from resolvers.types.money import MoneyType, money_of
from sources.money import Money


def test_the_graphql_money_reads_only_what_a_record_money_has() -> None:
    definition = MoneyType.__strawberry_definition__  # type: ignore[attr-defined]
    graphql_reads = {field.python_name for field in definition.fields}
    assert graphql_reads <= {field.name for field in dataclasses.fields(Money)}
    assert all(field.base_resolver is None for field in definition.fields)


def test_a_record_money_answers_as_graphql_money() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def price(self) -> MoneyType:
            return money_of(Money(Decimal("12.50"), "NOK"))

    answer = strawberry.federation.Schema(Query).execute_sync("{ price { amount currency } }")
    assert answer.errors is None
    assert answer.data == {"price": {"amount": "12.50", "currency": "NOK"}}
