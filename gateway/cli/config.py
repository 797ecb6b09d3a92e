"""What every ``keylink`` command shares: the ``--config`` option and loading the settings.

``gateway.cli.main`` and the command groups it registers (``gateway.cli.keys``) take both from
here, so that a group never imports the main command back.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gateway.errors import ConfigError
from gateway.settings import DEFAULT_CONFIG_FILE, Settings, load_settings

console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="KEYLINK_CONFIG", help="YAML configuration file"),
]
"""``--config``/``-c``, also read from ``KEYLINK_CONFIG``."""


def cli_settings(config: Path | None) -> Settings:
    """Settings from ``-c``, else ``KEYLINK_CONFIG``, else ./keylink.yaml if present."""
    if config is None and os.environ.get("KEYLINK_CONFIG"):
        config = Path(os.environ["KEYLINK_CONFIG"])
    if config is None and Path(DEFAULT_CONFIG_FILE).exists():
        config = Path(DEFAULT_CONFIG_FILE)
    try:
        return load_settings(config)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
