"""Turning an upstream's JSON items into typed records, driven by a declarative field map.

A field map names, for each record field, where its value sits in an item and how to read
it. Forms accepted (YAML)::

    key: number                              # a dotted path into the item
    status: {path: state, map: {o: OPEN}}    # a value translation table (config, not code)
    total: {amount: total, currency: cur}    # Money from two paths
    budget: {amount: budget, currency: {const: NOK}}
    name: {const: "n/a"}                     # a constant

Values are converted by the record field's declared type: ``Decimal`` (from strings or
integers, never through float), ``date``, ``bool``, ``int``, ``str``, enums, ``Money``.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import operator
import threading
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sources.money import Money, exact_money

log = logging.getLogger("keylink.sources.translate")


class FieldSource(BaseModel):
    """Where one record field comes from in an upstream item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    const: Any = None
    map: dict[str, str] | None = None
    amount: str | None = None
    currency: str | FieldSource | None = None
    default: Any = None

    @model_validator(mode="after")
    def _one_origin(self) -> FieldSource:
        origins = [self.path is not None, self.const is not None, self.amount is not None]
        if sum(origins) != 1:
            raise ValueError("a field needs exactly one of 'path', 'const' or 'amount'")
        if self.amount is not None and self.currency is None:
            raise ValueError("a money field needs 'currency' beside 'amount'")
        return self


def parse_field_source(raw: str | Mapping[str, Any] | FieldSource) -> FieldSource:
    """Accept the short form (a path string) or the long form (a mapping)."""
    if isinstance(raw, FieldSource):
        return raw
    if isinstance(raw, str):
        return FieldSource(path=raw)
    data = dict(raw)
    if isinstance(data.get("currency"), Mapping):
        data["currency"] = FieldSource(**data["currency"])
    return FieldSource(**data)


