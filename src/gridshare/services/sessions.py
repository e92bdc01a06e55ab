"""Server-side sessions held in memory only: the unlocked key never touches disk."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from gridshare.storage.users import Role, User

IDLE_TIMEOUT_S = 12 * 3600
MAX_SESSIONS = 5000
MAX_SESSIONS_PER_USER = 20  # phones and browsers of one household; more ends its oldest


@dataclass
class Session:
    """One browser or API client. Anonymous until login; `signer` only for server-held keys."""

    id: str
    csrf: str
    user: User | None = None
    signer: LocalAccount | None = field(default=None, repr=False)
    last_seen: float = 0.0
    flash: str | tuple[str, ...] | None = None
    """What the next page says once (several sentences: each a catalog message)."""

    @property
    def is_operator(self) -> bool:
        return self.user is not None and self.user.role is Role.OPERATOR

    def csrf_ok(self, token: str | None) -> bool:
        """Constant-time check of a submitted CSRF token."""
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class SessionStore:
    """Sessions by id, idle ones expired; when full, the least recently used anonymous one
    goes first (`_first_to_go`), and a user's sessions beyond `MAX_SESSIONS_PER_USER`."""

    def __init__(
        self, *, idle_timeout_s: float = IDLE_TIMEOUT_S, max_sessions: int = MAX_SESSIONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()
        self._idle, self._max, self._clock = idle_timeout_s, max_sessions, clock

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (touching it), or None."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            now = self._clock()
            if now - session.last_seen > self._idle:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

    def new(self, user: User | None = None, signer: LocalAccount | None = None) -> Session:
        """A fresh session with a new random id and CSRF token."""
        session = Session(
            id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), user=user,
            signer=signer, last_seen=self._clock(),
        )
        with self._lock:
            self._sessions[session.id] = session
            if user is not None:
                own = [sid for sid, s in self._sessions.items()
                       if s.user is not None and s.user.id == user.id]
                for sid in own[:-MAX_SESSIONS_PER_USER]:  # the user's least recently used
                    del self._sessions[sid]
            while len(self._sessions) > self._max:
                self._sessions.pop(self._first_to_go())
        return session

    def _first_to_go(self) -> str:
        """The session to forget when the store is full: the least recently used anonymous
        one (a page seen without logging in), so a flood of them from a stranger cannot log
        residents out; a signed-in one only when there is no anonymous one left."""
        anonymous = (sid for sid, s in self._sessions.items() if s.user is None)
        return next(anonymous, next(iter(self._sessions)))

    def delete(self, session_id: str) -> None:
        """Forget a session (logout); its key goes with it."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def alive(self, session_id: str) -> bool:
        """Whether the session still stands (not ended, not idle too long), without touching it:
        a stream that outlives its session must stop."""
        with self._lock:
            session = self._sessions.get(session_id)
            return session is not None and self._clock() - session.last_seen <= self._idle

    def end_user(self, user_id: int) -> int:
        """Forget every session of one user (a new password ends them all); how many."""
        with self._lock:
            ended = [sid for sid, session in self._sessions.items()
                     if session.user is not None and session.user.id == user_id]
            for sid in ended:
                del self._sessions[sid]
        return len(ended)

    def __len__(self) -> int:
        return len(self._sessions)
