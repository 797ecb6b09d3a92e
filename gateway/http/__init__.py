"""What happens to an HTTP request before and around GraphQL execution.

- ``graphql``: the one parse of a ``/graphql`` or ``/export`` body (strict UTF-8 JSON);
- ``body``: reading a body in ASGI middleware and handing it on;
- ``limits`` and ``cost``: what a document may ask for, checked before anything runs;
- ``ratelimit``: per-principal operation budgets; ``deadline``: the whole-request deadline;
- ``persisted``: the persisted-operation safelist and APQ;
- ``response_cache``: whole answers of queries, in memory or Redis;
- ``responses``: GraphQL-shaped refusals sent before strawberry runs.
"""
