"""Normalised forms of what identifies a company, for matching records of two systems.

Pure functions, no I/O. Names lose case, diacritics, punctuation and legal forms (AS, ASA,
AB, GmbH, Ltd, Sp. z o.o., ApS, A/S, ...), and common abbreviations are written out; VAT
and organisation numbers lose their country prefix, spaces, dots and dashes (and Norway's
``MVA``); postcodes lose spaces, dashes and a country prefix (``D-10115``, ``SE-123 45``);
e-mail domains of free-mail providers are no evidence and normalise to None.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

_SPECIAL_LETTERS = str.maketrans(
    {
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "ß": "ss",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
    }
)
"""Letters NFKD does not decompose into a base letter plus a mark."""

LEGAL_FORMS: tuple[tuple[str, ...], ...] = tuple(
    tuple(form.split())
    for form in (
        "as",
        "asa",
        "a s",
        "ab",
        "publ",
        "aktiebolag",
        "aktieselskab",
        "aksjeselskap",
        "gmbh",
        "g m b h",
        "gmbh co kg",
        "gmbh and co kg",
        "and co kg",
        "and co",
        "ag",
        "kg",
        "ohg",
        "ug",
        "e k",
        "ltd",
        "limited",
        "plc",
        "llp",
        "llc",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "sp z o o",
        "spolka z o o",
        "spzoo",
        "sp zoo",
        "spolka z ograniczona odpowiedzialnoscia",
        "s a",
        "sa",
        "aps",
        "i s",
        "k s",
        "oy",
        "oyj",
        "ehf",
        "hf",
        "bv",
        "b v",
        "nv",
        "sarl",
        "sas",
        "srl",
        "spa",
        "ou",
        "da",
        "ans",
        "enk",
        "ba",
        "hb",
        "kb",
    )
)
"""Legal forms, as token sequences after punctuation is gone (``Sp. z o.o.`` is
``sp z o o``); stripped from the end of a name, repeatedly (``GmbH & Co. KG``)."""

ABBREVIATIONS: dict[str, str] = {
    "intl": "international",
    "int": "international",
    "internat": "international",
    "svcs": "service",
    "svc": "service",
    "serv": "service",
    "services": "service",
    "mfg": "manufacturing",
    "eng": "engineering",
    "engg": "engineering",
    "tech": "technology",
    "techn": "technology",
    "techs": "technologies",
    "grp": "group",
    "hldg": "holding",
    "hldgs": "holdings",
    "bros": "brothers",
    "assoc": "associates",
    "sys": "systems",
    "ctr": "center",
    "centre": "center",
    "transp": "transport",
    "dept": "department",
    "mgmt": "management",
    "mgt": "management",
    "cons": "consulting",
    "dist": "distribution",
    "distr": "distribution",
    "ind": "industries",
    "inds": "industries",
    "natl": "national",
    "eiend": "eiendom",
    "elektr": "elektro",
    "og": "and",
    "och": "and",
    "und": "and",
}
"""Abbreviations and connectives written out, so "Nord Transp. og Logistikk" and
"Nord Transport & Logistikk" compare equal."""

FREE_MAIL: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.no",
        "hotmail.se",
        "hotmail.de",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "live.no",
        "live.se",
        "msn.com",
        "yahoo.com",
        "yahoo.no",
        "yahoo.se",
        "yahoo.de",
        "yahoo.co.uk",
        "icloud.com",
        "me.com",
        "aol.com",
        "mail.com",
        "gmx.de",
        "gmx.net",
        "gmx.com",
        "web.de",
        "t-online.de",
        "online.no",
        "frisurf.no",
        "telia.com",
        "wp.pl",
        "onet.pl",
        "o2.pl",
        "interia.pl",
        "protonmail.com",
        "proton.me",
        "jubii.dk",
        "mail.dk",
        "btinternet.com",
    }
)
"""Free-mail providers: a shared domain there says nothing about a company."""

_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_VAT_PREFIX = re.compile(r"^[A-Z]{2}(?=[0-9])")
_POSTCODE_PREFIX = re.compile(r"^[A-Z]{1,3}-(?=[0-9])")


def fold(text: str) -> str:
    """``text`` in lower case without diacritics (``Ø`` -> ``o``, ``ß`` -> ``ss``)."""
    lowered = text.casefold().translate(_SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_BY_LENGTH = sorted(LEGAL_FORMS, key=len, reverse=True)
_LONG_FORMS = [form[0] for form in LEGAL_FORMS if len(form) == 1 and len(form[0]) >= 6]


def _strip_legal_forms(tokens: list[str]) -> list[str]:
    stripped = True
    while stripped and len(tokens) > 1:
        stripped = False
        for form in _BY_LENGTH:
            if len(form) < len(tokens) and tuple(tokens[-len(form) :]) == form:
                tokens = tokens[: -len(form)]
                stripped = True
                break
        else:  # a misspelt long legal form ("Limted", "Aktiebolg")
            if len(tokens) > 1 and any(fuzz.ratio(tokens[-1], form) >= 85 for form in _LONG_FORMS):
                tokens = tokens[:-1]
                stripped = True
    return tokens


def name_tokens(name: str) -> list[str]:
    """The words of a company name that identify it: folded, without punctuation, with
    abbreviations written out and trailing legal forms removed (never the last word)."""
    text = fold(name).replace("&", " and ").replace("+", " and ")
    text = _PUNCTUATION.sub(" ", text)
    tokens = [t for t in _SPACES.split(text) if t]
    tokens = _strip_legal_forms(tokens)
    return [ABBREVIATIONS.get(t, t) for t in tokens]


def normal_name(name: str) -> str:
    """A company name as compared: its :func:`name_tokens` joined by spaces."""
    return " ".join(name_tokens(name))


def normal_vat(vat: str | None) -> str | None:
    """A VAT or organisation number without country prefix, spaces, dots or dashes (and
    Norway's trailing ``MVA``); None for nothing usable."""
    if not vat:
        return None
    text = re.sub(r"[\s.\-/]", "", vat.upper())
    text = _VAT_PREFIX.sub("", text)
    if text.endswith("MVA"):
        text = text[:-3]
    return text if len(text) >= 5 and any(ch.isdigit() for ch in text) else None


def normal_postcode(postcode: str | None) -> str | None:
    """A postcode without a country prefix (``D-``, ``SE-``), spaces or dashes."""
    if not postcode:
        return None
    text = _POSTCODE_PREFIX.sub("", postcode.strip().upper())
    text = re.sub(r"[\s\-]", "", text)
    return text or None


def normal_domain(domain: str | None) -> str | None:
    """An e-mail domain (or address) in lower case without ``www.``; None for a
    free-mail provider."""
    if not domain:
        return None
    text = domain.strip().lower().rsplit("@", 1)[-1].strip(".")
    if text.startswith("www."):
        text = text[4:]
    if not text or "." not in text or text in FREE_MAIL:
        return None
    return text


def normal_city(city: str | None) -> str | None:
    """A city name folded, without punctuation."""
    if not city:
        return None
    text = _SPACES.sub(" ", _PUNCTUATION.sub(" ", fold(city))).strip()
    return text or None


def distinct(values: Iterable[str | None]) -> list[str]:
    """The values that are set, once each, in order."""
    return list(dict.fromkeys(v for v in values if v))


__all__ = [
    "ABBREVIATIONS",
    "FREE_MAIL",
    "LEGAL_FORMS",
    "distinct",
    "fold",
    "name_tokens",
    "normal_city",
    "normal_domain",
    "normal_name",
    "normal_postcode",
    "normal_vat",
]
