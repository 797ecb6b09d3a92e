"""Apollo's composition library and gateway (npm ``@apollo/composition``,
``@apollo/gateway``), run by node for the tests.

The npm packages are pinned by ``node/package.json`` and ``node/package-lock.json`` and
installed with ``npm ci`` into ``.cache/federation`` (again whenever the lock file
changes). Without node or npm the tests skip with the reason, except under ``CI=true``,
where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.npm import install_pinned

HERE = Path(__file__).resolve().parent
NODE_PROJECT = HERE / "node"


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


def install_composer(cache: Path) -> Composer:
    """The composer, with the pinned npm packages installed into ``cache`` (see
    ``tests.support.npm.install_pinned``)."""
    node, modules = install_pinned(NODE_PROJECT, cache, "the federation composition test")
    return Composer(node, modules)
