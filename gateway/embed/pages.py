"""The HTML of the embed pages: a shell that loads the shipped script and stylesheet, which
read the token from the URL fragment and draw everything from Keylink's GraphQL answer.

The shell holds no data (it is served without a credential); what it names (kind, system,
key, language) comes from the URL and is HTML-escaped. Every page, the error page too, is
sent with :func:`security_headers`: a CSP allowing scripts, styles and connections to this
origin only (no inline script or style), ``frame-ancestors`` from ``embed.frame_ancestors``,
no referrer, no caching.
"""

from __future__ import annotations

from html import escape
from typing import Final

from fastapi.responses import HTMLResponse

from gateway.embed.assets import asset_version
from gateway.embed.i18n import LOCALES, strings

SCRIPT: Final = "embed/embed.js"
STYLE: Final = "embed/embed.css"


def security_headers(frame_ancestors: str) -> dict[str, str]:
    """The headers of every embed page; ``frame_ancestors`` is the CSP source list."""
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )
    return {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }


def _head(lang: str, title: str) -> str:
    style = f"/static/{STYLE}?v={asset_version(STYLE)}"
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{style}">\n'
    )


def page_html(kind: str, system: str, key: str, lang: str) -> str:
    """The shell of the ``kind`` page (``customer`` or ``project``) for ``key`` in
    ``system``, in ``lang`` (a key of :data:`~gateway.embed.i18n.LOCALES`)."""
    script = f"/static/{SCRIPT}?v={asset_version(SCRIPT)}"
    loading = strings(lang).get("loading", "Loading…")
    return (
        _head(lang, "Keylink") + f'<script src="{script}" defer></script>\n</head>\n<body>\n'
        f'<main id="keylink" data-kind="{escape(kind)}" data-system="{escape(system)}" '
        f'data-key="{escape(key)}" data-lang="{escape(lang)}" '
        f'data-locale="{escape(LOCALES[lang])}" aria-busy="true">\n'
        f'<p class="kl-loading" role="status">{escape(loading)}</p>\n'
        "</main>\n</body>\n</html>\n"
    )


def error_html(lang: str, message: str) -> str:
    """A page showing only ``message`` (no data, no script)."""
    title = strings(lang).get("errorTitle", "This view cannot be shown")
    return (
        _head(lang, title) + '</head>\n<body>\n<main id="keylink" class="kl-error-page">\n'
        f'<div class="kl-error" role="alert"><h1>{escape(title)}</h1>'
        f"<p>{escape(message)}</p></div>\n</main>\n</body>\n</html>\n"
    )


def page_response(html: str, frame_ancestors: str, status: int = 200) -> HTMLResponse:
    """``html`` as an embed page response with :func:`security_headers`."""
    return HTMLResponse(html, status_code=status, headers=security_headers(frame_ancestors))
