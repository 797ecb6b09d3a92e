"""The GraphQL ``Money`` type: an exact decimal amount (a string on the wire) and currency."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import cast

import strawberry

from sources.money import Money, sum_by_currency


@strawberry.federation.type(
    name="Money", description="An exact amount in one ISO 4217 currency.", shareable=True
)
class MoneyType:
    """An amount as a decimal string plus its currency; never summed across currencies.

    ``@shareable``: another subgraph of a supergraph may define its own ``Money`` of the same
    shape (``amount: Decimal!``, ``currency: String!``).
    """

    amount: Decimal = strawberry.field(description="Exact decimal amount, as a string.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")


def money(value: Money | None) -> MoneyType | None:
    """The GraphQL form of a ``Money``, or ``None``."""
    return None if value is None else money_of(value)


def money_of(value: Money) -> MoneyType:
    """The GraphQL form of a ``Money``: the record's own ``Money``, served as is.

    The GraphQL ``Money`` type only reads ``amount`` and ``currency`` from the object it is
    given, and a ``sources.money.Money`` has exactly those (tests/resolvers/test_money_view.py
    holds the two to that), so the hundreds of amounts of a large answer are not copied
    into a second object each.
    """
    return cast(MoneyType, value)


def money_list(values: Iterable[Money]) -> list[MoneyType]:
    """The GraphQL form of amounts already summed per currency."""
    return [money_of(m) for m in values]


def per_currency(values: Iterable[Money]) -> list[MoneyType]:
    """One ``Money`` per currency: the sum of ``values`` in that currency."""
    return [money_of(m) for m in sum_by_currency(values)]
