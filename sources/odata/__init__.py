"""The OData v4 adapter (``adapter: odata``): an ERP read through its OData service.

``config`` (the ``systems:`` entry), ``spec`` (the YAML spec: entity sets, key and
properties per read; the order-line edits), ``wire`` (filters, query options, exact
decimals, error bodies, one GET), ``source`` (the reads, the record mapping, the
registration), ``writes`` (order-line edits with ETags) and ``check`` (``$metadata``
against the spec, at start-up and by ``keylink check``).
"""

from sources.odata.config import OdataConfig
from sources.odata.source import OdataSource

__all__ = ["OdataConfig", "OdataSource"]
