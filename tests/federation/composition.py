"""Apollo's composition library and gateway (npm ``@apollo/composition``,
``@apollo/gateway``), run by node for the tests.

The npm packages are pinned by ``node/package.json`` and ``node/package-lock.json`` and
installed with ``npm ci`` into ``.cache/federation`` (again whenever the lock file
changes). Without node or npm the tests skip with the reason, except under ``CI=true``,
where they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
NODE_PROJECT = HERE / "node"
PINNED = ("package.json", "package-lock.json")


@dataclass(frozen=True)
class Composition:
    """The outcome of composing subgraphs: error messages, hints, the supergraph SDL."""

    errors: list[str]
    hints: list[str]
    supergraph_sdl: str | None


@dataclass(frozen=True)
class Composer:
    """Runs the scripts in ``node/`` with the packages installed in ``modules``."""

    node: str
    modules: Path

    def compose(self, subgraphs: dict[str, str], urls: dict[str, str] | None = None) -> Composition:
        """Compose ``subgraphs`` (name -> SDL) the way a router's build step does;
        ``urls`` (name -> GraphQL endpoint) are where a router will find them."""
        services = [
            {"name": name, "url": (urls or {}).get(name, f"http://127.0.0.1/{name}"), "sdl": sdl}
            for name, sdl in subgraphs.items()
        ]
        out: dict[str, Any] = self._run("compose.cjs", services)
        return Composition(out["errors"], out["hints"], out["supergraphSdl"])

    def execute(
        self,
        supergraph_sdl: str,
        operations: list[dict[str, Any]],
        headers: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Run ``operations`` (``{"query", "variables"}``) through Apollo Gateway over
        ``supergraph_sdl``, which calls the subgraphs over HTTP with ``headers``; one
        ``{"data", "errors"}`` per operation."""
        request = {"supergraphSdl": supergraph_sdl, "operations": operations}
        results: list[dict[str, Any]] = self._run(
            "supergraph.cjs", {**request, "headers": headers or {}}
        )
        return results

    def _run(self, script: str, payload: object) -> Any:
        done = subprocess.run(
            [self.node, str(NODE_PROJECT / script)],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NODE_PATH": str(self.modules)},
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} and CI=true: the federation composition test must not be skipped")
    pytest.skip(reason)


def install_composer(cache: Path) -> Composer:
    """The composer, with the pinned npm packages installed into ``cache`` (``npm ci``;
    only when missing or when the lock file changed). Skips without node/npm (fails under
    CI=true); an install that fails (no registry) fails the test."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are needed to run Apollo's composition library")
        raise AssertionError("unreachable")
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, also across processes
        installed = cache / "node_modules" / ".package-lock.json"
        current = all(
            (cache / name).exists()
            and (cache / name).read_bytes() == (NODE_PROJECT / name).read_bytes()
            for name in PINNED
        )
        if not (current and installed.exists()):
            for name in PINNED:
                shutil.copyfile(NODE_PROJECT / name, cache / name)
            done = subprocess.run(
                [npm, "ci", "--prefix", str(cache), "--ignore-scripts", "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return Composer(node, cache / "node_modules")
