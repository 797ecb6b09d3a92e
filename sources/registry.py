"""The adapter registry: which adapters exist, their config models and how to build them.

Adapter modules in this package register themselves on import (``register_adapter``);
``load_adapters`` imports every module of the package so that a new adapter is one new
module and no other change.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from sources.base import PROTOCOL_BY_KIND, Source
from sources.config import SystemConfigBase


@dataclass(frozen=True)
class Reach:
    """How an adapter reaches the world beyond its config, handed to every factory.

    An adapter takes what it needs and ignores the rest: an HTTP adapter sends through
    ``http_transport`` when one is given (tests and the demo route it in process), a SQL or
    file adapter ignores it. New ways of reaching (a clock, a database driver) are added
    here as optional fields, so no factory signature changes.
    """

    http_transport: httpx.AsyncBaseTransport | None = None


NO_REACH = Reach()
"""The default: every adapter reaches its system its own ordinary way."""

Factory = Callable[[str, SystemConfigBase, Reach], Source]
"""Builds an adapter from its system name, its config and ``Reach``."""


class AdapterRegistrationError(TypeError):
    """An adapter was registered with a config model or class that breaks the contract."""


@dataclass(frozen=True)
class AdapterSpec:
    """One registered adapter: its name, config model, the kinds it serves and its factory."""

    name: str
    config_model: type[SystemConfigBase]
    factory: Factory
    kinds: frozenset[str]
    implementation: type


ADAPTERS: dict[str, AdapterSpec] = {}


def register_adapter(
    name: str,
    *,
    config: type[SystemConfigBase],
    implementation: type,
    factory: Factory,
    kinds: frozenset[str],
) -> None:
    """Make adapter ``name`` available; refuses a class that lacks a kind's protocol methods."""
    if not issubclass(config, SystemConfigBase):
        raise AdapterRegistrationError(f"{name}: config must subclass SystemConfigBase")
    for kind in kinds:
        protocol = PROTOCOL_BY_KIND.get(kind)
        if protocol is None:
            raise AdapterRegistrationError(f"{name}: unknown kind {kind!r}")
        missing = [
            attr
            for attr in dir(protocol)
            if not attr.startswith("_")
            and callable(getattr(protocol, attr, None))
            and not callable(getattr(implementation, attr, None))
        ]
        if missing:
            raise AdapterRegistrationError(
                f"{name}: {implementation.__name__} lacks {kind} methods {sorted(missing)}"
            )
    ADAPTERS[name] = AdapterSpec(name, config, factory, frozenset(kinds), implementation)


def load_adapters() -> dict[str, AdapterSpec]:
    """Import every module of the ``sources`` package and return the registry."""
    import sources

    for module in pkgutil.iter_modules(sources.__path__):
        importlib.import_module(f"sources.{module.name}")
    return ADAPTERS


def build_source(name: str, config: SystemConfigBase, reach: Reach = NO_REACH) -> Source:
    """A ready adapter for system ``name``; ``ValueError`` if its config does not fit."""
    spec = ADAPTERS.get(config.adapter)
    if spec is None:
        raise ValueError(f"unknown adapter {config.adapter!r}; known: {sorted(ADAPTERS)}")
    unsupported = config.kinds - spec.kinds
    if unsupported:
        raise ValueError(
            f"adapter {config.adapter!r} cannot serve kind {sorted(unsupported)}; "
            f"it serves {sorted(spec.kinds)}"
        )
    return spec.factory(name, config, reach)
