"""Keylink's configuration: one YAML file plus environment variables (``KEYLINK_`` prefix,
``__`` for nesting; the environment wins). Secrets come only from the environment.

Each ``systems:`` entry is validated by the config model of the adapter it names, so an
unknown adapter or a misspelt field fails at start-up with the YAML path in the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.auth.settings import AuthSettings
from gateway.embed.settings import EmbedSettings
from gateway.errors import ConfigError
from gateway.http.limits import LimitSettings
from gateway.http.persisted import PersistedQuerySettings
from gateway.http.ratelimit import RateLimitSettings
from gateway.telemetry.settings import TelemetrySettings
from sources.config import SystemConfigBase
from sources.registry import load_adapters

DEFAULT_CONFIG_FILE = "keylink.yaml"


class LinkMapSettings(BaseModel):
    """Where the link map lives."""

    model_config = ConfigDict(extra="forbid")

    url: str = "sqlite+aiosqlite:///keylink.db"
    migrate_on_start: bool = Field(
        default=True, description="run 'alembic upgrade head' when the gateway starts"
    )
    resolution_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="seconds a key's resolved entity is remembered in memory (0: never); "
        "new links show at once, removed or moved links after at most this long",
    )


class CacheSettings(BaseModel):
    """The read cache: in memory by default, Redis when its URL is given, ``none`` for off."""

    model_config = ConfigDict(extra="forbid")

    url: str = "memory://"
    ttl: int = Field(default=30, ge=0, description="seconds; a system's own ttl wins")
    negative_ttl: int = Field(default=5, ge=0, description="seconds a 'not found' is kept")
    max_stale: int = Field(
        default=300,
        ge=0,
        description="stale-if-error: seconds past freshness cached data may stand in for a "
        "failed system (0: never)",
    )
    master_data_ttl: int = Field(
        default=300,
        ge=0,
        description="seconds for master data (customers, suppliers, accounts, projects...) "
        "unless a system's operation_ttl says otherwise",
    )
    response_ttl: int | None = Field(
        default=None,
        ge=0,
        description="seconds a complete query answer is replayed as is (None: the shortest "
        "freshness configured for any system or operation; 0: no response cache)",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value != "none" and not value.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("cache.url must be memory://, redis://host:port/db or none")
        return value


class ResilienceSettings(BaseModel):
    """Per-system circuit breaker and bulkhead, and the process-wide read retry budget."""

    model_config = ConfigDict(extra="forbid")

    failure_threshold: int = Field(default=5, ge=1, description="consecutive failures to open")
    open_seconds: float = Field(
        default=5.0,
        gt=0,
        description="first open period; doubles each time the breaker re-opens without a "
        "success in between, up to max_open_seconds; a success resets it",
    )
    max_open_seconds: float = Field(
        default=60.0, gt=0, description="the breaker never stays open longer than this at once"
    )
    max_in_flight: int = Field(default=100, ge=1, description="bulkhead: calls at once per system")
    max_waiting: int = Field(
        default=100, ge=0, description="bulkhead: calls queued for a slot; beyond, fail at once"
    )
    retry_ratio: float = Field(default=0.2, ge=0, le=1, description="retries per request")
    retry_min_per_second: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _cap_not_below_first_period(self) -> ResilienceSettings:
        if self.max_open_seconds < self.open_seconds:
            raise ValueError("max_open_seconds must be at least open_seconds")
        return self


class ServerSettings(BaseModel):
    """Where ``keylink serve`` listens."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)


class FederationSettings(BaseModel):
    """``federation:``: how the schema shows in a federation router's supergraph."""

    model_config = ConfigDict(extra="forbid")

    hide_mutations: bool | Literal["type"] = Field(
        default=False,
        description="true: the order-line mutations are @inaccessible (left out of the "
        "supergraph's API; composes when another subgraph has mutations); 'type': the "
        "Mutation type too (when no other subgraph has any: it hides theirs as well)",
    )


