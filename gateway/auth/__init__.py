"""Who is calling and what they may do.

- ``settings``: the ``auth:`` block (API keys, JWT, dev headers);
- ``middleware``: the ASGI layer that puts a principal on every request, or refuses it;
- ``principal``: the principal, its roles and row scope, as resolvers see it.
"""
