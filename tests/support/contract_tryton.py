"""The contract suite's business facts made in a real Tryton: a private copy of the seeded
database on which tests/contract/tryton_facts.py (Tryton's own workflow, through proteus)
runs before trytond starts, and Keylink's Tryton adapter over it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from sources.tryton import TrytonConfig, TrytonSource
from tests.support.contract import Seeded, TransportWrapper
from tests.support.tryton import PASSWORD_ENV, REPO, TrytonServer

WRITE_METHODS = frozenset({"create", "write", "delete", "quote", "confirm", "draft", "cancel"})


class FactsTryton(TrytonServer):
    """``TrytonServer`` whose database holds the contract's facts instead of the Tryton
    tests' scenario (``scenario`` is then the facts' summary)."""

    scenario_script = REPO / "tests" / "contract" / "tryton_facts.py"

    @property
    def seeded(self) -> Seeded:
        return Seeded.from_json(self.scenario)

    def gateway_system(self, ignore_modules: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The ``systems:`` entry of a Keylink over this server (leaving
        ``ignore_modules`` alone, as if Tryton had not activated them)."""
        return {
            "kind": ["erp"],
            "adapter": "tryton",
            "url": self.url,
            "database": self.database,
            "timeout": 10,
            "auth": {"username": "admin", "password_env": PASSWORD_ENV},
            "ignore_modules": sorted(ignore_modules),
        }

    def adapter(
        self, wrap: TransportWrapper | None = None, ignore_modules: frozenset[str] = frozenset()
    ) -> TrytonSource:
        """Keylink's Tryton adapter over this server, as an ERP and a timesheet (so the
        project's hours are read from it); ``wrap`` wraps its HTTP."""
        config = TrytonConfig(
            kind=["erp", "timesheet"],
            adapter="tryton",
            url=self.url,
            database=self.database,
            auth={"username": "admin", "password_env": PASSWORD_ENV},
            ignore_modules=ignore_modules,
        )
        transport = None
        if wrap is not None:
            transport = wrap(httpx.AsyncHTTPTransport())
        return TrytonSource("tryton", config, transport)


def is_write(request: httpx.Request) -> bool:
    """A JSON-RPC call that changes data (``model.sale.line.write`` and the like)."""
    try:
        method = str(json.loads(request.content).get("method", ""))
    except (ValueError, AttributeError):
        return False
    return method.startswith("model.") and method.rsplit(".", 1)[-1] in WRITE_METHODS
