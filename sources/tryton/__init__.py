"""Tryton as an ERP and a timesheet system (``adapter: tryton``), over its JSON-RPC API.

- ``adapter``: :class:`TrytonSource`, its reads and line edits, and its registration;
- ``rpc``: the JSON-RPC session (login, calls, faults) on Keylink's one HTTP layer.
"""

from sources.tryton.adapter import TrytonConfig, TrytonSource

__all__ = ["TrytonConfig", "TrytonSource"]