class Settings(BaseSettings):
    """The whole configuration of one Keylink process."""

    model_config = SettingsConfigDict(
        env_prefix="KEYLINK_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    env: Literal["dev", "production"] = "dev"
    linkmap: LinkMapSettings = LinkMapSettings()
    cache: CacheSettings = CacheSettings()
    server: ServerSettings = ServerSettings()
    request_deadline: float = Field(default=30.0, gt=0, le=600)
    write_lease: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds an order-line edit holds its idempotency key; past it (its "
        "gateway died mid-write) a retry with the key re-reads the ERP and settles the edit. "
        "Keep it above request_deadline, which bounds every live attempt",
    )
    limits: LimitSettings = LimitSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    resilience: ResilienceSettings = ResilienceSettings()
    auth: AuthSettings = AuthSettings()
    persisted_queries: PersistedQuerySettings = PersistedQuerySettings()
    federation: FederationSettings = FederationSettings()
    embed: EmbedSettings = EmbedSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    upstream_transport: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        description="HTTP transport under the httpx client API (aiohttp costs less CPU per call)",
    )
    fast_path: bool = Field(
        default=True,
        description="complete plain fields (no resolver, no permission, no arguments) and "
        "lists of plain objects without graphql-core's per-field machinery; the answers are "
        "the same either way (tests/contract/test_fast_path.py). false: every field the "
        "standard way, for diagnosis",
    )
    systems: dict[str, SystemConfigBase] = Field(default_factory=dict)

    @field_validator("persisted_queries", mode="before")
    @classmethod
    def _mode_off_as_yaml_reads_it(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare `off` (the README's `persisted_queries: {mode: off}`) as false
        if isinstance(value, Mapping) and value.get("mode") is False:
            return {**value, "mode": "off"}
        return value

    @field_validator("systems", mode="before")
    @classmethod
    def _systems_by_adapter(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        adapters = load_adapters()
        built: dict[str, SystemConfigBase] = {}
        problems: list[str] = []
        for name, raw in value.items():
            if isinstance(raw, SystemConfigBase):
                built[name] = raw
                continue
            if not isinstance(raw, Mapping):
                problems.append(f"systems.{name}: must be a mapping")
                continue
            adapter = raw.get("adapter")
            spec = adapters.get(str(adapter))
            if spec is None:
                problems.append(
                    f"systems.{name}.adapter: unknown adapter {adapter!r}; "
                    f"known adapters: {', '.join(sorted(adapters))}"
                )
                continue
            try:
                built[name] = spec.config_model.model_validate(dict(raw))
            except ValidationError as exc:
                problems.extend(ConfigError.from_validation(exc, f"systems.{name}").problems)
        if problems:
            raise ConfigError(problems)
        return built

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment wins over the YAML file (passed in as init values)."""
        return env_settings, init_settings


def load_settings(
    path: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from the YAML file at ``path`` (if any), ``overrides``, then the environment.

    Relative ``spec`` paths in ``systems`` are resolved against the YAML file's folder.
    Raises ``ConfigError`` listing every problem with its YAML path.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from exc
        except yaml.YAMLError as exc:
            raise ConfigError([f"{path}: not valid YAML ({exc})"]) from exc
        if not isinstance(loaded, dict):
            raise ConfigError([f"{path}: the top level must be a mapping"])
        data = _resolve_paths(loaded, path.parent)
    data = _merge(data, dict(overrides or {}))
    try:
        return Settings(**data)
    except ConfigError:
        raise
    except ValidationError as exc:
        raise ConfigError.from_validation(exc) from exc


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    systems = data.get("systems")
    if isinstance(systems, dict):
        for entry in systems.values():
            if isinstance(entry, dict) and isinstance(entry.get("spec"), str):
                spec = Path(entry["spec"])
                if not spec.is_absolute():
                    entry["spec"] = str((base / spec).resolve())
    auth = data.get("auth")
    jwt = auth.get("jwt") if isinstance(auth, dict) else None
    if isinstance(jwt, dict) and isinstance(jwt.get("jwks_file"), str):
        jwks = Path(jwt["jwks_file"])
        if not jwks.is_absolute():
            jwt["jwks_file"] = str((base / jwks).resolve())
    persisted = data.get("persisted_queries")
    if isinstance(persisted, dict) and isinstance(persisted.get("manifest"), str):
        manifest = Path(persisted["manifest"])
        if not manifest.is_absolute():
            persisted["manifest"] = str((base / manifest).resolve())
    return data


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
