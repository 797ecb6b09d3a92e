"""Configuration: YAML plus environment, validated per adapter, secrets only from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings
from sources.rest import RestConfig

SPEC = Path(__file__).resolve().parents[2] / "demo" / "specs" / "crm.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keylink.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_is_read_and_relative_spec_paths_resolve_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "crm.yaml").write_text(SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings(
        write(
            tmp_path,
            "linkmap: {url: 'sqlite+aiosqlite:///x.db'}\n"
            "systems:\n  crm: {kind: crm, adapter: rest, url: 'http://127.0.0.1:9', "
            "spec: crm.yaml}\n",
        )
    )
    crm = settings.systems["crm"]
    assert isinstance(crm, RestConfig)
    assert crm.spec == tmp_path / "crm.yaml"
    assert crm.timeout == 3.0  # R1: the per-system timeout is never unset


def test_environment_wins_over_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYLINK_LINKMAP__URL", "postgresql+asyncpg://127.0.0.1/test")
    settings = load_settings(write(tmp_path, "linkmap: {url: 'sqlite+aiosqlite:///x.db'}\n"))
    assert settings.linkmap.url == "postgresql+asyncpg://127.0.0.1/test"


def test_unknown_adapter_names_the_yaml_path_and_known_adapters(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, "systems:\n  erp: {kind: erp, adapter: sap, url: x}\n"))
    assert "systems.erp.adapter: unknown adapter 'sap'; known adapters:" in str(caught.value)
    assert "rest" in str(caught.value)


def test_a_literal_secret_in_yaml_is_refused(tmp_path: Path) -> None:
    text = (
        "systems:\n  crm: {kind: crm, adapter: rest, url: 'http://127.0.0.1:9', "
        f"spec: '{SPEC}', auth: {{type: bearer, token: s3cret}}}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    message = str(caught.value)
    assert "systems.crm.auth" in message
    assert "secrets come only from the environment" in message
    assert "s3cret" not in message


def test_misspelt_fields_and_bad_timeouts_are_refused(tmp_path: Path) -> None:
    text = (
        "systems:\n  crm: {kind: crm, adapter: rest, url: 'http://127.0.0.1:9', "
        f"spec: '{SPEC}', timout: 3, timeout: 0}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    assert "systems.crm.timout: Extra inputs are not permitted" in str(caught.value)
    assert "systems.crm.timeout: Input should be greater than 0" in str(caught.value)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
