"""The upstream HTTP client: URLs built from one string exactly as httpx would build them,
and no cookie jar shared between requests."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.http import _absolute

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


@settings(deadline=None)  # each example builds an httpx client: slow on a busy machine
@given(
    base=st.sampled_from(
        ["http://127.0.0.1:9001", "http://127.0.0.1:9001/", "http://127.0.0.1:9001/api/v1"]
    ),
    path=st.sampled_from(["/invoices", "orders", "/a/b", "/x-y_z.json"]),
    params=st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), texts, max_size=4),
)
def test_the_url_is_the_one_httpx_builds(base: str, path: str, params: dict[str, str]) -> None:
    client = httpx.AsyncClient(base_url=base)
    assert _absolute(client, path, params) == client.build_request("GET", path, params=params).url


async def test_an_upstream_cookie_never_rides_along_on_the_next_request() -> None:
    from sources.http import make_client

    seen: list[str | None] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, json=[], headers={"set-cookie": "session=user-a; Path=/"})

    client = make_client("http://127.0.0.1:9", timeout=1, transport=httpx.MockTransport(upstream))
    async with client:
        for _ in range(2):
            (await client.get("/customers")).raise_for_status()
        assert len(client.cookies) == 0
    assert seen == [None, None]
