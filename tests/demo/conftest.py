"""Fixtures for the demo upstream tests: one dataset and one set of running upstreams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from demo.data import DemoDataset, generate
from demo.runner import DemoUpstreams

TODAY = date(2025, 11, 28)


@pytest.fixture(scope="session")
def dataset() -> DemoDataset:
    """The dataset every demo test reads (seed 42, a fixed today)."""
    return generate(42, TODAY)


@pytest.fixture(scope="session")
def upstreams(dataset: DemoDataset) -> Iterator[DemoUpstreams]:
    """The three demo upstreams, running for the whole session."""
    with DemoUpstreams(dataset=dataset) as running:
        yield running


@pytest.fixture
def clean(upstreams: DemoUpstreams) -> Iterator[DemoUpstreams]:
    """The upstreams with all knobs and stats reset before and after the test."""
    for knobs in upstreams.knobs.values():
        knobs.reset()
    upstreams.start()
    yield upstreams
    for knobs in upstreams.knobs.values():
        knobs.reset()
    upstreams.start()


@pytest.fixture
def erp(clean: DemoUpstreams) -> Iterator[httpx.Client]:
    """An HTTP client for the ERP."""
    with httpx.Client(base_url=clean.urls["erp"], timeout=5) as client:
        yield client


@pytest.fixture
def crm(clean: DemoUpstreams) -> Iterator[httpx.Client]:
    """An HTTP client for the CRM."""
    with httpx.Client(base_url=clean.urls["crm"], timeout=5) as client:
        yield client


@pytest.fixture
def ts(clean: DemoUpstreams) -> Iterator[httpx.Client]:
    """An HTTP client for the timesheet system."""
    with httpx.Client(base_url=clean.urls["timesheet"], timeout=5) as client:
        yield client
