"""``exact_money`` is ``Money`` without the repeated checks, never without the checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sources.money import Money, exact_money


def test_exact_money_is_the_same_value_as_money() -> None:
    first = exact_money(Decimal("12.50"), "NOK")  # the first of a code takes Money's checks
    again = exact_money(Decimal("0.10"), "NOK")
    assert first == Money(Decimal("12.50"), "NOK")
    assert again == Money(Decimal("0.10"), "NOK")
    assert type(again) is Money and hash(again) == hash(Money(Decimal("0.10"), "NOK"))
    with pytest.raises(AttributeError):  # still frozen
        again.amount = Decimal(1)  # type: ignore[misc]


@pytest.mark.parametrize("currency", ["nok", "NOKK", "N0K", ""])
def test_a_malformed_currency_is_refused_however_often_it_comes(currency: str) -> None:
    for _ in range(2):
        with pytest.raises(ValueError):
            exact_money(Decimal(1), currency)


def test_an_amount_that_is_no_decimal_takes_money_s_own_checks() -> None:
    exact_money(Decimal(1), "EUR")
    with pytest.raises(TypeError):
        exact_money(1.5, "EUR")  # type: ignore[arg-type]