class FieldMap(BaseModel):
    """The complete mapping from upstream items to one record type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: dict[str, FieldSource] = Field(default_factory=dict)


class TranslationError(ValueError):
    """An upstream item could not be read into a record (missing or malformed value)."""


_MISSING = object()
T = TypeVar("T")


def lookup(item: Any, path: str) -> Any:
    """The value at a dotted ``path`` in nested mappings, or a missing marker."""
    value = item
    for part in path.split("."):
        if (type(value) is dict or isinstance(value, Mapping)) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def _raw_value(item: Mapping[str, Any], source: FieldSource) -> Any:
    if source.const is not None:
        return source.const
    assert source.path is not None
    value = lookup(item, source.path)
    if value is _MISSING or value is None:
        return source.default
    if source.map is not None:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text not in source.map:
            raise TranslationError(f"{source.path}: no translation for value {text!r}")
        return source.map[text]
    return value


def _money(item: Mapping[str, Any], source: FieldSource) -> Money | None:
    assert source.amount is not None and source.currency is not None
    amount = lookup(item, source.amount)
    if amount is _MISSING or amount is None:
        return None
    currency_source = (
        source.currency
        if isinstance(source.currency, FieldSource)
        else FieldSource(path=source.currency)
    )
    currency = _raw_value(item, currency_source)
    if currency is None:
        raise TranslationError(f"{source.amount}: amount without currency")
    return Money(to_decimal(amount), str(currency).upper())


def to_decimal(value: Any) -> Decimal:
    """An exact Decimal from a JSON string or integer; floats are read via their repr."""
    if isinstance(value, bool):
        raise TranslationError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise TranslationError(f"not a number: {value!r}") from exc


def _convert(value: Any, target: Any) -> Any:
    origin = typing.get_origin(target)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(target) if arg is not type(None)]
        if value is None:
            return None
        return _convert(value, options[0])
    return _convert_scalar(value, target)


def _convert_scalar(value: Any, target: Any) -> Any:
    if value is None:
        raise TranslationError("required value missing")
    if target is Decimal:
        return to_decimal(value)
    if target is date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError as exc:
            raise TranslationError(f"not a date: {value!r}") from exc
    if target is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise TranslationError(f"not a boolean: {value!r}")
    if target is int:
        return int(value)
    if target is str:
        return str(value)
    if isinstance(target, type) and issubclass(target, enum.Enum):
        try:
            return target(str(value).upper())
        except ValueError as exc:
            raise TranslationError(f"unknown {target.__name__}: {value!r}") from exc
    return value


_TYPE_HINTS: dict[type, dict[str, Any]] = {}


def _field_types(record_type: type) -> dict[str, Any]:
    hints = _TYPE_HINTS.get(record_type)
    if hints is None:
        hints = _TYPE_HINTS[record_type] = typing.get_type_hints(record_type)
    return hints


Reader = typing.Callable[[Mapping[str, Any]], Any]
_PLANS: dict[tuple[type, int], tuple[FieldMap, list[tuple[str, Reader]]]] = {}
_BUILDERS: dict[tuple[type, int], tuple[FieldMap, Reader]] = {}


def build_record(record_type: type[T], item: Mapping[str, Any], field_map: FieldMap) -> T:
    """One record of ``record_type`` from an upstream item, or ``TranslationError``.

    Record fields the map does not mention take the record's default; a required field
    that is neither mapped nor defaulted is an error in the map.
    """
    cached = _BUILDERS.get((record_type, id(field_map)))
    if cached is None or cached[0] is not field_map:
        cached = (field_map, _fast_builder(record_type, field_map))
        _BUILDERS[(record_type, id(field_map))] = cached
    try:
        record: T = cached[1](item)
        return record
    except Exception:  # the careful path below says precisely what is wrong
        return _build_carefully(record_type, item, field_map)


def _build_carefully(record_type: type[T], item: Mapping[str, Any], field_map: FieldMap) -> T:
    values: dict[str, Any] = {}
    for name, read in _plan(record_type, field_map):
        try:
            values[name] = read(item)
        except TranslationError as exc:
            raise TranslationError(f"{record_type.__name__}.{name}: {exc}") from exc
    try:
        return record_type(**values)
    except TypeError as exc:
        raise TranslationError(f"{record_type.__name__}: {exc}") from exc


def _plan(record_type: type, field_map: FieldMap) -> list[tuple[str, Reader]]:
    """One reader per mapped field, worked out once per (record type, field map)."""
    cached = _PLANS.get((record_type, id(field_map)))
    if cached is not None and cached[0] is field_map:
        return cached[1]
    assert dataclasses.is_dataclass(record_type)
    hints = _field_types(record_type)
    plan: list[tuple[str, Reader]] = []
    for record_field in dataclasses.fields(record_type):
        source = field_map.fields.get(record_field.name)
        if source is not None:
            plan.append((record_field.name, _reader(source, hints[record_field.name])))
    _PLANS[(record_type, id(field_map))] = (field_map, plan)
    return plan


def _reader(source: FieldSource, target: Any) -> Reader:
    """A function reading ``source`` from an item and converting it to ``target``."""
    if source.amount is not None:
        return _money_reader(source, optional=_optional(target))
    convert = _converter(target)
    if source.path is not None and "." not in source.path and source.map is None:
        # the common case, a top-level key read as is: one function, no inner calls
        key, default = source.path, source.default

        def read_key(item: Mapping[str, Any]) -> Any:
            value = item.get(key) if type(item) is dict else lookup(item, key)
            return convert(default if value is None or value is _MISSING else value)

        return read_key
    raw = _raw_reader(source, unknown=_unknown_member(target) if source.map else None)
    return lambda item: convert(raw(item))


def _unknown_member(target: Any) -> str | None:
    """``"UNKNOWN"`` when ``target`` (or its optional form) is an enum with such a member:
    a value its translation table does not know then reads as UNKNOWN, never as an error
    and never as a guess (the record keeps the raw value where its map says so)."""
    options = [arg for arg in typing.get_args(target) if arg is not type(None)] or [target]
    kind = options[0]
    if isinstance(kind, type) and issubclass(kind, enum.Enum) and "UNKNOWN" in kind.__members__:
        return "UNKNOWN"
    return None


def _path_reader(path: str) -> Reader:
    parts = path.split(".")
    if len(parts) == 1:
        key = parts[0]
        # JSON objects decode to plain dicts: skip the (slow) abstract Mapping check for them
        return lambda item: (
            item.get(key, _MISSING) if type(item) is dict or isinstance(item, Mapping) else _MISSING
        )
    return lambda item: lookup(item, path)


def _raw_reader(source: FieldSource, unknown: str | None = None) -> Reader:
    if source.const is not None:
        const = source.const
        return lambda _item: const
    assert source.path is not None
    at, default, table, path = _path_reader(source.path), source.default, source.map, source.path

    def read(item: Mapping[str, Any]) -> Any:
        value = at(item)
        if value is _MISSING or value is None:
            return default
        if table is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if text not in table:
                if unknown is not None:
                    return unknown
                raise TranslationError(f"{path}: no translation for value {text!r}")
            return table[text]
        return value

    return read


def _money_reader(source: FieldSource, *, optional: bool) -> Reader:
    assert source.amount is not None and source.currency is not None
    amount_at, amount_path = _path_reader(source.amount), source.amount
    currency_of = _raw_reader(
        source.currency
        if isinstance(source.currency, FieldSource)
        else FieldSource(path=source.currency)
    )

    def read(item: Mapping[str, Any]) -> Money | None:
        amount = amount_at(item)
        if amount is _MISSING or amount is None:
            if not optional:
                raise TranslationError("required amount missing")
            return None
        currency = currency_of(item)
        if currency is None:
            raise TranslationError(f"{amount_path}: amount without currency")
        return Money(to_decimal(amount), str(currency).upper())

    return read


def _converter(target: Any) -> typing.Callable[[Any], Any]:
    """``_convert`` for one target type, with the type inspection done once."""
    origin = typing.get_origin(target)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(target) if arg is not type(None)]
        inner = _converter(options[0])
        return lambda value: None if value is None else inner(value)
    if target is str:
        return lambda value: value if type(value) is str else _convert_scalar(value, str)
    if target is Decimal:
        return lambda value: (
            to_decimal(value) if value is not None else _convert_scalar(None, target)
        )
    return lambda value: _convert_scalar(value, target)


def _optional(target: Any) -> bool:
    return type(None) in typing.get_args(target)


# The fast builder. ``build_record`` first tries a builder worked out once per (record type,
# field map) from plain data and builtins: no source text is generated or executed. It reads
# every top-level value with ``map(item.get, keys)``, looks the values' types up in a table of
# plans (one per combination of value types met, made on first sight), and converts them with
# ``map(operator.call, converters, values)``, where each converter is chosen for that value
# type and is mostly a builtin (``str``, ``int``, ``Decimal``, a dict's ``__getitem__``). A
# converter gives what the careful path gives for every value of its type, or raises; on any
# exception ``build_record`` takes the careful path, which then names the problem precisely.


def _same(value: Any) -> Any:
    """The converter of a value that needs none: the fast builder leaves such values be
    (a null for an optional field without a default, a text for a text field...)."""
    return value


class _Dates(dict[str, date]):
    """ISO text -> date, parsed once per distinct text (upstreams repeat their dates)."""

    __slots__ = ()

    def __missing__(self, text: str) -> date:
        value = date.fromisoformat(text[:10])
        if len(self) >= 4096:
            self.clear()
        self[text] = value
        return value


_DATES = _Dates()


class _Table(dict[str, Any]):
    """A translation table with its values converted, reading an unknown text as its
    enum's UNKNOWN member."""

    __slots__ = ("unknown",)

    def __init__(self, table: Mapping[str, Any], unknown: Any) -> None:
        super().__init__(table)
        self.unknown = unknown

    def __missing__(self, text: str) -> Any:
        return self.unknown


