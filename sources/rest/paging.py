"""How a REST endpoint pages, one small class per style, registered by name.

A spec's ``pagination: {style: <name>, ...}`` picks a ``PagingStyle`` from ``PAGING_STYLES``.
Each style says three things: the parameters of the first request, the parameters of every
remaining request at once when the first answer tells how many there are (sent
concurrently), and otherwise the parameters of the next request read from the last answer
(``None``: stop). A new style is one subclass and one ``register_paging_style`` call.

Styles: ``page`` (page number and size), ``offset`` (offset and size), ``none`` (one
request) and ``cursor`` (an opaque position token read from a body field or from a
``Link: <...>; rel="next"`` header, sent back in ``cursor_param``).
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sources.translate import lookup


class Pagination(BaseModel):
    """How an endpoint pages: ``style`` names a registered ``PagingStyle``; the other fields
    are that style's parameters (each style reads the ones it needs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    style: str = "page"
    page_param: str = "page"
    size_param: str = "per_page"
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    cursor_from: Literal["body", "link"] = "body"
    """Where the ``cursor`` style reads the next position: the body field ``next``, or the
    ``cursor_param`` of the ``Link`` header's ``rel="next"`` URL."""
    first_page: int = 1
    page_size: int = Field(default=100, ge=1, le=10_000)
    items: str = "items"
    total: str | None = "total"
    next: str | None = "next_page"
    max_pages: int = Field(default=1000, ge=1)

    @field_validator("style")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in PAGING_STYLES:
            raise ValueError(f"unknown pagination style {value!r}; known: {sorted(PAGING_STYLES)}")
        return value

    @property
    def paging_style(self) -> PagingStyle:
        """The registered style object this pagination names."""
        return PAGING_STYLES[self.style]


@dataclass(frozen=True)
class PageAnswer:
    """One page as the upstream answered it: the decoded body, its item list, its headers,
    and which page it was (0 for the first)."""

    body: Any
    items: list[Any]
    headers: httpx.Headers
    index: int


class PagingStyle(ABC):
    """One way of walking an endpoint's pages (see the module docstring)."""

    name: ClassVar[str]

    @abstractmethod
    def first(self, paging: Pagination) -> dict[str, str]:
        """The paging parameters of the first request."""

    def all_remaining(self, paging: Pagination, first: PageAnswer) -> list[dict[str, str]] | None:
        """When ``first`` tells how many pages there are, the paging parameters of every
        remaining request (sent at once, within ``max_pages``); ``None`` when it does not."""
        return None

    @abstractmethod
    def following(self, paging: Pagination, last: PageAnswer) -> dict[str, str] | None:
        """The paging parameters of the request after ``last``; ``None`` when it was the
        last page."""


class _NumberedStyle(PagingStyle):
    """A style whose n-th page is addressed by a number the client computes."""

    @abstractmethod
    def nth(self, paging: Pagination, index: int) -> dict[str, str]:
        """The paging parameters of page ``index`` (0 for the first)."""

    def first(self, paging: Pagination) -> dict[str, str]:
        """Page 0."""
        return self.nth(paging, 0)

    def all_remaining(self, paging: Pagination, first: PageAnswer) -> list[dict[str, str]] | None:
        """Every page up to ``total`` (when the body has an integer ``total``)."""
        total = lookup(first.body, paging.total) if paging.total else None
        if not isinstance(total, int) or isinstance(total, bool):
            return None
        count = min(math.ceil(total / paging.page_size), paging.max_pages)
        return [self.nth(paging, index) for index in range(1, count)]

    def following(self, paging: Pagination, last: PageAnswer) -> dict[str, str] | None:
        """The next page while the body's ``next`` is set (or, without a ``next`` field,
        while the last page was full)."""
        if paging.next is not None:
            more = lookup(last.body, paging.next) not in (None, False, "")
        else:
            more = len(last.items) >= paging.page_size
        return self.nth(paging, last.index + 1) if more else None


