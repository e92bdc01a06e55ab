"""The session store: a flood of anonymous sessions cannot log residents out."""

from __future__ import annotations

from gridshare.services.sessions import MAX_SESSIONS_PER_USER, SessionStore
from gridshare.storage.users import Role, User


def _user(user_id: int) -> User:
    return User(id=user_id, username=f"house-{user_id:02d}", password_hash="x",
                role=Role.RESIDENT, address="0x" + f"{user_id:040x}", keystore=None,
                house_id=user_id)  # fmt: skip


def test_a_flood_of_anonymous_sessions_evicts_anonymous_ones_not_the_logged_in() -> None:
    """A tester sent 5,100 GET /login without a cookie: every resident and the operator were
    logged out, their unlocked keys dropped with their sessions."""
    store = SessionStore(max_sessions=100)
    residents = [store.new(_user(i)) for i in range(1, 11)]
    for _ in range(1_000):
        store.new()
    assert len(store) == 100
    assert all(store.get(s.id) is s for s in residents)


def test_a_user_keeps_at_most_its_recent_sessions_and_the_store_stays_bounded() -> None:
    store = SessionStore(max_sessions=100)
    other = store.new(_user(2))
    mine = [store.new(_user(1)) for _ in range(MAX_SESSIONS_PER_USER + 5)]
    assert [store.get(s.id) for s in mine[:5]] == [None] * 5  # the oldest went
    assert all(store.get(s.id) is s for s in mine[5:])
    assert store.get(other.id) is other  # another household's untouched
    for i in range(3, 200):  # only signed-in sessions, more than fit: the oldest go
        store.new(_user(i))
    assert len(store) == 100
