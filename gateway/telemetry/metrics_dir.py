"""Where the worker processes of one ``keylink serve`` keep their metrics."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Read by prometheus-client when first imported: this module must not import it."""


def prepare_metrics_dir(workers: int) -> Path | None:
    """Make ``PROMETHEUS_MULTIPROC_DIR`` ready before the workers start: the directory
    named there, emptied of an earlier run's files (as prometheus-client requires), or,
    with several workers and none named, a new temporary one (set in the environment the
    workers inherit). None: one worker and none named (metrics stay in the process)."""
    named = os.environ.get(MULTIPROC_ENV)
    if named:
        directory = Path(named)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory
    if workers <= 1:
        return None
    directory = Path(tempfile.mkdtemp(prefix="keylink-metrics-"))
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory
