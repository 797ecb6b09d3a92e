"""linkmap stays at the bottom of the dependency graph and ships its migrations."""

from __future__ import annotations

import subprocess
import sys

from linkmap.migrate import MIGRATIONS_DIR, head_revision

FORBIDDEN = ("gateway", "resolvers", "sources", "demo", "strawberry", "fastapi", "graphql")


def test_linkmap_imports_nothing_from_above() -> None:
    code = (
        "import sys, linkmap, linkmap.store, linkmap.migrate, linkmap.models\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_migrations_live_inside_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert head_revision()
