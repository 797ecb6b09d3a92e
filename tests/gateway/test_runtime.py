"""The runtime is built once per app, from the settings alone, and is frozen: what a
request sees cannot depend on start-up code that runs after it is built (issue 17)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway.app
from gateway.app import create_app
from gateway.errors import ConfigError
from gateway.runtime import Runtime, build_runtime
from gateway.settings import Settings
from tests.support.servers import ServerThread

SPECS = Path(__file__).resolve().parents[2] / "demo" / "specs"


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    """Two REST systems on a closed loopback port (nothing is called at start-up) and a
    SQLite link map migrated on start."""
    return Settings.model_validate(
        {
            "linkmap": {"url": f"sqlite+aiosqlite:///{tmp_path / 'links.db'}"},
            "cache": {"url": "none"},
            "systems": {
                "erp": {
                    "kind": "erp",
                    "adapter": "rest",
                    "url": "http://127.0.0.1:9",
                    "spec": str(SPECS / "erp.yaml"),
                },
                "crm": {
                    "kind": "crm",
                    "adapter": "rest",
                    "url": "http://127.0.0.1:9",
                    "spec": str(SPECS / "crm.yaml"),
                },
            },
            **extra,
        }
    )


async def test_assigning_to_a_built_runtime_raises(tmp_path: Path) -> None:
    runtime = await build_runtime(settings_for(tmp_path))
    try:
        before = runtime.rate_limiter, runtime.authenticator, runtime.write_wait
        with pytest.raises(dataclasses.FrozenInstanceError):
            runtime.rate_limiter = None  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            runtime.authenticator = runtime.authenticator  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            runtime.write_wait = 1.0  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            runtime.new_attribute = 1  # type: ignore[attr-defined]
        with pytest.raises(TypeError):  # nor can a system be swapped under it
            runtime.systems.sources["erp"] = runtime.systems.sources["crm"]  # type: ignore[index]
        assert (runtime.rate_limiter, runtime.authenticator, runtime.write_wait) == before
        assert list(runtime.systems.sources) == ["erp", "crm"]
    finally:
        await runtime.aclose()


async def test_the_runtime_holds_what_the_settings_say_as_built(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        request_deadline=12,
        write_lease=40,
        linkmap={
            "url": f"sqlite+aiosqlite:///{tmp_path / 'links.db'}",
            "resolution_seconds": 5,
        },
        cache={"url": "memory://", "ttl": 30},
        rate_limit={"enabled": True, "per_minute": 120},
        auth={"mode": "enforce"},
    )
    runtime = await build_runtime(settings)
    try:
        assert runtime.write_wait == 12
        assert runtime.idempotency._lease.total_seconds() == 40
        assert runtime.authenticator.mode == "enforce"
        assert runtime.resolved is not None
        assert runtime.cache is not None and runtime.cache.ttl == {"erp": 30, "crm": 30}
        assert runtime.response_ttl > 0 and runtime.responses is not None
        assert runtime.rate_limiter is not None
        assert runtime.rate_limiter.settings.per_minute == 120
        assert runtime.login_limiter is not None  # enforce mode counts failed logins
        # every system's batched reads were read once, at start-up
        assert set(runtime.systems.reads) == {"erp", "crm"}
        assert "customers" in runtime.systems.reads["erp"]
        assert "contacts" in runtime.systems.reads["crm"]
    finally:
        await runtime.aclose()

    plain = await build_runtime(
        settings_for(
            tmp_path,
            linkmap={
                "url": f"sqlite+aiosqlite:///{tmp_path / 'links.db'}",
                "resolution_seconds": 0,
            },
            rate_limit={"enabled": False},
        )
    )
    try:
        assert plain.authenticator.mode == "dev"
        assert plain.resolved is None and plain.cache is None and plain.responses is None
        assert plain.rate_limiter is None and plain.login_limiter is None
    finally:
        await plain.aclose()


async def test_start_up_builds_the_runtime_exactly_once_per_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[Runtime] = []

    async def counted(*args: Any, **kwargs: Any) -> Runtime:
        runtime = await build_runtime(*args, **kwargs)
        built.append(runtime)
        return runtime

    monkeypatch.setattr(gateway.app, "build_runtime", counted)
    apps = [create_app(settings_for(tmp_path)), create_app(settings_for(tmp_path))]
    assert built == []  # creating an app opens nothing
    for app in apps:
        server = ServerThread(app)
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for _ in range(3):
                    answer = client.post("/graphql", json={"query": "{ __typename }"})
                    assert answer.json()["data"] == {"__typename": "Query"}
                    assert client.get("/readyz").status_code == 200
        finally:
            server.stop()
    assert len(built) == 2  # one per app, however many requests each served
    assert [app.state.runtime for app in apps] == built
    assert built[0] is not built[1]


class WatchedTransport(httpx.AsyncHTTPTransport):
    """A real transport that notes when its client closes it."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True
        await super().aclose()


async def test_a_failed_start_up_closes_what_it_had_opened(tmp_path: Path) -> None:
    transports = {"erp": WatchedTransport(), "crm": WatchedTransport()}
    unusable = settings_for(
        tmp_path,
        auth={
            "mode": "enforce",
            "jwt": {
                "jwks_file": str(tmp_path / "missing.json"),
                "issuer": "https://id.example",
                "audience": "keylink",
            },
        },
    )
    with pytest.raises(ConfigError):
        await build_runtime(unusable, transports)
    assert all(t.closed for t in transports.values())
