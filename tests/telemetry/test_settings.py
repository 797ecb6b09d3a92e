"""The ``telemetry:`` block: the documented snippet loads as written (the README shows the
same block), tracing is off by default, the environment wins, unknown roles are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import gateway.telemetry.settings as telemetry_settings
from gateway.errors import ConfigError
from gateway.settings import load_settings

SNIPPET = re.search(r"```yaml\n(.*?)```", telemetry_settings.__doc__ or "", re.DOTALL)


def test_the_documented_block_loads_as_written(tmp_path: Path) -> None:
    assert SNIPPET is not None
    config = tmp_path / "keylink.yaml"
    config.write_text(SNIPPET.group(1), encoding="utf-8")
    settings = load_settings(config).telemetry
    assert settings.tracing.enabled is False and settings.tracing.exporter == "otlp"
    assert settings.metrics.roles == ["metrics", "operator", "admin"]
    assert settings.explain.roles == ["operator", "analyst", "admin"]
    assert settings.logs.max_message_chars == 2000


def test_tracing_is_off_by_default_and_the_environment_turns_it_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().telemetry.tracing.enabled is False
    monkeypatch.setenv("KEYLINK_TELEMETRY__TRACING__ENABLED", "true")
    monkeypatch.setenv(
        "KEYLINK_TELEMETRY__TRACING__OTLP_ENDPOINT", "http://127.0.0.1:4318/v1/traces"
    )
    tracing = load_settings().telemetry.tracing
    assert tracing.enabled and tracing.otlp_endpoint == "http://127.0.0.1:4318/v1/traces"


def test_an_unknown_role_is_refused_with_its_path() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(overrides={"telemetry": {"explain": {"roles": ["operater"]}}})
    assert "telemetry.explain.roles" in str(refused.value)
    assert "unknown roles ['operater']" in str(refused.value)