class PageNumberStyle(_NumberedStyle):
    """``page`` (from ``first_page``) and ``per_page`` parameters."""

    name = "page"

    def nth(self, paging: Pagination, index: int) -> dict[str, str]:
        """Page number ``first_page + index``."""
        return {
            paging.page_param: str(paging.first_page + index),
            paging.size_param: str(paging.page_size),
        }


class OffsetStyle(_NumberedStyle):
    """``offset`` and size parameters."""

    name = "offset"

    def nth(self, paging: Pagination, index: int) -> dict[str, str]:
        """Offset ``index * page_size``."""
        return {
            paging.offset_param: str(index * paging.page_size),
            paging.size_param: str(paging.page_size),
        }


class SingleRequestStyle(PagingStyle):
    """No paging: one request returns everything."""

    name = "none"

    def first(self, paging: Pagination) -> dict[str, str]:
        """No paging parameters."""
        return {}

    def all_remaining(self, paging: Pagination, first: PageAnswer) -> list[dict[str, str]] | None:
        """Nothing remains."""
        return []

    def following(self, paging: Pagination, last: PageAnswer) -> dict[str, str] | None:
        """Never a next request."""
        return None


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL_NEXT = re.compile(r'rel\s*=\s*"?([^";]*)"?', re.IGNORECASE)


def next_link(headers: httpx.Headers) -> str | None:
    """The URL of the ``Link`` header entry whose ``rel`` includes ``next``, if any."""
    for header in headers.get_list("link"):
        for match in _LINK.finditer(header):
            url, attributes = match.group(1), match.group(2)
            for rel in _REL_NEXT.findall(attributes):
                if "next" in rel.lower().split():
                    return url
    return None


class CursorStyle(PagingStyle):
    """An opaque position token: the first request sends only the size; each answer names
    the next position (body field ``next``, or the ``Link`` header's ``rel="next"`` URL),
    sent back as ``cursor_param``. Pages are walked one after another."""

    name = "cursor"

    def first(self, paging: Pagination) -> dict[str, str]:
        """Only the page size."""
        return {paging.size_param: str(paging.page_size)}

    def at(self, paging: Pagination, cursor: str | None, size: int) -> dict[str, str]:
        """The paging parameters of a page of ``size`` starting after ``cursor``
        (``None``: the first page)."""
        params = {paging.size_param: str(size)}
        if cursor is not None:
            params[paging.cursor_param] = cursor
        return params

    def cursor_after(self, paging: Pagination, answer: PageAnswer) -> str | None:
        """The position token of the page after ``answer``; ``None`` at the end."""
        if paging.cursor_from == "link":
            url = next_link(answer.headers)
            if url is None:
                return None
            value = httpx.URL(url).params.get(paging.cursor_param)
            return value or None
        if paging.next is None:
            return None
        value = lookup(answer.body, paging.next)
        if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
            return None
        return str(value)

    def following(self, paging: Pagination, last: PageAnswer) -> dict[str, str] | None:
        """The page after ``last``'s position token, while there is one."""
        cursor = self.cursor_after(paging, last)
        return None if cursor is None else self.at(paging, cursor, paging.page_size)


PAGING_STYLES: dict[str, PagingStyle] = {}
"""Every registered paging style by the name a spec uses."""


def register_paging_style(style: PagingStyle) -> None:
    """Make ``style`` available to specs as ``pagination: {style: <style.name>}``."""
    if style.name in PAGING_STYLES:
        raise ValueError(f"paging style {style.name!r} is already registered")
    PAGING_STYLES[style.name] = style


for _style in (PageNumberStyle(), OffsetStyle(), SingleRequestStyle(), CursorStyle()):
    register_paging_style(_style)


def item_list(body: Any, paging: Pagination) -> list[Any] | None:
    """The items of a page: the body itself when it is a list, else the ``items`` field;
    ``None`` when there is no list there."""
    items = body if isinstance(body, list) else lookup(body, paging.items)
    return items if isinstance(items, list) else None


__all__ = [
    "PAGING_STYLES",
    "CursorStyle",
    "OffsetStyle",
    "PageAnswer",
    "PageNumberStyle",
    "Pagination",
    "PagingStyle",
    "SingleRequestStyle",
    "item_list",
    "next_link",
    "register_paging_style",
]
