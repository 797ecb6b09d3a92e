"""The ``telemetry:`` block of ``keylink.yaml`` (environment: ``KEYLINK_TELEMETRY__...``).

```yaml
telemetry:
  tracing:
    enabled: false              # off by default; true: a span per operation, batch, call
    exporter: otlp              # otlp (HTTP/protobuf), console, or none (spans made, dropped)
    otlp_endpoint: null         # null: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or localhost:4318
    service_name: keylink
    sample_ratio: 1.0           # share of new traces kept (a caller's sampled flag wins)
  metrics:
    enabled: true               # /metrics in Prometheus text format
    roles: [metrics, operator, admin]  # who may scrape it (any role listed)
  explain:
    enabled: true               # X-Keylink-Explain: true or {"extensions": {"explain": true}}
    roles: [operator, analyst, admin]  # who gets extensions.explain; others a refusal note
  logs:
    max_message_chars: 2000     # a longer log message is cut, saying how much was left out
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.auth.principal import ALL_ROLES


def _known_roles(cls: type, roles: list[str]) -> list[str]:  # noqa: ARG001
    unknown = sorted(set(roles) - ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}; known roles: {sorted(ALL_ROLES)}")
    return roles


class TracingSettings(BaseModel):
    """OpenTelemetry tracing: off unless ``enabled``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    exporter: Literal["otlp", "console", "none"] = Field(
        default="otlp", description="where finished spans go"
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL; None: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or the "
        "exporter's default (http://localhost:4318/v1/traces)",
    )
    service_name: str = Field(default="keylink", min_length=1)
    sample_ratio: float = Field(
        default=1.0, ge=0, le=1, description="share of new traces sampled (parent wins)"
    )


class MetricsSettings(BaseModel):
    """Prometheus metrics at ``/metrics``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    roles: list[str] = Field(
        default_factory=lambda: ["metrics", "operator", "admin"],
        min_length=1,
        description="a principal holding any of these roles may scrape /metrics",
    )

    _roles_known = field_validator("roles")(_known_roles)


class ExplainSettings(BaseModel):
    """Explain on request: ``extensions.explain`` for the roles listed."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    roles: list[str] = Field(
        default_factory=lambda: ["operator", "analyst", "admin"],
        min_length=1,
        description="who may ask for extensions.explain",
    )

    _roles_known = field_validator("roles")(_known_roles)


class LogSettings(BaseModel):
    """Structured logs (``keylink serve`` writes one JSON object a line)."""

    model_config = ConfigDict(extra="forbid")

    max_message_chars: int = Field(default=2000, ge=200, le=100_000)


class TelemetrySettings(BaseModel):
    """``telemetry:``: tracing, metrics, explain and logs."""

    model_config = ConfigDict(extra="forbid")

    tracing: TracingSettings = TracingSettings()
    metrics: MetricsSettings = MetricsSettings()
    explain: ExplainSettings = ExplainSettings()
    logs: LogSettings = LogSettings()
