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
        if self.currency not in _CHECKED_CODES:
            code = self.currency
            if (
                not isinstance(code, str)
                or len(code) != 3
                or not code.isalpha()
                or not code.isupper()
            ):
                raise ValueError(f"not an ISO 4217 currency code: {code!r}")
            if len(_CHECKED_CODES) < 1000:
                _CHECKED_CODES.add(code)


_CHECKED_CODES: set[str] = set()
"""Currency codes already found well-formed (a money is built per amount read)."""

_new_money = object.__new__
_set_amount = Money.__dict__["amount"].__set__
_set_currency = Money.__dict__["currency"].__set__


def exact_money(amount: Decimal, currency: str) -> Money:
    """``Money(amount, currency)`` for an amount already known to be a ``Decimal`` (a
    translator's converted value), made without the per-field checks of the frozen
    constructor once ``currency`` has been found well-formed; the same value either way."""
    if currency not in _CHECKED_CODES or type(amount) is not Decimal:
        return Money(amount, currency)
    money: Money = _new_money(Money)
    _set_amount(money, amount)
    _set_currency(money, currency)
    return money


def sum_by_currency(amounts: Iterable[Money]) -> list[Money]:
    """Add amounts per currency; one ``Money`` per currency seen, sorted by currency code."""
    totals: dict[str, Decimal] = {}
    for money in amounts:
        totals[money.currency] = totals.get(money.currency, Decimal(0)) + money.amount
    return [Money(totals[code], code) for code in sorted(totals)]
