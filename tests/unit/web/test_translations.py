"""Every sentence the pages can show has its Urdu: the template texts, and the messages the
server puts on a page (flash messages, error pages, form rules). A text missing from the
catalog shows in English inside a right-to-left page, its full stop on the wrong side."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gridshare.services.accounts import PHRASE_RULE
from gridshare.web.error_pages import OUT_OF_DATE, WORDS
from gridshare.web.market_form import AMOUNT_RULE, MINUTES_RULE
from gridshare.web.page_login import LOGGED_OUT, SESSION_EXPIRED
from gridshare.web.routes.pages import STALE_PAGE
from gridshare.web.routes.pages_password import CHANGED, DIFFER

TEMPLATES = Path(__file__).parents[3] / "src" / "gridshare" / "web" / "templates"
URDU = json.loads((TEMPLATES / "_locales" / "ur.json").read_text(encoding="utf-8"))
LITERAL = re.compile(r"""\bt\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")
MESSAGES = [LOGGED_OUT, SESSION_EXPIRED, STALE_PAGE, OUT_OF_DATE, *WORDS.values(), AMOUNT_RULE,
            MINUTES_RULE, DIFFER, CHANGED, PHRASE_RULE]


def template_texts() -> set[str]:
    found = set()
    for template in TEMPLATES.rglob("*.html"):
        for double, single in LITERAL.findall(template.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def test_the_templates_are_read() -> None:
    texts = template_texts()
    assert {"Log in", "Forgot your password?", "connected"} <= texts  # the pattern finds them
    assert len(texts) > 60


@pytest.mark.parametrize("text", sorted(template_texts()) + MESSAGES)
def test_every_text_a_page_shows_has_its_urdu(text: str) -> None:
    assert URDU.get(text, "").strip(), f"no Urdu for {text!r}"
