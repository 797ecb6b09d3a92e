"""The batched reads a source declares, as loaders and resilience find them.

A source lists its batched reads once, in its class body, as a ``ReadTable`` of the
methods themselves (``one_per_key(customers)``, ``list_per_key(invoices)``), and offers
them bound to the instance through ``read_operations()`` (``DeclaresReads``). Each
``ReadOperation`` says what the read is called, the bound batch function, whether a key
maps to one record (a key the upstream lacks gives ``None``) or to a list (it gives
``[]``), and which arguments it takes after the keys.

Nothing is found by name at request time: a table is checked when its class is defined
(every entry an async method taking the keys first), a source's table is bound once at
start-up, and asking a source for a read it does not declare raises
``UnknownReadOperation`` naming what it does declare.

Writes stay declared apart (``sources.base.DeclaresWrites``); a read never writes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sources.base import PROTOCOL_BY_KIND

BatchRead = Callable[..., Awaitable[Mapping[str, Any]]]
"""A batched read: ``(keys, *arguments)`` to a mapping from key to what was found."""


class ReadDeclarationError(TypeError):
    """A source's read table is wrong: an entry is no batched read, a name repeats, a read
    is also declared a write, or the source declares no reads at all."""


class UnknownReadOperation(LookupError):
    """A read was asked of a system that does not declare it (or of no such system)."""

    def __init__(self, system: str, operation: str, known: Iterable[str]) -> None:
        self.system = system
        self.operation = operation
        self.known = tuple(sorted(known))
        super().__init__(
            f"system {system!r} declares no batched read {operation!r}; "
            f"it declares {list(self.known)}"
        )


class ReadArgumentsError(TypeError):
    """A read was asked for with arguments its declaration does not take, or with the
    other shape (one record per key versus a list per key) than it declares."""


@dataclass(frozen=True, slots=True)
class ReadDeclaration:
    """One entry of a ``ReadTable``: the unbound async method, its shape and the names of
    the arguments it takes after the keys (``required`` of them without a default)."""

    method: Callable[..., Awaitable[Mapping[str, Any]]]
    many: bool
    params: tuple[str, ...]
    required: int

    @property
    def name(self) -> str:
        """The operation's name: the method's."""
        return self.method.__name__


def _declare(method: Callable[..., Awaitable[Mapping[str, Any]]], many: bool) -> ReadDeclaration:
    name = getattr(method, "__name__", repr(method))
    if not inspect.iscoroutinefunction(method):
        raise ReadDeclarationError(f"{name}: a batched read must be an async method")
    parameters = list(inspect.signature(method).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(parameters) < 2 or any(p.kind not in positional for p in parameters[:2]):
        raise ReadDeclarationError(f"{name}: a batched read takes (self, keys, ...)")
    extra = parameters[2:]
    for parameter in extra:
        if parameter.kind not in positional and parameter.default is inspect.Parameter.empty:
            raise ReadDeclarationError(
                f"{name}: argument {parameter.name!r} must be positional or have a default"
            )
    passed = [p for p in extra if p.kind in positional]
    required = sum(1 for p in passed if p.default is inspect.Parameter.empty)
    return ReadDeclaration(method, many, tuple(p.name for p in passed), required)


def one_per_key(method: Callable[..., Awaitable[Mapping[str, Any]]]) -> ReadDeclaration:
    """Declare ``method`` a batched read answering one record per key (absent: None)."""
    return _declare(method, many=False)


def list_per_key(method: Callable[..., Awaitable[Mapping[str, Any]]]) -> ReadDeclaration:
    """Declare ``method`` a batched read answering a list per key (absent: [])."""
    return _declare(method, many=True)


@dataclass(frozen=True, slots=True)
class ReadOperation:
    """One batched read of one source, ready to call: ``load(keys, *arguments)``."""

    name: str
    load: BatchRead
    many: bool
    params: tuple[str, ...]
    required: int

    def empty(self) -> Any:
        """What a key the upstream does not know reads as: ``[]`` or ``None``."""
        return [] if self.many else None

    def check(self, system: str, args: tuple[Any, ...], many: bool | None = None) -> None:
        """Raise ``ReadArgumentsError`` unless ``args`` (after the keys) fit this read and
        ``many``, when given, is its shape."""
        if not self.required <= len(args) <= len(self.params):
            raise ReadArgumentsError(
                f"{system}.{self.name} takes {list(self.params)} after the keys, "
                f"not {len(args)} argument(s)"
            )
        if many is not None and many != self.many:
            shape = "a list per key" if self.many else "one record per key"
            raise ReadArgumentsError(f"{system}.{self.name} answers {shape}")

    def with_load(self, load: BatchRead) -> ReadOperation:
        """The same read, called through ``load`` (e.g. a guarded wrapper)."""
        return ReadOperation(self.name, load, self.many, self.params, self.required)


class ReadOperations(Mapping[str, ReadOperation]):
    """The batched reads one source offers, by name; unknown names raise
    ``UnknownReadOperation`` (``find``), never ``AttributeError``."""

    def __init__(self, system: str, operations: Iterable[ReadOperation]) -> None:
        self.system = system
        self._operations: dict[str, ReadOperation] = {}
        for operation in operations:
            if operation.name in self._operations:
                raise ReadDeclarationError(f"{system}: read {operation.name!r} declared twice")
            self._operations[operation.name] = operation

    def __getitem__(self, name: str) -> ReadOperation:
        return self._operations[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._operations)

    def __len__(self) -> int:
        return len(self._operations)

    def __repr__(self) -> str:
        return f"ReadOperations({self.system!r}, {sorted(self._operations)})"

    def find(self, name: str) -> ReadOperation:
        """The read called ``name``; ``UnknownReadOperation`` if it is not declared."""
        found = self._operations.get(name)
        if found is None:
            raise UnknownReadOperation(self.system, name, self._operations)
        return found

    def require(self, names: Iterable[str]) -> None:
        """Raise ``ReadDeclarationError`` unless every read in ``names`` is declared."""
        missing = sorted(set(names) - set(self._operations))
        if missing:
            raise ReadDeclarationError(
                f"system {self.system!r} does not declare the batched reads {missing}"
            )

    def guarded(self, wrap: Callable[[ReadOperation], BatchRead]) -> ReadOperations:
        """These reads, each called through ``wrap(operation)`` instead."""
        return ReadOperations(self.system, (op.with_load(wrap(op)) for op in self.values()))


class ReadTable:
    """The batched reads a source class declares, in its class body::

        batched_reads = ReadTable(one_per_key(customers), list_per_key(invoices), ...)

    ``bind(source)`` gives them as the instance has them (a subclass's override included).
    """

    def __init__(self, *declarations: ReadDeclaration) -> None:
        names = [d.name for d in declarations]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ReadDeclarationError(f"reads declared twice: {repeated}")
        self.declarations = declarations

    @property
    def names(self) -> frozenset[str]:
        """The names of the declared reads."""
        return frozenset(d.name for d in self.declarations)

    def bind(self, source: Any) -> ReadOperations:
        """The declared reads of ``source`` (one ``ReadOperation`` each, bound to it)."""
        system = str(getattr(source, "name", type(source).__name__))
        writes = frozenset(getattr(source, "write_operations", ()) or ())
        operations = []
        for declaration in self.declarations:
            if declaration.name in writes:
                raise ReadDeclarationError(
                    f"{system}: {declaration.name!r} is declared both a read and a write"
                )
            load = getattr(source, declaration.name)
            if not inspect.iscoroutinefunction(load):
                raise ReadDeclarationError(f"{system}: {declaration.name!r} is not async")
            operations.append(
                ReadOperation(
                    declaration.name,
                    load,
                    declaration.many,
                    declaration.params,
                    declaration.required,
                )
            )
        return ReadOperations(system, operations)


@runtime_checkable
class DeclaresReads(Protocol):
    """A source that declares its batched reads (see the module docstring)."""

    def read_operations(self) -> ReadOperations:
        """This source's batched reads, bound to it, by name."""
        ...


def read_operations_of(source: object) -> ReadOperations:
    """The batched reads ``source`` declares; ``ReadDeclarationError`` if it declares none."""
    declare = getattr(source, "read_operations", None)
    if not callable(declare):
        raise ReadDeclarationError(
            f"{source!r} declares no batched reads (add a ReadTable and read_operations(); "
            "see sources.operations)"
        )
    found = declare()
    if not isinstance(found, ReadOperations):
        raise ReadDeclarationError(f"{source!r}: read_operations() must give ReadOperations")
    return found


def kind_reads(kinds: Iterable[str]) -> frozenset[str]:
    """The batched reads the protocols of ``kinds`` (``sources.base.PROTOCOL_BY_KIND``)
    require: every async method they name but ``aclose``."""
    names: set[str] = set()
    for kind in kinds:
        protocol = PROTOCOL_BY_KIND.get(kind)
        if protocol is None:
            continue
        for name in dir(protocol):
            if name.startswith("_") or name == "aclose":
                continue
            if inspect.iscoroutinefunction(getattr(protocol, name, None)):
                names.add(name)
    return frozenset(names)


__all__ = [
    "BatchRead",
    "DeclaresReads",
    "ReadArgumentsError",
    "ReadDeclaration",
    "ReadDeclarationError",
    "ReadOperation",
    "ReadOperations",
    "ReadTable",
    "UnknownReadOperation",
    "kind_reads",
    "list_per_key",
    "one_per_key",
    "read_operations_of",
]
