"""Jinja2 rendering for the pages: language, direction, CSRF token and money formatting."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from datetime import tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridshare.domain import format_coins
from gridshare.local_time import (
    MONTHS,
    MONTHS_SHORT,
    UTC,
    abbreviation,
    day_and_time,
    offset_s,
    time_of_day,
)
from gridshare.services.sessions import Session
from gridshare.web import i18n
from gridshare.web.assets import Assets
from gridshare.web.head_requests import asked_head

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
VENDOR = {  # served from node_modules (never committed, never a CDN)
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "ethers.umd.min.js": "ethers/dist/ethers.umd.min.js",
}


_SCRIPT_TEXT = re.compile(r'\btr\("((?:[^"\\]|\\.)*)"')


@cache
def script_texts() -> tuple[str, ...]:
    """The texts the page scripts show, found as their `tr("...")` calls in static/**/*.js."""
    found = {text for script in STATIC.rglob("*.js")
             for text in _SCRIPT_TEXT.findall(script.read_text(encoding="utf-8"))}
    return tuple(sorted(found))


def script_words(lang: str, more: Iterable[str] = ()) -> dict[str, str] | None:
    """The scripts' texts in `lang` for the page to carry (None in English: nothing to say),
    and `more`: texts the server sends a page's script later (in English, as the API says
    them), which it shows through `tr` as well."""
    if lang == i18n.DEFAULT:
        return None
    return {text: i18n.gettext(lang, text) for text in (*script_texts(), *more)}


def node_modules() -> Path | None:
    """The project's node_modules directory (searched upwards from here and from cwd)."""
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "node_modules"
            if (candidate / "uplot").is_dir():
                return candidate
    return None


def asset_file(path: str) -> Path | None:
    """The file behind an asset URL's path (/static/…, /explorer/static/…, /vendor/…)."""
    if path.startswith("/vendor/"):
        root, name = node_modules(), path.removeprefix("/vendor/")
        return root / VENDOR[name] if root is not None and name in VENDOR else None
    for prefix, folder in (("/explorer/static/", STATIC / "explorer"), ("/static/", STATIC)):
        if path.startswith(prefix):
            file = folder / path.removeprefix(prefix)
            inside = file.resolve().is_relative_to(folder.resolve())
            return file if inside and file.is_file() else None
    return None


ASSETS = Assets(asset_file)  # read-only fingerprints, shared by every app in the process


def coins(wei: int, places: int = 2) -> str:
    """Wei as coins with at least `places` decimals and as many more as the amount has: exact,
    never cut (a bid at 0.00009 is not shown as 0.0000, nor 0.009 locked as 0.00)."""
    whole, _, frac = format_coins(int(wei), decimals=18).partition(".")
    frac = frac.rstrip("0").ljust(places, "0")
    return f"{whole}.{frac}" if frac else whole


