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
import types
import typing
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sources.money import Money


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
        cached = (field_map, _compile(record_type, field_map))
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


def _compile(record_type: type, field_map: FieldMap) -> Reader:
    """A function building ``record_type`` from a plain-dict item in one go: top-level
    string and decimal fields and money read inline, everything else through the plan's
    readers. It raises on anything unusual, and ``build_record`` then takes the careful
    path, which gives the precise error (or the same record)."""
    hints = _field_types(record_type)
    readers = dict(_plan(record_type, field_map))
    env: dict[str, Any] = {
        "RecordType": record_type,
        "Money": Money,
        "to_decimal": to_decimal,
        "Slow": _Slow,
        "date_from_iso": date.fromisoformat,
        "Decimal": Decimal,
    }
    lines = ["def build(item):", "    if type(item) is not dict: raise Slow", "    get = item.get"]
    names = []
    for index, (name, read) in enumerate(readers.items()):
        source, target, var = field_map.fields[name], hints[name], f"v{index}"
        env[f"read{index}"] = read
        names.append(f"{name}={var}")
        lines.extend(_inline(source, target, var, index, env) or [f"    {var} = read{index}(item)"])
    lines.append(f"    return RecordType({', '.join(names)})")
    exec("\n".join(lines), env)  # source built above from identifiers and reprs only
    built: Reader = env["build"]
    return built


def _converted_table(table: Mapping[str, str], kind: Any) -> dict[str, Any] | None:
    """``table`` with its values already converted to ``kind``, or None if one does not
    convert (the careful path then reports it)."""
    convert = _converter(kind)
    try:
        return {text: convert(value) for text, value in table.items()}
    except (TranslationError, ValueError, TypeError):
        return None


def _inline(
    source: FieldSource, target: Any, var: str, index: int, env: dict[str, Any]
) -> list[str] | None:
    """Inline source lines reading one simple field, or None to call its reader; names
    the lines use are added to ``env``."""
    optional = _optional(target)
    plain = [arg for arg in typing.get_args(target) if arg is not type(None)] or [target]
    kind = plain[0] if optional else target
    if source.amount is not None:
        currency = source.currency
        if "." in source.amount or not isinstance(currency, str) or "." in currency:
            return None
        missing = "None" if optional else "Slow()"
        return [
            f"    {var} = get({source.amount!r})",
            f"    if {var} is None: raise {missing}"
            if not optional
            else f"    if {var} is not None:",
            *(
                [
                    f"        c = get({currency!r})",
                    "        if c is None: raise Slow",
                    f"        {var} = Money({_decimal_of(var)}, str(c).upper())",
                ]
                if optional
                else [
                    f"    c = get({currency!r})",
                    "    if c is None: raise Slow",
                    f"    {var} = Money({_decimal_of(var)}, str(c).upper())",
                ]
            ),
        ]
    if source.path is None or "." in source.path or source.default is not None:
        return None
    head = f"    {var} = get({source.path!r})"
    if source.map is not None:
        # a translated value (e.g. an order status): text -> final value, worked out once
        table = _converted_table(source.map, kind)
        if table is None:
            return None
        env[f"table{index}"] = table
        if optional:
            return [
                head,
                f"    if {var} is not None:",
                f"        if type({var}) is not str: raise Slow",
                f"        {var} = table{index}[{var}]",
            ]
        return [
            head,
            f"    if type({var}) is not str: raise Slow",
            f"    {var} = table{index}[{var}]",
        ]
    if kind not in (str, Decimal, date, bool, int):
        return None
    if kind in (date, bool, int):
        # dates come as ISO text, flags and counts as JSON booleans and integers; any other
        # shape (None where required included) goes the careful way
        wanted = {date: "str", bool: "bool", int: "int"}[kind]
        value = f"date_from_iso({var}[:10])" if kind is date else var
        check = f"type({var}) is not {wanted}"
        if optional:
            return [
                head,
                f"    if {var} is not None:",
                f"        if {check}: raise Slow",
                f"        {var} = {value}",
            ]
        return [head, f"    if {check}: raise Slow", f"    {var} = {value}"]
    if kind is str:
        check = f"type({var}) is not str"
        if optional:
            return [head, f"    if {var} is not None and {check}: {var} = str({var})"]
        return [head, f"    if {check}: {var} = read{index}(item)"]
    if optional:
        return [head, f"    if {var} is not None: {var} = {_decimal_of(var)}"]
    return [head, f"    if {var} is None: raise Slow", f"    {var} = {_decimal_of(var)}"]


def _decimal_of(var: str) -> str:
    """Source text of ``to_decimal(var)`` with JSON strings read by ``Decimal`` directly."""
    return f"Decimal({var}) if type({var}) is str else to_decimal({var})"


class _Slow(Exception):
    """The fast builder met something only the careful path handles."""
