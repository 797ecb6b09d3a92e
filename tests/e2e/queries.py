"""GraphQL documents the end-to-end tests send: the demo's own overview documents
(``demo/queries.py``), which the overview benchmark sends too."""

from demo.queries import CUSTOMER, CUSTOMERS_BY_KEY, OVERVIEW_FIELDS

__all__ = ["CUSTOMER", "CUSTOMERS_BY_KEY", "OVERVIEW_FIELDS"]
