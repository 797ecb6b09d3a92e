"""Resilience of reaching a system, around any source by what it declares.

- ``guards``: the per-system guards (circuit breaker, bulkhead, throttle after
  ``Retry-After``, request quota) and the process-wide retry budget; pure bookkeeping with
  an injectable clock;
- ``source``: :class:`ResilientSource`, which puts them around an adapter: reads get a
  timeout and budgeted retries, declared writes are sent once and never retried.
"""
