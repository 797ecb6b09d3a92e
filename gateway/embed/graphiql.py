"""The GraphiQL page, built on the assets shipped in ``gateway/static/graphiql`` (no CDN).

Its scripts and styles come from this gateway only (``/static/graphiql/...``); the page has
no inline script or style, and its CSP allows nothing from another origin (fonts and icons
are ``data:`` URLs inside GraphiQL's own stylesheet).
"""

from __future__ import annotations

from typing import Final

from fastapi.responses import HTMLResponse

from gateway.embed.assets import asset_version

SCRIPTS: Final = (
    "graphiql/react.production.min.js",
    "graphiql/react-dom.production.min.js",
    "graphiql/graphiql.min.js",
    "graphiql/keylink-graphiql.js",
)
STYLES: Final = ("graphiql/graphiql.min.css", "graphiql/keylink-graphiql.css")
GRAPHIQL_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _url(relative: str) -> str:
    return f"/static/{relative}?v={asset_version(relative)}"


def graphiql_html() -> str:
    """The page's HTML: the shipped styles, a mount point, the shipped scripts."""
    styles = "\n".join(f'    <link rel="stylesheet" href="{_url(s)}">' for s in STYLES)
    scripts = "\n".join(f'    <script src="{_url(s)}" defer></script>' for s in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <link rel="icon" href="data:,">
    <title>Keylink GraphiQL</title>
{styles}
{scripts}
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading…</div>
  </body>
</html>
"""


def graphiql_response() -> HTMLResponse:
    """The GraphiQL page with its CSP and no-sniff, no-referrer headers."""
    return HTMLResponse(
        graphiql_html(),
        headers={
            "Content-Security-Policy": GRAPHIQL_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
