"""English and Urdu: English text is the key, catalogs map it to other languages."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = {"en": ("English", "ltr"), "ur": ("اردو", "rtl")}
DEFAULT = "en"
COOKIE = "gs_lang"
_CATALOGS = Path(__file__).parent / "templates" / "_locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    """The translations for `lang` (empty for English)."""
    path = _CATALOGS / f"{lang}.json"
    if lang == DEFAULT or not path.exists():
        return {}
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def pick(value: str | None) -> str:
    """A supported language code (the default for anything else)."""
    return value if value in LANGUAGES else DEFAULT


def translator(lang: str) -> tuple[str, str]:
    """(language, direction) after validation."""
    code = pick(lang)
    return code, LANGUAGES[code][1]


def gettext(lang: str, text: str) -> str:
    """`text` in `lang`, or unchanged if it has no translation."""
    return catalog(pick(lang)).get(text, text)
