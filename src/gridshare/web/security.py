"""Sessions, CSRF, login rate limit and security headers for the web app and the API."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridshare.services.sessions import Session
from gridshare.web.errors import ApiError

if TYPE_CHECKING:
    from gridshare.web.context import WebContext

SESSION_COOKIE = "gs_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
MAX_FAILURES = 5
WINDOW_S = 60.0

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    """ASGI middleware adding the security headers (CSP without inline script) to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in HEADERS if h[0] not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class Attempt:
    """A password check counted in advance, as a failure, under `keys` at `stamp`.

    `wait` > 0: refused instead, nothing counted; the keys may try again in `wait` seconds.
    """

    keys: tuple[str, ...]
    stamp: float
    wait: int = 0


def login_keys(client: str, username: str) -> tuple[str, str]:
    """The limiter's keys for a login: the client address and the username."""
    return f"ip:{client}", f"user:{username.lower()}"


class LoginLimiter:
    """At most `max_failures` wrong passwords per key within `window_s`; then 429 until it ends.

    A password check is counted as a failure before it runs (`reserve`) and given back when
    the password was right (`release`), under one lock: requests in flight at the same time
    cannot all pass the check before any failure is counted, so at most `max_failures` checks
    run per key and window, however many arrive at once. Logins count per client address and
    per username (`login_keys`); other password checks (key export) under keys of their own.
    """

    def __init__(
        self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures[key]
        while stamps and now - stamps[0] >= self.window_s:
            stamps.popleft()
        return stamps

    def _wait(self, keys: tuple[str, ...], now: float) -> int:
        """Seconds until every one of `keys` may try again (0: now); call under the lock."""
        waits = [
            self.window_s - (now - stamps[0])
            for key in keys
            if len(stamps := self._recent(key, now)) >= self.max_failures
        ]
        return int(max(waits)) + 1 if waits else 0

    def reserve(self, *keys: str) -> Attempt:
        """Count an attempt as a failure under each of `keys` now, before its password check.

        If one of the keys is already at the limit, nothing is counted and the attempt comes
        back with `wait` > 0: the check must not run.
        """
        with self._lock:
            now = self.clock()  # read under the lock, so every key's stamps stay in order
            wait = self._wait(keys, now)
            if not wait:
                for key in keys:
                    self._recent(key, now).append(now)
                if len(self._failures) > 10_000:  # forget idle keys
                    for key in [k for k, v in self._failures.items() if not v]:
                        del self._failures[key]
        return Attempt(keys, now, wait)

    def release(self, attempt: Attempt) -> None:
        """Give back a reserved attempt whose password was right: it was no failure."""
        if attempt.wait:
            return  # refused: nothing was counted
        with self._lock:
            for key in attempt.keys:
                stamps = self._failures.get(key)
                if stamps is not None and attempt.stamp in stamps:  # else it has expired
                    stamps.remove(attempt.stamp)


def reserve_attempt(
    limiter: LoginLimiter, what: str, *keys: str, field: str = "password"
) -> Attempt:
    """A password check counted in advance under `keys`; 429 naming `field` at the limit.

    `what` names the failures in the message: "Too many {what}; wait N s.".
    """
    attempt = limiter.reserve(*keys)
    if attempt.wait:
        raise ApiError(
            429, "too_many_attempts", f"Too many {what}; wait {attempt.wait} s.", field,
            headers={"Retry-After": str(attempt.wait)},
        )
    return attempt


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _web(request: Request) -> WebContext:
    return cast("WebContext", request.app.state.web)


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure behind TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.settings.secure_cookies),
        path="/",
    )


def current_session(request: Request) -> Session | None:
    """The caller's live session, if the cookie names one."""
    return _web(request).sessions.get(request.cookies.get(SESSION_COOKIE))


def require_user(request: Request) -> Session:
    """FastAPI dependency: a logged-in session (401 otherwise)."""
    session = current_session(request)
    if session is None or session.user is None:
        raise ApiError(401, "login_required", "Log in first.", None)
    return session


def require_csrf(request: Request, session: Annotated[Session, Depends(require_user)]) -> Session:
    """FastAPI dependency for state-changing JSON calls: the X-CSRF-Token header must match."""
    if not session.csrf_ok(request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "csrf", "Missing or wrong CSRF token.", CSRF_HEADER)
    return session


def require_operator(session: Annotated[Session, Depends(require_csrf)]) -> Session:
    """FastAPI dependency: an operator's session with a valid CSRF token."""
    if not session.is_operator:
        raise ApiError(403, "operator_only", "Only the operator may do this.", None)
    return session


def require_operator_read(session: Annotated[Session, Depends(require_user)]) -> Session:
    """FastAPI dependency: an operator's session (reads)."""
    if not session.is_operator:
        raise ApiError(403, "operator_only", "Only the operator may see this.", None)
    return session


def check_form_csrf(session: Session, token: str | None) -> None:
    """For HTML form posts: the hidden csrf_token field must match the session's."""
    if not session.csrf_ok(token):
        raise ApiError(403, "csrf", "Missing or wrong CSRF token.", CSRF_FIELD)