def _converted_table(table: Mapping[str, str], kind: Any) -> dict[str, Any] | None:
    """``table`` with its values already converted to ``kind``, or None if one does not
    convert (the field is then read through its general converter)."""
    convert = _converter(kind)
    try:
        return {text: convert(value) for text, value in table.items()}
    except (TranslationError, ValueError, TypeError):
        return None


Converter = typing.Callable[[Any], Any]


def _value_converter(source: FieldSource, target: Any) -> Converter:
    """The careful path's reading of a top-level ``source`` as a function of the value
    found (None when absent): default, translation table, conversion to ``target``."""
    convert, default, table, path = _converter(target), source.default, source.map, source.path
    unknown = _unknown_member(target) if table is not None else None

    def read(value: Any) -> Any:
        if value is None:
            return convert(default)
        if table is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if text not in table:
                if unknown is None:
                    raise TranslationError(f"{path}: no translation for value {text!r}")
                return convert(unknown)
            value = table[text]
        return convert(value)

    return read


class _Slot:
    """One top-level value the fast builder reads, and how to convert it per value type."""

    __slots__ = ("by_type", "general", "key", "none")

    def __init__(
        self, key: str, general: Converter, by_type: dict[type, Converter], none: Converter
    ) -> None:
        self.key, self.general, self.by_type, self.none = key, general, by_type, none

    def converter(self, kind: type) -> Converter:
        if kind is type(None):
            return self.none
        return self.by_type.get(kind, self.general)


