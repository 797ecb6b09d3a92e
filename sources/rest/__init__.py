"""The declarative REST/JSON adapter (``adapter: rest``): one YAML spec per system.

- ``adapter``: :class:`RestSource`, its reads and searches, and its registration;
- ``spec``: the spec model (operations, filters, field maps, writes), checked on load;
- ``paging``: the paging styles a spec may name, one class each;
- ``writes``: order-line edits sent as the spec declares them.
"""

from sources.rest.adapter import RestConfig, RestSource

__all__ = ["RestConfig", "RestSource"]
