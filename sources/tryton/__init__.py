"""Tryton as an ERP and a timesheet system (``adapter: tryton``), over its JSON-RPC API.

- ``adapter``: :class:`TrytonSource` put together from the parts below, and registered;
- ``config``: its ``systems:`` entry; ``rpc``: the JSON-RPC session on Keylink's HTTP layer;
- ``core`` (session, parties, credit), ``modules`` (which optional modules are active),
  ``keys`` (sales, invoices and purchases by number);
- reads: ``sales``, ``catalogue``, ``invoices``, ``purchases``, ``projects``;
- edits: ``pricing`` (Tryton's ``on_change``), ``amendments`` (``sale_amendment``),
  ``editing``, ``writes``, ``previews``.
"""

from sources.tryton.adapter import TrytonSource
from sources.tryton.config import TrytonConfig

__all__ = ["TrytonConfig", "TrytonSource"]
