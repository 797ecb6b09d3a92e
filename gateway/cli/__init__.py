"""The ``keylink`` command (``main``), with its sub-commands in their own modules:
``keys`` (API keys), ``links`` (bulk import and export of the link map), ``query``
(a document's answer as a file) and ``config`` (the shared ``--config`` option)."""
