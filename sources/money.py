"""Money: an exact decimal amount with its ISO 4217 currency code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency. Never a float; never summed across currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money amounts must be Decimal, not float")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")


def sum_by_currency(amounts: Iterable[Money]) -> list[Money]:
    """Add amounts per currency; one ``Money`` per currency seen, sorted by currency code."""
    totals: dict[str, Decimal] = {}
    for money in amounts:
        totals[money.currency] = totals.get(money.currency, Decimal(0)) + money.amount
    return [Money(totals[code], code) for code in sorted(totals)]
