"""Pinned npm packages for tests that drive JavaScript tools (Apollo's composition and
gateway, the graphql-http audit): installed with ``npm ci`` from a committed package-lock
into a cache folder, again only when the lock file changes."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PINNED = ("package.json", "package-lock.json")
"""The files that pin a node project's packages."""


def unavailable(reason: str, what: str) -> None:
    """Skip for ``reason``, or fail under CI=true: ``what`` must not be skipped there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} and CI=true: {what} must not be skipped")
    pytest.skip(reason)


def install_pinned(project: Path, cache: Path, what: str) -> tuple[str, Path]:
    """node and the ``node_modules`` of ``project``'s pinned packages, installed into
    ``cache`` (``npm ci``; only when missing or when the lock file changed). Skips without
    node/npm (fails under CI=true); an install that fails (no registry) fails the test."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable(f"node and npm are needed to run {what}", what)
        raise AssertionError("unreachable")
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, also across processes
        installed = cache / "node_modules" / ".package-lock.json"
        current = all(
            (cache / name).exists() and (cache / name).read_bytes() == (project / name).read_bytes()
            for name in PINNED
        )
        if not (current and installed.exists()):
            for name in PINNED:
                shutil.copyfile(project / name, cache / name)
            done = subprocess.run(
                [npm, "ci", "--prefix", str(cache), "--ignore-scripts", "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return node, cache / "node_modules"
