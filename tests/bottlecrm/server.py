"""A real BottleCRM for tests: set up once by demo/bottlecrm/setup.sh (its own Python 3.12
venv and a migrated template database in .cache/bottlecrm), cloned into a fresh database
per run, served by gunicorn on a free loopback port, and given an organisation and a
personal access token the way a user gets them: ``devlogin`` mints a JWT (DEBUG on, as
BottleCRM allows only in development), the API creates the organisation and the token.

Everything a test puts into it goes through BottleCRM's own REST API (``BottleCrm.post``).
Without Python 3.12 or PostgreSQL the tests skip (and fail under CI=true).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from sources.rest import RestConfig, RestSource
from tests.conftest import repo_root
from tests.support.npm import unavailable

SETUP = repo_root() / "demo" / "bottlecrm" / "setup.sh"
SPEC = repo_root() / "demo" / "bottlecrm" / "keylink-spec.yaml"
TOKEN_ENV = "KEYLINK_BOTTLECRM_TOKEN"
"""The environment variable a Keylink over the test BottleCRM reads its token from."""
USER = "keylink-tests@example.com"
UNAVAILABLE = 3
"""setup.sh's exit code when Python 3.12 or PostgreSQL is missing."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _setup(*args: str, timeout: float = 900) -> str:
    """Run setup.sh with ``args``; its stdout. Skips (fails under CI) when Python 3.12 or
    PostgreSQL is missing; any other failure fails the test."""
    done = subprocess.run(
        ["bash", str(SETUP), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode == UNAVAILABLE:
        unavailable(done.stderr.strip().splitlines()[-1], "the BottleCRM tests")
    assert done.returncode == 0, f"setup.sh {' '.join(args)} failed:\n{done.stderr[-4000:]}"
    return done.stdout


class BottleCrm:
    """One BottleCRM served from its own clone of the template database."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.database = f"keylink_bottlecrm_{uuid.uuid4().hex[:12]}"
        self.port = 0
        self.token = ""
        self.org = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.access_log = workdir / "access.log"

    @property
    def url(self) -> str:
        """The server's base URL (the API is under ``/api/``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Set up (once), clone the template, serve, and mint an org and a token."""
        _setup()
        _setup("--clone", self.database, timeout=120)
        self.port = _free_port()
        log = (self.workdir / "gunicorn.log").open("wb")
        self.process = subprocess.Popen(
            [
                "bash",
                str(SETUP),
                "--serve",
                self.database,
                str(self.port),
                str(self.access_log),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait()
        self._mint_token()

    def _wait(self) -> None:
        deadline = time.monotonic() + 120  # a bound on start-up, not an assertion on speed
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz/", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"BottleCRM did not answer:\n{self.log()}")

    def _jwt(self, *args: str) -> str:
        out = _setup("--admin", self.database, "devlogin", USER, *args, timeout=120)
        found = re.search(r"access_token:\s*(\S+)", out)
        assert found is not None, f"devlogin printed no token:\n{out}"
        return found.group(1)

    def _mint_token(self) -> None:
        jwt = self._jwt("--create")
        made = self._call("POST", "/api/org/", {"name": "Keylink contract"}, jwt)
        self.org = made["org"]["id"]
        bound = self._jwt("--org", self.org)
        self.token = self._call("POST", "/api/profile/tokens/", {"name": "keylink"}, bound)["token"]

    def _call(self, method: str, path: str, body: dict[str, Any], bearer: str) -> Any:
        answer = httpx.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=30,
        )
        assert answer.status_code in (200, 201), f"{method} {path}: {answer.text[:2000]}"
        found = answer.json()
        assert not found.get("error"), f"{method} {path}: {found}"
        return found

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to BottleCRM's API at ``path`` with the token; the answer."""
        return self._call("POST", path, body, self.token)

    def get(self, path: str, **params: str) -> Any:
        """GET BottleCRM's API at ``path`` with the token; the answer."""
        answer = httpx.get(
            self.url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, f"GET {path}: {answer.text[:2000]}"
        return answer.json()

    def requests_logged(self) -> list[str]:
        """The request lines gunicorn's access log holds so far (``GET /api/...``)."""
        if not self.access_log.exists():
            return []
        text = self.access_log.read_text(errors="replace")
        return re.findall(r'"([A-Z]+ \S+) HTTP/[0-9.]+"', text)

    def log(self) -> str:
        """What gunicorn printed."""
        path = self.workdir / "gunicorn.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the server (the one this object started) and drop its database."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.port:
            _setup("--drop", self.database, timeout=120)


def gateway_system(url: str) -> dict[str, Any]:
    """The ``systems:`` entry of a Keylink reading the BottleCRM at ``url`` (the token
    from ``KEYLINK_BOTTLECRM_TOKEN``, as examples/bottlecrm.yaml has it)."""
    return {
        "kind": "crm",
        "adapter": "rest",
        "url": url,
        "spec": str(SPEC),
        "auth": {"type": "bearer", "token_env": TOKEN_ENV},
        "timeout": 10,
    }


def bottlecrm_adapter(
    server: BottleCrm,
    transport: httpx.AsyncBaseTransport | None = None,
    spec: Path = SPEC,
) -> RestSource:
    """The REST adapter over ``server`` as a Keylink configures it (token from the
    environment), reading it with ``spec``."""
    os.environ[TOKEN_ENV] = server.token
    config = RestConfig.model_validate({**gateway_system(server.url), "spec": str(spec)})
    return RestSource("bottlecrm", config, transport)
