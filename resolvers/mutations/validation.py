"""Input checks done before anything is forwarded: bad input changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from resolvers.errors import KeylinkError

MAX_QUANTITY = Decimal("1000000000")
MAX_TEXT = 2000
MAX_KEY = 255
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


class InvalidEdit(KeylinkError):
    """An edit's input is invalid (``BAD_INPUT``); ``field`` names the input field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__("BAD_INPUT", message)
        self.field = field


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_quantity(value: Decimal | None, *, required: bool) -> None:
    """A positive quantity with at most 3 decimals."""
    if value is None:
        if required:
            raise InvalidEdit("quantity", "quantity is required")
        return
    if not value.is_finite() or value <= 0:
        raise InvalidEdit("quantity", "quantity must be greater than 0")
    if value > MAX_QUANTITY:
        raise InvalidEdit("quantity", f"quantity must be at most {MAX_QUANTITY}")
    if _places(value) > 3:
        raise InvalidEdit("quantity", "quantity may have at most 3 decimals")


def check_discount(value: Decimal | None) -> None:
    """A discount from 0 to 100 percent with at most 2 decimals."""
    if value is None:
        return
    if not value.is_finite() or value < 0 or value > 100:
        raise InvalidEdit("discountPercent", "discount must be between 0 and 100 percent")
    if _places(value) > 2:
        raise InvalidEdit("discountPercent", "discount may have at most 2 decimals")


def check_unit_price(value: Decimal | None) -> None:
    """A non-negative price with at most 4 decimals."""
    if value is None:
        return
    if not value.is_finite() or value < 0 or value > MAX_QUANTITY:
        raise InvalidEdit("unitPrice", "unit price must be between 0 and 1000000000")
    if _places(value) > 4:
        raise InvalidEdit("unitPrice", "unit price may have at most 4 decimals")


def check_date(value: date | None) -> None:
    """A plausible delivery date."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise InvalidEdit("deliveryDate", f"delivery date must be between {EARLIEST} and {LATEST}")


def check_text(
    field: str, value: str | None, *, limit: int = MAX_TEXT, required: bool = False
) -> None:
    """Text within ``limit`` characters, without control characters."""
    if value is None or value == "":
        if required:
            raise InvalidEdit(field, f"{field} is required")
        return
    if len(value) > limit:
        raise InvalidEdit(field, f"{field} may have at most {limit} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise InvalidEdit(field, f"{field} must not contain control characters")