def _field_slot(source: FieldSource, target: Any) -> _Slot:
    """The slot of a non-money field read from a top-level key."""
    assert source.path is not None
    general = _value_converter(source, target)
    optional = _optional(target)
    kind = (
        next(arg for arg in typing.get_args(target) if arg is not type(None))
        if optional
        else target
    )
    none = _same if optional and source.default is None else general
    by_type: dict[type, Converter] = {}
    if source.map is not None:
        table = _converted_table(source.map, kind)
        if table is not None:
            unknown = _unknown_member(target)
            if unknown is not None:
                table = _Table(table, _converter(kind)(unknown))
            by_type[str] = table.__getitem__  # an unknown text raises KeyError: careful path
    elif kind is str or kind is int:
        # the careful path reads any value but null as str(value) or int(value)
        by_type = dict.fromkeys((str, int, bool, float, Decimal), kind)
        by_type[kind] = _same
    elif kind is Decimal:
        by_type = _DECIMALS
    elif kind is date:
        # date.fromisoformat(text[:10]), cached per text
        by_type = {str: _DATES.__getitem__, date: _same}
    elif kind is bool:
        by_type = {bool: _same}
    return _Slot(source.path, general, by_type, none)


def _decimal_slot(key: str) -> _Slot:
    """The slot of a money amount: an exact Decimal (a null is handled by the plan)."""
    return _Slot(key, to_decimal, _DECIMALS, to_decimal)


_DECIMALS: dict[type, Converter] = {str: Decimal, int: Decimal, Decimal: _same}
"""Decimal(text) is Decimal(str(text)); Decimal(n) equals Decimal(str(n)) for an int."""


def _upper(value: Any) -> str:
    return str(value).upper()


def _currency_slot(key: str) -> _Slot:
    """The slot of a money currency read from a path: its code in capitals."""
    return _Slot(key, _upper, {str: str.upper}, _same)  # a null: see _Builder.plan_for


class _Money(typing.NamedTuple):
    """A money field the fast builder makes from two places in its values."""

    amount: int  # the amount's slot
    currency: int  # the currency's slot, or its position among the fixed values
    currency_fixed: bool
    optional: bool


class _Plan(typing.NamedTuple):
    """What to do with values of one combination of types (row: see ``_Builder``)."""

    converters: tuple[Converter, ...]  # for the values needing a conversion...
    convertible: typing.Callable[[list[Any]], Sequence[Any]]  # ...picked by this
    amounts: typing.Callable[[list[Any]], Sequence[Any]] | None  # of the moneys to make
    currencies: typing.Callable[[list[Any]], Sequence[Any]]
    arguments: typing.Callable[[list[Any]], Sequence[Any]]  # of the record


class _Slow(Exception):
    """The fast builder met something only the careful path handles."""


