"""The forms that wait for a login (web/unsent_forms.py) are bounded in count, size and time,
and go only to the login they wait for."""

from __future__ import annotations

from starlette.requests import Request

from gridshare.web.market_form import FIELD_CHARS
from gridshare.web.unsent_forms import UnsentForms, same_origin

AMINA = "0xAbC0000000000000000000000000000000000001"
TYPED = {"form": "sell", "amount_wh": "77", "price": "0.045", "minutes": "60"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_login_it_waits_for_takes_it_once() -> None:
    forms = UnsentForms()
    form_id = forms.keep("browser", AMINA, "/market", TYPED)
    assert forms.waiting("browser") == form_id and forms.waiting("other") is None
    unsent = forms.claim(form_id, "browser", AMINA.lower())  # addresses in any case
    assert unsent is not None and dict(unsent.values) == TYPED and unsent.page == "/market"
    assert forms.claim(form_id, "browser", AMINA) is None and len(forms) == 0


def test_another_account_or_browser_gets_nothing_and_ends_it() -> None:
    forms = UnsentForms()
    for browser, owner in (("browser", "0x" + "2" * 40), ("other", AMINA)):
        form_id = forms.keep("browser", AMINA, "/market", TYPED)
        assert forms.claim(form_id, browser, owner) is None
        assert forms.claim(form_id, "browser", AMINA) is None  # gone
    assert forms.claim("", "browser", AMINA) is None


def test_a_form_waits_ten_minutes() -> None:
    clock = Clock()
    forms = UnsentForms(clock=clock)
    form_id = forms.keep("browser", AMINA, "/market", TYPED)
    clock.now += 601
    assert forms.waiting("browser") is None
    assert forms.claim(form_id, "browser", AMINA) is None


def test_a_stranger_cannot_grow_it_past_its_bounds() -> None:
    forms = UnsentForms(limit=3)
    first = forms.keep("b0", AMINA, "/market", TYPED)
    for n in range(1, 1000):
        forms.keep(f"b{n}", AMINA, "/market", {"amount_wh": "9" * 100_000})
    assert len(forms) == 3 and forms.claim(first, "b0", AMINA) is None
    last = forms.waiting("b999")
    assert last is not None
    unsent = forms.claim(last, "b999", AMINA)
    assert unsent is not None and len(unsent.values["amount_wh"]) == FIELD_CHARS


def test_a_browser_has_one_waiting_form_its_latest() -> None:
    forms = UnsentForms()
    forms.keep("browser", AMINA, "/market", TYPED)
    latest = forms.keep("browser", AMINA, "/market", {**TYPED, "amount_wh": "78"})
    assert len(forms) == 1 and forms.waiting("browser") == latest


def sent_with(**headers: str) -> Request:
    pairs = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/market/orders",
                    "headers": [(b"host", b"127.0.0.1:8000"), *pairs]})


def test_only_a_form_from_our_own_pages_is_kept() -> None:
    """Chromium sends `Origin: null` from our pages (Referrer-Policy: no-referrer), and
    `Sec-Fetch-Site`; a browser without it at least a matching `Origin`."""
    assert same_origin(sent_with(origin="null", sec_fetch_site="same-origin"))
    assert not same_origin(sent_with(origin="null", sec_fetch_site="cross-site"))
    assert not same_origin(sent_with(sec_fetch_site="same-site"))
    assert same_origin(sent_with(origin="http://127.0.0.1:8000"))
    assert not same_origin(sent_with(origin="http://evil.example"))
    assert not same_origin(sent_with(origin="null"))
    assert same_origin(sent_with())  # no browser: it keeps for itself only
