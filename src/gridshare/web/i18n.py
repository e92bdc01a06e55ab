"""English and Urdu: English text is the key, catalogs map it to other languages."""

from __future__ import annotations

import json
import re
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


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Holes that may hold spaces: a household's name, a search, a built name ("order 7"), a
# reason in the chain's words. Any other value (a number, an amount, an address, a URL) is
# one word, so a pattern such as "Delivery {delivery}" cannot swallow a sentence that merely
# starts with "Delivery".
_FREE_TEXT = frozenset({"name", "q", "what", "reason"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")  # between two English sentences


@cache
def patterns(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The catalog's messages with values in them ("Only {left} Wh of order {order} are
    left."), as patterns that match the English message and the translation to fill in."""
    found = []
    for english, translated in catalog(lang).items():
        if not _PLACEHOLDER.search(english):
            continue
        parts, seen, at = [], set(), 0
        for hole in _PLACEHOLDER.finditer(english):
            name = hole.group(1)
            parts += [re.escape(english[at:hole.start()]),
                      f"(?P={name})" if name in seen
                      else f"(?P<{name}>.+?)" if name in _FREE_TEXT else f"(?P<{name}>\\S+?)"]
            seen.add(name)
            at = hole.end()
        parts.append(re.escape(english[at:]))
        found.append((re.compile("".join(parts), re.DOTALL), translated))
    return tuple(found)


def gettext(lang: str, text: str) -> str:
    """`text` in `lang`, or unchanged if it has no translation.

    A message with values in it is found by its pattern in the catalog, and a message of
    several sentences (the market form's rules, joined) sentence by sentence."""
    code = pick(lang)
    table = catalog(code)
    if not table or not text:
        return text
    exact = table.get(text)
    if exact is not None:
        return exact
    for pattern, translated in patterns(code):
        match = pattern.fullmatch(text)
        if match:
            return translated.format_map(match.groupdict())
    sentences = _SENTENCE_END.split(text)
    if len(sentences) > 1:
        return " ".join(gettext(code, sentence) for sentence in sentences)
    return text