class _Builder:
    """What the fast builder of ``record_type`` needs, worked out from the field map.

    An item is read into a row of values laid out as: the slots' values as read (one per
    top-level key read; a currency read by several money fields once), those of them that
    need converting converted, the odd fields (read by the careful path's readers: dotted
    paths, unusual currencies), the fixed values (constants, currencies given as constants,
    defaults of unmapped fields, and a None for an optional money without an amount), and
    the money fields made; the record's arguments are then picked from the row. Where each
    sits depends on the types of the values read, hence one plan per combination of types.
    """

    __slots__ = (
        "_fields",
        "_moneys",
        "_placed",
        "_slots",
        "broken",
        "fixed",
        "keys",
        "make",
        "odd",
        "plans",
    )

    def __init__(self, record_type: type, field_map: FieldMap) -> None:
        assert dataclasses.is_dataclass(record_type)
        hints = _field_types(record_type)
        readers = dict(_plan(record_type, field_map))
        self.broken = False  # a constant that does not convert: always the careful path
        slots: list[_Slot] = []
        odd: list[Reader] = []
        fixed: list[Any] = []
        moneys: list[_Money] = []
        placed: dict[str, tuple[str, int]] = {}  # field -> (where, position)
        currency_slots: dict[str, int] = {}
        for name in readers:
            source, target = field_map.fields[name], hints[name]
            if source.amount is not None:
                currency = source.currency
                simple_currency = isinstance(currency, str) or (
                    isinstance(currency, FieldSource)
                    and currency.const is not None
                    and currency.map is None
                )
                if (
                    "." in source.amount
                    or not simple_currency
                    or (isinstance(currency, str) and "." in currency)
                ):
                    placed[name] = ("odd", len(odd))
                    odd.append(readers[name])
                    continue
                slots.append(_decimal_slot(source.amount))
                amount = len(slots) - 1
                if isinstance(currency, str):
                    if currency not in currency_slots:  # moneys in one currency share it
                        currency_slots[currency] = len(slots)
                        slots.append(_currency_slot(currency))
                    at, is_fixed = currency_slots[currency], False
                else:
                    assert isinstance(currency, FieldSource)
                    fixed.append(_upper(currency.const))
                    at, is_fixed = len(fixed) - 1, True
                placed[name] = ("money", len(moneys))
                moneys.append(_Money(amount, at, is_fixed, _optional(target)))
            elif source.const is not None:
                try:
                    value = _converter(target)(source.const)
                except Exception:
                    self.broken = True
                    value = None
                placed[name] = ("fixed", len(fixed))
                fixed.append(value)
            elif "." in typing.cast(str, source.path):
                placed[name] = ("odd", len(odd))
                odd.append(readers[name])
            else:
                placed[name] = ("slot", len(slots))
                slots.append(_field_slot(source, target))
        # the record's arguments: positional in field order when every field not mapped
        # has a plain default, by keyword otherwise
        record_fields = dataclasses.fields(record_type)
        positional = all(
            f.init
            and not f.kw_only
            and (f.name in placed or (f.default is not dataclasses.MISSING))
            for f in record_fields
        )
        if positional:
            self._fields: list[str] = []
            for f in record_fields:
                if f.name not in placed:
                    placed[f.name] = ("fixed", len(fixed))
                    fixed.append(f.default)
                self._fields.append(f.name)
            self.make: typing.Callable[..., Any] = record_type
        else:
            self._fields = list(readers)
            names = tuple(self._fields)
            self.make = lambda *args: record_type(**dict(zip(names, args, strict=True)))
        fixed.append(None)  # the value of an optional money field without an amount
        self._slots, self.odd, self.fixed = slots, tuple(odd), fixed
        self._moneys, self._placed = moneys, placed
        self.keys = tuple(slot.key for slot in slots)
        self.plans: dict[tuple[type, ...], _Plan] = {}

    def plan_for(self, kinds: tuple[type, ...]) -> _Plan:
        """The plan for values of types ``kinds``, made once per combination."""
        plan = self.plans.get(kinds)
        if plan is not None:
            return plan
        converters = [slot.converter(kind) for slot, kind in zip(self._slots, kinds, strict=True)]
        amounts_none: set[int] = set()
        for number, money in enumerate(self._moneys):
            if kinds[money.amount] is type(None):
                amounts_none.add(number)
                converters[money.amount] = _same if money.optional else _required_amount
            elif not money.currency_fixed and kinds[money.currency] is type(None):
                converters[money.currency] = _missing_currency
        # the row: values as read, values converted, odd fields, fixed values, moneys
        converted = [at for at, convert in enumerate(converters) if convert is not _same]
        place = list(range(len(converters)))
        for rank, at in enumerate(converted):
            place[at] = len(converters) + rank
        odd_at = len(converters) + len(converted)
        fixed_at = odd_at + len(self.odd)
        none_at = fixed_at + len(self.fixed) - 1  # the None last among the fixed values
        pairs: list[tuple[int, int]] = []
        money_place: list[int] = []
        for number, money in enumerate(self._moneys):
            if number in amounts_none:
                money_place.append(none_at)
                continue
            currency = fixed_at + money.currency if money.currency_fixed else place[money.currency]
            money_place.append(none_at + 1 + len(pairs))
            pairs.append((place[money.amount], currency))
        where = {"odd": odd_at, "fixed": fixed_at}
        positions = []
        for name in self._fields:
            kind, at = self._placed[name]
            if kind == "money":
                positions.append(money_place[at])
            elif kind == "slot":
                positions.append(place[at])
            else:
                positions.append(where[kind] + at)
        plan = _Plan(
            tuple(converters[at] for at in converted),
            _picker(converted),
            _picker([amount for amount, _ in pairs]) if pairs else None,
            _picker([currency for _, currency in pairs]),
            _picker(positions),
        )
        if len(self.plans) < 256:
            self.plans[kinds] = plan
        return plan


