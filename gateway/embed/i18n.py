"""The embed pages' languages: ``lang`` parameter -> BCP 47 locale for the browser's Intl
API, and the UI strings of each in ``gateway/static/embed/i18n/<lang>.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

LOCALES: Final[dict[str, str]] = {
    "en": "en-GB",
    "nb": "nb-NO",
    "da": "da-DK",
    "de": "de-DE",
    "pl": "pl-PL",
}
"""Each supported ``lang`` and the locale its numbers, amounts and dates are formatted in."""
DEFAULT_LANG: Final = "en"
STRINGS_DIR: Final = Path(__file__).resolve().parent.parent / "static" / "embed" / "i18n"


def language(requested: str | None) -> str:
    """``requested`` when it is a supported language (case-insensitive; a region such as
    ``nb-NO`` is reduced to ``nb``), else :data:`DEFAULT_LANG`."""
    if not requested:
        return DEFAULT_LANG
    base = requested.strip().lower().replace("_", "-").split("-")[0]
    if base == "no":  # "Norwegian" without a written standard: Bokmål
        base = "nb"
    return base if base in LOCALES else DEFAULT_LANG


def strings(lang: str) -> dict[str, str]:
    """The UI strings of ``lang`` (a key of :data:`LOCALES`), as shipped."""
    loaded = json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{lang}.json is not an object")
    return {str(k): str(v) for k, v in loaded.items()}
