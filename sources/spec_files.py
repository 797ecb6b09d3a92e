"""Reading a declarative adapter's YAML spec file into its pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

Spec = TypeVar("Spec", bound=BaseModel)


def load_spec_file(model: type[Spec], path: Path, what: str) -> Spec:
    """The spec in ``path`` validated as ``model``; ``ValueError`` names ``what`` (e.g.
    "SQL spec"), the file and the problem: unreadable, not YAML, or not a valid spec."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{what} {path} is not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValueError as exc:
        raise ValueError(f"{what} {path}: {exc}") from exc