def rounded_coins(wei: int, places: int = 4) -> str:
    """Wei as coins rounded to `places` decimals (half up): for a computed figure such as an
    average price, which has no exact amount to keep (a balance is shown by `coins`)."""
    step = 10 ** (18 - places)
    units = (int(wei) + step // 2) // step
    return f"{units // 10**places}.{units % 10**places:0{places}d}"


def _digits(text: str) -> bool:
    """Only ASCII digits 0-9 ("²" and "١" pass `str.isdigit` but are not amounts)."""
    return text.isascii() and text.isdigit()


MISSING = "—"  # a value the meter did not give (never "None")


def measure(value: int | None, scale: int = 1, places: int = 1) -> str:
    """A meter value divided by `scale`, with always `places` decimals (half away from zero:
    12300 mV is "12.30" V, not "12.3"); "—" if there is none. app.js's `measure` redraws
    the live values the same way."""
    if value is None:
        return MISSING
    if scale == 1:
        return str(value)
    unit = 10**places
    units = (2 * abs(value) * unit + scale) // (2 * scale)  # |value| / scale in 1/unit, half up
    sign = "-" if value < 0 and units else ""
    whole, frac = divmod(units, unit)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def clock(epoch: int | None, zone: tzinfo = UTC) -> str:
    """A Unix time as the village's time of day, "14:05:09 PKT" (app.js formats live updates
    the same way, from the page's `data-zone-offset` and `data-zone`); "—" if there is none."""
    if epoch is None:
        return MISSING
    return time_of_day(epoch, zone)


@cache
def month_names(lang: str) -> tuple[str, ...]:
    """The months as a page in `lang` names them: "Nov" in English, "نومبر" in Urdu (whose
    catalog translates the full English names; Urdu does not shorten them)."""
    if lang == i18n.DEFAULT:
        return MONTHS_SHORT
    return tuple(i18n.gettext(lang, name) for name in MONTHS)


def day_month_time(epoch: int, zone: tzinfo = UTC, lang: str = i18n.DEFAULT) -> str:
    """"30 Nov 13:32" in the page's language ("30 نومبر 13:32" in Urdu)."""
    return day_and_time(epoch, zone, month_names(lang))


def parse_coins(text: str) -> int | None:
    """A decimal amount of coins ("0.05") as wei, without floats; None if malformed."""
    text = text.strip()
    whole, _, frac = text.partition(".")
    if not whole:
        whole = "0"
    if not (_digits(whole) and (frac == "" or _digits(frac))) or len(frac) > 18:
        return None
    return int(whole) * 10**18 + int(frac.ljust(18, "0") or "0")


def new_request_key() -> str:
    """A fresh key for one form: posting the same form twice places one order, not two."""
    return secrets.token_urlsafe(16)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["coins"] = coins
    templates.env.filters["rounded_coins"] = rounded_coins
    templates.env.filters["measure"] = measure
    templates.env.filters["clock"] = clock
    templates.env.filters["day_and_time"] = day_month_time
    templates.env.globals["request_key"] = new_request_key
    templates.env.globals["asset"] = ASSETS.url
    return templates


def language(request: Request) -> str:
    return i18n.pick(request.cookies.get(i18n.COOKIE))


def language_values(request: Request) -> dict[str, Any]:
    """What every page's template needs for the visitor's language: `lang`, `dir`, `t`, the
    scripts' words, and the switch (`languages`, and `here` to come back to)."""
    lang, direction = i18n.translator(language(request))
    return {
        "lang": lang,
        "dir": direction,
        "languages": i18n.LANGUAGES,
        "t": lambda text: i18n.gettext(lang, text),
        "script_words": script_words(lang),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def render(
    templates: Jinja2Templates, request: Request, name: str, session: Session | None,
    status: int = 200, **values: Any,
) -> HTMLResponse:
    """Render `name` in the visitor's language with their session's CSRF token and flash.

    A page for a logged-in user is `Cache-Control: no-store`: after logout on a shared phone,
    Back must not show the previous resident's address and balances from the cache."""
    flash: str | tuple[str, ...] | None = None
    if session is not None:
        flash = session.flash
        if not asked_head(request):  # a HEAD leaves it for the GET that shows it
            session.flash = None
    flashes = tuple(f for f in ((flash,) if isinstance(flash, str) else flash or ()) if f)
    settings = request.app.state.settings
    zone, now = settings.zone, int(time.time())
    response = templates.TemplateResponse(
        request,
        name,
        {
            **language_values(request),
            "session": session,
            "user": session.user if session else None,
            "csrf": session.csrf if session else "",
            "flashes": flashes,
            "symbol": settings.coin_symbol,
            "zone": zone,
            "zone_offset": offset_s(now, zone),
            "zone_name": abbreviation(now, zone),
            "path": request.url.path,
            **values,
        },
        status_code=status,
    )
    if session is not None and session.user is not None:
        response.headers["cache-control"] = "no-store"
    return response
