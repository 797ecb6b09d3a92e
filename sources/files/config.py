"""The ``systems:`` entry of a system read through the files it exports (``adapter: files``).

``spec`` is the YAML file describing the exported files (``sources.files.spec``);
``folder``, when given, is where the spec's relative file and folder paths start (by
default the spec's own folder), so one spec serves several installations.

The read cache is off by default for a file system (``ttl: 0``): the source keeps its own
index per file version, so a cached answer would only risk serving a file that has since
changed, and would lose the notes naming its malformed rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from sources.config import SystemConfigBase


class FilesConfig(SystemConfigBase):
    """A ``systems:`` entry served by the file adapter (CSV and Excel exports, read live)."""

    adapter: Literal["files"]
    ttl: int | None = Field(
        default=0,
        ge=0,
        description="read-cache freshness in seconds; 0 (the default) reads the files on "
        "every request: a file unchanged is answered from its index anyway, and a changed "
        "one is never answered from the cache",
    )
    spec: Path
    folder: Path | None = Field(
        default=None,
        description="where the spec's relative paths start (default: the spec's folder)",
    )

    def base_folder(self) -> Path:
        """The folder the spec's relative paths are read from."""
        return self.folder if self.folder is not None else self.spec.parent
