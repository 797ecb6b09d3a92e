"""Upstream URLs are built from one string, exactly as httpx would build them."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from sources.http import _absolute

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


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