def _picker(positions: list[int]) -> typing.Callable[[list[Any]], Sequence[Any]]:
    """A function giving the items of a list at ``positions``, in C."""
    if len(positions) == 1:
        return operator.itemgetter(slice(positions[0], positions[0] + 1))
    if not positions:
        return operator.itemgetter(slice(0, 0))
    return operator.itemgetter(*positions)


def _required_amount(_value: Any) -> Any:
    raise TranslationError("required amount missing")


def _missing_currency(_value: Any) -> Any:
    raise TranslationError("amount without currency")


def _fast_builder(record_type: type, field_map: FieldMap) -> Reader:
    """The fast builder of ``record_type`` from items read with ``field_map``: a function
    that raises on anything unusual (``build_record`` then takes the careful path, which
    gives the precise error or the same record)."""
    builder = _Builder(record_type, field_map)
    if builder.broken:
        return _always_slow
    keys, odd, fixed, make = builder.keys, builder.odd, builder.fixed, builder.make
    plan_of, plan_for, call, dict_ = builder.plans.get, builder.plan_for, operator.call, dict

    def build(item: Mapping[str, Any]) -> Any:
        if type(item) is not dict_:
            raise _Slow
        row = list(map(item.get, keys))
        kinds = tuple(map(type, row))
        converters, convertible, amounts, currencies, arguments = plan_of(kinds) or plan_for(kinds)
        row += map(call, converters, convertible(row))
        if odd:
            row += [read(item) for read in odd]
        row += fixed
        if amounts is not None:
            row += map(exact_money, amounts(row), currencies(row))
        return make(*arguments(row))

    return build


def _always_slow(_item: Mapping[str, Any]) -> Any:
    raise _Slow


# -- translation tables from a system's config ---------------------------------------------

MAX_UNKNOWN_LOGGED = 10_000
"""Distinct (system, domain, code) triples logged per process; beyond, none more (bounded)."""
_unknown_logged: set[tuple[str, str, str]] = set()
_unknown_lock = threading.Lock()


def log_unknown_code(system: str, domain: str, code: str | None) -> None:
    """Log once per (``system``, ``domain``, ``code``) that an upstream code has no Keylink
    state and is answered as UNKNOWN with its raw value (at most ``MAX_UNKNOWN_LOGGED``
    distinct ones per process, so an upstream inventing codes cannot flood the log)."""
    marker = (system, domain, str(code))
    with _unknown_lock:
        if marker in _unknown_logged or len(_unknown_logged) >= MAX_UNKNOWN_LOGGED:
            return
        _unknown_logged.add(marker)
    log.warning(
        "%s: %s code %r has no Keylink state in its translation table; answered as UNKNOWN "
        "with the raw value",
        system,
        domain,
        str(code)[:200],
    )


def identity_table(kind: type[enum.Enum]) -> dict[str, str]:
    """The table a field read without one behaves as: each state's name, as is and in
    lower case, to itself (UNKNOWN left out: an upstream saying "unknown" is not known)."""
    table: dict[str, str] = {}
    for member in kind:
        if member.name != "UNKNOWN":
            table[member.name] = member.name
            table[member.name.lower()] = member.name
    return table


def with_translations(
    field_map: FieldMap,
    field: str,
    kind: type[enum.Enum],
    overrides: Mapping[str, str],
    raw_field: str | None,
) -> FieldMap:
    """``field_map`` with ``field`` (a state read from a path) translated through its own
    table extended and overridden by ``overrides`` (config's codes -> state names), so a
    code neither knows reads as UNKNOWN; and, when ``raw_field`` is given and not mapped,
    the raw code kept in it. A field given as a constant, or not mapped, is left as is."""
    source = field_map.fields.get(field)
    if source is None or source.path is None:
        return field_map
    fields = dict(field_map.fields)
    base = source.map if source.map is not None else identity_table(kind)
    fields[field] = source.model_copy(update={"map": {**base, **overrides}})
    if raw_field is not None and raw_field not in fields:
        fields[raw_field] = FieldSource(path=source.path)
    return FieldMap(fields=fields)
