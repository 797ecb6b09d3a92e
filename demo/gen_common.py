"""Shared helpers of the demo data generator: currencies, rounding and a date sampler."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

T = TypeVar("T")

CURRENCIES: tuple[str, ...] = ("NOK", "DKK", "EUR", "SEK", "PLN")
FX: dict[str, Decimal] = {
    "EUR": Decimal("1"),
    "NOK": Decimal("11.50"),
    "SEK": Decimal("11.20"),
    "DKK": Decimal("7.46"),
    "PLN": Decimal("4.30"),
}
CENT = Decimal("0.01")
TAX_RATE = Decimal("0.25")
HISTORY_DAYS = 913  # ~2.5 years


def money(value: Decimal) -> Decimal:
    """``value`` rounded half-up to cents (the ERP's rounding rule)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def eur_to(amount_eur: Decimal | float, currency: str, step: Decimal = CENT) -> Decimal:
    """An EUR amount converted into ``currency`` at the demo rate, rounded to ``step``."""
    raw = Decimal(str(amount_eur)) * FX[currency]
    return (raw / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * step + Decimal("0.00")


def weighted_index(rng: random.Random, cumulative: Sequence[float]) -> int:
    """Index drawn with probability proportional to the weights behind ``cumulative``."""
    return bisect_right(cumulative, rng.random() * cumulative[-1])


def pick(rng: random.Random, items: Sequence[T], cumulative: Sequence[float]) -> T:
    """An element of ``items`` drawn with the weights behind ``cumulative``."""
    return items[min(weighted_index(rng, cumulative), len(items) - 1)]


def same_day_last_year(day: date) -> date:
    """``day`` one year earlier (29 February maps to 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True, slots=True)
class Calendar:
    """Samples business dates in the ~2.5 years up to ``today``.

    Most dates are uniform over the history; a few are forced into this month, this year to
    date and the same period last year, so those periods are never empty.
    """

    today: date

    @property
    def first(self) -> date:
        """The oldest date the generator uses."""
        return self.today - timedelta(days=HISTORY_DAYS)

    def sample(self, rng: random.Random, min_age: int = 0) -> date:
        """A date between ``first`` and ``today - min_age`` days (both inclusive)."""
        newest = self.today - timedelta(days=min_age)
        roll = rng.random()
        if roll < 0.03:
            lo = self.today.replace(day=1)
        elif roll < 0.08:
            lo = self.today.replace(month=1, day=1)
        elif roll < 0.13:
            lo = self.today.replace(year=self.today.year - 1, month=1, day=1)
            newest = min(newest, same_day_last_year(self.today))
        else:
            lo = self.first
        lo = min(lo, newest)
        return lo + timedelta(days=rng.randint(0, (newest - lo).days))

    def between(self, rng: random.Random, lo: date, hi: date) -> date:
        """A uniform date in ``[lo, hi]`` (``hi`` clipped to ``today``)."""
        hi = min(hi, self.today)
        if hi <= lo:
            return hi
        return lo + timedelta(days=rng.randint(0, (hi - lo).days))


def weekday_on_or_before(day: date) -> date:
    """``day`` itself on Monday-Friday, else the Friday before."""
    wd = day.weekday()
    return day - timedelta(days=wd - 4) if wd > 4 else day


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def next_month_start(day: date) -> date:
    """The first day of the month after ``day``'s month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
