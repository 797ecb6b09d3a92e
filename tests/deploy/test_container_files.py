"""The Dockerfile and compose.yaml, checked by reading them (no container engine here)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import yaml

from gateway.settings import load_settings
from tests.conftest import repo_root

ROOT = repo_root()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments out."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_image_is_built_in_stages_and_runs_unprivileged() -> None:
    stages = [args for keyword, args in DOCKERFILE if keyword == "FROM"]
    assert len(stages) >= 2 and all(" AS " in s.upper() for s in stages), stages
    assert any("--from=" in args for keyword, args in DOCKERFILE if keyword == "COPY")
    users = [i for i, (keyword, _) in enumerate(DOCKERFILE) if keyword == "USER"]
    start = [i for i, (keyword, _) in enumerate(DOCKERFILE) if keyword in ("ENTRYPOINT", "CMD")]
    last_from = max(i for i, (keyword, _) in enumerate(DOCKERFILE) if keyword == "FROM")
    assert users and last_from < users[-1] < min(start)  # the final stage drops root first
    user = DOCKERFILE[users[-1]][1].split(":")[0]
    assert user not in ("root", "0")


def test_the_image_has_a_healthcheck_on_healthz_and_no_secrets() -> None:
    checks = [args for keyword, args in DOCKERFILE if keyword == "HEALTHCHECK"]
    assert checks and "/healthz" in checks[0]
    for keyword, args in DOCKERFILE:
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"(?i)(password|secret|token|api_key)\s*=", args), args
    entry = next(args for keyword, args in DOCKERFILE if keyword == "ENTRYPOINT")
    assert "keylink" in entry


def test_every_path_the_image_copies_exists() -> None:
    for keyword, args in DOCKERFILE:
        if keyword == "COPY" and "--from=" not in args:
            *sources, _target = shlex.split(args)
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_compose_runs_two_gateways_on_shared_postgres_and_redis() -> None:
    services = COMPOSE["services"]
    assert {"postgres", "redis", "keylink"} <= set(services)
    gateway = services["keylink"]
    replicas = gateway.get("deploy", {}).get("replicas", 1)
    gateways = [
        name
        for name, s in services.items()
        if s.get("command") != ["migrate"]
        and (s.get("build") or "keylink" in str(s.get("image", "")))
    ]
    assert replicas * len(gateways) >= 2
    environment = gateway["environment"]
    assert environment["KEYLINK_CACHE__URL"].startswith("redis://redis:")
    assert environment["KEYLINK_LINKMAP__URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:" in environment["KEYLINK_LINKMAP__URL"]
    for dependency in ("postgres", "redis"):
        assert gateway["depends_on"][dependency]["condition"] == "service_healthy"
        assert services[dependency]["healthcheck"]["test"]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in str(gateway["healthcheck"]["test"])


def test_compose_takes_secrets_only_from_the_environment() -> None:
    for service in COMPOSE["services"].values():
        for name, value in (service.get("environment") or {}).items():
            if re.search(r"(?i)password|token|secret", name) or re.search(
                r"://[^/@]+:[^/@]+@", str(value)
            ):
                assert "${" in str(value), f"{name} is written in compose.yaml"


def test_the_mounted_configuration_is_valid_for_keylink() -> None:
    mounts = [
        volume
        for volume in COMPOSE["services"]["keylink"]["volumes"]
        if volume.split(":")[1] == COMPOSE["services"]["keylink"]["environment"]["KEYLINK_CONFIG"]
    ]
    assert mounts, "the gateway's KEYLINK_CONFIG is not mounted"
    path = ROOT / mounts[0].split(":")[0]
    settings = load_settings(path)
    assert settings.env == "production" and settings.auth.mode == "enforce"
    assert settings.linkmap.migrate_on_start is False  # the migrate service does it, once
    assert set(settings.systems) == {"erp", "crm", "timesheet"}
    text = path.read_text()
    assert not re.search(r"(?i)(password|token|secret)\s*:\s*[^\s{]", text.replace("token_env", ""))
