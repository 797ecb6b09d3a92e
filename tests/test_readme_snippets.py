"""Every ``yaml`` block of the README is configuration Keylink accepts, loaded through the
real loader (``gateway.settings.load_settings``).

Each block is written to a ``keylink.yaml`` in a folder laid out as the README assumes: the
demo's REST specs beside it as ``specs/`` (the Configuration section's ``specs/erp.yaml``) and
the repository's ``demo/`` (``demo/specs/crm.yaml``, as from the repository root). A block
that is a fragment (only ``systems:``, or only ``persisted_queries:``) is completed with the
top-level sections of a minimal configuration it does not set; its own text is loaded as
written, so YAML reads it as it reads a reader's copy. Every REST spec a block names must
exist and be a valid spec.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import Settings, load_settings
from sources.rest import RestConfig
from sources.rest.spec import RestSpec
from tests.conftest import repo_root

README = repo_root() / "README.md"

MINIMAL: dict[str, Any] = {
    "linkmap": {"url": "sqlite+aiosqlite:///keylink.db"},
    "cache": {"url": "memory://"},
}
"""What a fragment is merged into: a configuration that loads on its own."""

BLOCK = re.compile(r"^```yaml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def yaml_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of every fenced ``yaml`` block of ``text``."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in BLOCK.finditer(text)]


BLOCKS = yaml_blocks(README.read_text(encoding="utf-8"))


def load_snippet(text: str, folder: Path) -> Settings:
    """``text``, completed with the sections of :data:`MINIMAL` it lacks, loaded as
    ``keylink.yaml`` in ``folder`` (which gets ``specs/``, the demo's specs, and ``demo/``)."""
    snippet = yaml.safe_load(text)
    assert isinstance(snippet, dict), "a configuration snippet is a mapping"
    (folder / "specs").symlink_to(repo_root() / "demo" / "specs", target_is_directory=True)
    (folder / "demo").symlink_to(repo_root() / "demo", target_is_directory=True)
    config = folder / "keylink.yaml"
    missing = {k: v for k, v in MINIMAL.items() if k not in snippet}
    config.write_text(
        (yaml.safe_dump(missing, sort_keys=False) if missing else "") + text, encoding="utf-8"
    )
    return load_settings(config)


@pytest.fixture(autouse=True)
def no_keylink_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file alone decides: ``KEYLINK_*`` variables of the test run are removed."""
    for name in list(os.environ):
        if name.startswith("KEYLINK_"):
            monkeypatch.delenv(name)


def test_the_readme_has_configuration_snippets() -> None:
    assert len(BLOCKS) >= 3
    assert any("persisted_queries" in text for _, text in BLOCKS)


@pytest.mark.parametrize(("line", "text"), BLOCKS, ids=[f"README.md:{n}" for n, _ in BLOCKS])
def test_every_readme_yaml_snippet_loads(line: int, text: str, tmp_path: Path) -> None:
    settings = load_snippet(text, tmp_path)

    snippet = yaml.safe_load(text)
    assert set(settings.systems) == set(snippet.get("systems") or {})
    for name, system in settings.systems.items():
        if isinstance(system, RestConfig):
            assert system.spec.is_absolute() and system.spec.exists(), (name, system.spec)
            RestSpec.from_file(system.spec)  # a valid spec, not just a file


def test_persisted_queries_mode_off_as_yaml_reads_it_is_accepted(tmp_path: Path) -> None:
    # YAML 1.1 reads a bare `off` as false; the README writes the mode that way
    assert yaml.safe_load("persisted_queries: {mode: off}") == {
        "persisted_queries": {"mode": False}
    }
    settings = load_snippet("persisted_queries: {mode: off}\n", tmp_path)
    assert settings.persisted_queries.mode == "off"
