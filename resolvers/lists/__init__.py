"""List queries and aggregates over linked entities.

``customers``/``projects``/``suppliers`` are Relay connections over the link map's
entities, filtered and sorted on fields of any system; ``customerTotals`` adds figures up
per group. The modules: ``cursors`` (opaque cursors and the total order), ``inputs`` (the
GraphQL filter and order inputs), ``facts`` (the upstream data a filter or sort needs,
read in bounded batches through the request's loaders), ``selection`` (candidates from the
link map or from a search pushed down to the CRM or the ERP, then the remaining
conditions), ``keyset`` (a page in link-map id order read in the link map itself, its cost
following the page, not the map), ``crm_pages`` (a page filtered and ordered by the CRM's
own paged search), ``memo`` (what an export remembers of its list across pages),
``ordering`` (sort keys), ``specs`` (what each kind of entity can be filtered and sorted
by), ``connections`` (the connection types and paging) and ``aggregates`` (totals per
currency and group).
"""
