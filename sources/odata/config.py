"""The ``systems:`` entry of an ERP read through its OData v4 service (``adapter: odata``).

``url`` is the service root (the URL ``$metadata`` hangs off); ``spec`` the YAML file that
names the service's entity sets, keys and properties (``sources.odata.spec``). The password
of Basic auth comes from the environment only (``password_env``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from sources.config import BasicAuth, BearerAuth, SystemConfigBase


class OdataConfig(SystemConfigBase):
    """A ``systems:`` entry served by the OData v4 adapter."""

    adapter: Literal["odata"]
    url: str = Field(description="the service root, e.g. https://erp/sap/opu/odata4/API_SALES")
    spec: Path
    auth: BasicAuth | BearerAuth | None = Field(default=None, discriminator="type")
    headers: dict[str, str] = Field(default_factory=dict)
    max_connections: int = Field(default=50, ge=1, le=1000)
    max_concurrent_batches: int = Field(
        default=8, ge=1, le=100, description="batches of one read sent at once"
    )
