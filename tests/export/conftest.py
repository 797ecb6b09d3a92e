"""Fixtures for the export tests: the demo customers to export and their expected rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from demo.links import demo_links
from demo.runner import DemoUpstreams
from tests.export.expected import expected_overviews

MONEY = "{ amount currency }"
OVERVIEW_DOCUMENT = f"""
query CustomerOverview($keys: [String!]!, $after: String) {{
  customers(filter: {{keys: {{system: "erp", keys: $keys}}}}, first: 100, after: $after) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{
      node {{
        erp {{ key name currency creditLimit {MONEY} }}
        financialOverview {{
          openBalance {MONEY}
          overdueAmount {MONEY}
          overdueCount
          revenueYearToDate {MONEY}
          revenueSamePeriodLastYear {MONEY}
          openOrdersValue {MONEY}
          hoursThisMonth
          unbilledHours
        }}
      }}
    }}
  }}
}}
"""
"""The demo customers holding the given ERP keys with their overview fields, paged through
the ``customers`` connection 100 at a time (the export follows ``endCursor``)."""


@pytest.fixture(scope="session")
def customer_keys(live_upstreams: DemoUpstreams) -> dict[str, str | None]:
    """ERP number -> timesheet key of every demo customer linked to an ERP customer."""
    keys: dict[str, str | None] = {}
    for link in demo_links(live_upstreams.dataset):
        if link.kind == "customer" and link.keys.get("erp"):
            timesheet = link.keys.get("timesheet")
            keys[link.keys["erp"][0]] = timesheet[0] if timesheet else None
    assert len(keys) >= 200
    return keys


@pytest.fixture(scope="session")
def expected_rows(
    live_upstreams: DemoUpstreams, customer_keys: dict[str, str | None]
) -> dict[str, dict[str, Any]]:
    """ERP number -> expected overview, computed from the upstreams' raw JSON."""
    urls = live_upstreams.urls
    with (
        httpx.Client(base_url=urls["erp"], timeout=30) as erp,
        httpx.Client(base_url=urls["timesheet"], timeout=30) as ts,
    ):
        return expected_overviews(erp, ts, customer_keys, date.today())
