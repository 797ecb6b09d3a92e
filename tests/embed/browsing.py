"""Opening a page in the rig's chromium: every request the browser makes and every console
message are recorded, the page's load time is measured and printed (not asserted)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from tests.embed.conftest import EmbedRig, artifacts


@dataclass
class Visit:
    """One page in a fresh browser context, and what the browser did for it."""

    page: Any
    origin: str
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    responses: list[tuple[str, int, bytes]] = field(default_factory=list)
    load_seconds: float = 0.0

    def foreign_requests(self) -> list[str]:
        """Requests to any origin but the gateway's (``data:`` URLs are not requests)."""
        return [
            url
            for url in self.requests
            if not url.startswith("data:")
            and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != self.origin
        ]

    def screenshot(self, name: str) -> None:
        """A full-page screenshot saved as a test artefact."""
        self.page.screenshot(path=str(artifacts() / f"{name}.png"), full_page=True)

    def wait_ready(self) -> None:
        """Wait until the page's script has drawn the answer (or its error page)."""
        self.page.wait_for_selector("html[data-ready='true']", state="attached", timeout=30_000)


def embed_url(rig: EmbedRig, kind: str, system: str, key: str, lang: str, token: str) -> str:
    """The page's URL as the CRM embeds it: the token in the fragment."""
    query = f"system={quote(system)}&key={quote(key)}&lang={lang}"
    return f"{rig.url}/embed/{kind}?{query}#token={quote(token, safe='')}"


@contextmanager
def visit(browser: Any, rig: EmbedRig, url: str, *, wait: bool = True) -> Iterator[Visit]:
    """``url`` opened in a fresh context (no cookies, no storage), recorded."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    seen = Visit(page, rig.url)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", lambda message: seen.console.append(f"{message.type}: {message.text}"))

    def keep(response: Any) -> None:
        if "/graphql" in response.url:
            try:
                seen.responses.append((response.url, response.status, response.body()))
            except Exception:  # a body the browser no longer holds
                seen.responses.append((response.url, response.status, b""))

    page.on("response", keep)
    try:
        started = time.perf_counter()
        page.goto(url)
        if wait:
            seen.wait_ready()
        seen.load_seconds = time.perf_counter() - started
        print(f"\n{urlsplit(url).path}: loaded in {seen.load_seconds * 1000:.0f} ms")  # noqa: T201
        yield seen
    finally:
        context.close()
