"""Start-up errors of the gateway: a configuration that cannot run is refused at once."""

from __future__ import annotations

from pydantic import ValidationError


class ConfigError(Exception):
    """The configuration is invalid; the message names each YAML path and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))

    @classmethod
    def from_validation(cls, error: ValidationError, prefix: str = "") -> ConfigError:
        """One problem line per pydantic error, located by its dotted path."""
        problems = []
        for item in error.errors():
            location = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
            message = item["msg"].removeprefix("Value error, ")
            problems.append(f"{location or '(root)'}: {message}")
        return cls(problems)
