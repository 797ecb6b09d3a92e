"""The page a CRM embeds (``/embed/customer``, ``/embed/project``), its tokens
(``POST /embed/tokens``), the static assets shipped in the package (``/static/...``) and
the GraphiQL page built on them. ``gateway.embed.routes.install`` wires them into an app.

This package's ``__init__`` imports nothing, so ``gateway.settings`` can import
``gateway.embed.settings`` without a cycle.
"""
