"""A real Tryton server for tests: a private copy of the database that demo/tryton/setup.sh
seeded, served by ``trytond`` on a free loopback port, that tests may kill and start again.

The set-up script (run by ``.ci/run``, or by hand) installs Tryton into its own venv and
seeds the database once; each test session copies that database so that its writes never
reach the next session. A small JSON-RPC client of its own reads Tryton's answers for the
tests' expectations, independent of Keylink's adapter.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
HOME = Path(os.environ.get("KEYLINK_TRYTON_HOME", REPO / ".cache" / "tryton"))
DATABASE = os.environ.get("KEYLINK_TRYTON_DB", "keylink")
PASSWORD_ENV = "KEYLINK_TRYTON_PASSWORD"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tagged(value: dict[str, Any]) -> Any:
    kind = value.get("__class__")
    if kind == "Decimal":
        return Decimal(value["decimal"])
    if kind == "date":
        return dt.date(value["year"], value["month"], value["day"])
    if kind == "timedelta":
        return dt.timedelta(seconds=value["seconds"])
    if kind == "datetime":
        return dt.datetime(value["year"], value["month"], value["day"])
    return value


def seeded_or_skip() -> tuple[Path, Path]:
    """The Tryton venv's ``trytond`` and the seeded database file, or skip (fail on CI)."""
    trytond = HOME / "venv" / "bin" / "trytond"
    database = HOME / "data" / f"{DATABASE}.sqlite"
    if trytond.exists() and database.exists() and (HOME / "data" / f"{DATABASE}.seeded").exists():
        return trytond, database
    reason = f"no seeded Tryton in {HOME}: run demo/tryton/setup.sh first"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason)
    pytest.skip(reason)


class TrytonServer:
    """``trytond`` over a private copy of the seeded database on a free loopback port."""

    scenario_script = REPO / "tests" / "tryton" / "scenario.py"
    """The proteus script that makes this server's test data (Tryton's own workflow) on
    the copy before trytond starts; it prints a JSON summary (``scenario``)."""

    def __init__(self, workdir: Path) -> None:
        trytond, seeded = seeded_or_skip()
        self.trytond = trytond
        self.workdir = workdir
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        shutil.copy(seeded, data / f"{DATABASE}.sqlite")
        self.seed: dict[str, Any] = json.loads(
            (HOME / "data" / f"{DATABASE}.seed.json").read_text()
        )
        self.password = (HOME / "admin-password").read_text().strip()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = DATABASE
        self.config = workdir / "trytond.conf"
        self.config.write_text(
            "[database]\nuri = sqlite://\n"
            f"path = {data}\n\n[web]\nlisten = 127.0.0.1:{self.port}\n\n"
            "[session]\ntimeout = 3600\nmax_attempt = 50\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self._session: str | None = None
        self._context: dict[str, Any] = {}
        self.scenario: dict[str, Any] = self._make_awkward_cases()

    def _make_awkward_cases(self) -> dict[str, Any]:
        """Run :attr:`scenario_script` (Tryton's own workflow, through proteus) on this
        copy while trytond is stopped; its summary of what it made."""
        python = self.trytond.parent / "python"
        script = self.scenario_script
        done = subprocess.run(
            [str(python), str(script), "--config", str(self.config), "--database", DATABASE],
            capture_output=True,
            check=False,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script.name} failed:\n{done.stderr.decode()[-4000:]}")
        made: dict[str, Any] = json.loads(done.stdout)
        return made

    def start(self) -> None:
        """Start trytond and wait until it answers JSON-RPC (at most 60 s)."""
        log = (self.workdir / "trytond.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.trytond), "-c", str(self.config), "-d", self.database],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trytond exited with {self.process.returncode}")
            try:
                answer = httpx.post(
                    f"{self.url}/rpc/",
                    json={"id": 0, "method": "common.server.version", "params": []},
                    timeout=2,
                )
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("trytond did not answer within 60 s")

    def kill(self) -> None:
        """Kill trytond at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """Stop trytond (SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    # --- an independent JSON-RPC client, for expectations and for changes behind Keylink ---

    def _post(self, method: str, params: list[Any], session: str | None) -> httpx.Response:
        headers = {"Authorization": session} if session else {}
        return httpx.post(
            f"{self.url}/{self.database}/rpc/",
            json={"id": 1, "method": method, "params": params},
            headers=headers,
            timeout=30,
        )

    def login(self) -> str:
        """A fresh session header for the admin user."""
        answer = self._post("common.db.login", ["admin", {"password": self.password}, "en"], None)
        user, token = answer.json()["result"][:2]
        return "Session " + base64.b64encode(f"admin:{user}:{token}".encode()).decode()

    def call(self, method: str, *params: Any, context: dict[str, Any] | None = None) -> Any:
        """``method`` called with ``params`` and the user's context; Tryton's error raises."""
        if self._session is None:
            self._session = self.login()
            preferences = self._post("model.res.user.get_preferences", [True, {}], self._session)
            self._context = preferences.json()["result"]
        answer = self._post(method, [*params, {**self._context, **(context or {})}], self._session)
        if answer.status_code == 401:
            self._session = None
            return self.call(method, *params, context=context)
        body = json.loads(answer.content, object_hook=_tagged)
        if body.get("error"):
            raise TrytonError(body["error"])
        return body["result"]

    def search_read(self, model: str, domain: list[Any], fields: list[str]) -> list[dict[str, Any]]:
        """Rows of ``model`` as Tryton returns them."""
        rows: list[dict[str, Any]] = self.call(
            f"model.{model}.search_read", domain, 0, None, [["id", "ASC"]], fields
        )
        return rows

    def key_of(self, model: str, record_id: int) -> str:
        """How Keylink names a sale, invoice or purchase (FIGURES.md: by the number people
        use): its number as Tryton has it now, else ``draft-<id>`` (a draft has none)."""
        (row,) = self.search_read(model, [["id", "=", record_id]], ["number"])
        return str(row["number"]) if row.get("number") else f"draft-{record_id}"


SALES_DESK_MODULES = frozenset(
    {"purchase", "sale_discount", "sale_amendment", "account_credit_limit", "project_invoice"}
)
"""The optional modules the demo set-up activates; a config's ``ignore_modules`` with all
of them reads the same database as a Tryton without them."""


class TrytonError(Exception):
    """Tryton answered with an error member."""
