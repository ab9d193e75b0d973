"""Each worker's session cache (consulting/session_cache.py): what it spares, what it trades.

The trade, documented in docs/decisions.md: a revocation made elsewhere (another worker, an
operator) is seen by this worker within ``session_cache_seconds``. Everything else must be
exactly as without the cache.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlmodel import update

from consulting.core.actors import Actor, Role
from consulting.core.resources import Resources
from consulting.core.session_cache import SessionCache
from models import AuthSession
from models._common import utcnow
from services import sessions
from tests.api import Api


def check(api: Api, token: str, user_id: int, status: int = 200) -> None:
    api.call("GET", "/api/user/post/check", params={"user_id": user_id}, token=token, status=status)


def revoke_behind_the_workers_back(res: Resources) -> None:
    with res.db.unit_of_work() as session:
        session.exec(update(AuthSession).values(revoked_at=utcnow()))


def test_a_remembered_session_is_not_looked_up_again(
    api: Api, res: Resources, statements: list[str]
) -> None:
    buyer = api.buyer()
    check(api, buyer.token, buyer.id)
    statements.clear()
    check(api, buyer.token, buyer.id)
    assert statements, "the list itself is read"
    assert not [s for s in statements if "auth_sessions" in s]


def test_logout_is_seen_at_once_by_the_worker_that_served_it(api: Api) -> None:
    buyer = api.buyer()
    check(api, buyer.token, buyer.id)  # now remembered
    api.ok("POST", "/api/user/logout", token=buyer.token)
    check(api, buyer.token, buyer.id, status=401)


@pytest.mark.settings(session_cache_seconds=0.3)
def test_a_revocation_elsewhere_is_seen_within_the_cache_window(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    check(api, buyer.token, buyer.id)
    revoke_behind_the_workers_back(res)
    check(api, buyer.token, buyer.id)  # the documented trade: still remembered
    time.sleep(0.4)
    check(api, buyer.token, buyer.id, status=401)


@pytest.mark.settings(session_cache_seconds=0)
def test_without_the_cache_a_revocation_elsewhere_is_seen_at_once(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    check(api, buyer.token, buyer.id)
    revoke_behind_the_workers_back(res)
    check(api, buyer.token, buyer.id, status=401)


@pytest.mark.settings(session_lifetime_seconds=1, session_cache_seconds=60)
def test_a_remembered_session_still_expires_on_time(api: Api) -> None:
    buyer = api.buyer()
    check(api, buyer.token, buyer.id)
    time.sleep(1.1)
    check(api, buyer.token, buyer.id, status=401)


def test_unknown_tokens_are_not_remembered(api: Api, res: Resources) -> None:
    for n in range(5):
        assert sessions.resolve(res, f"made-up-{n}") is None
    assert res.session_cache.get(sessions.digest("made-up-0")) is None
    assert len(res.session_cache) == 0


def test_the_cache_is_bounded_and_forgets_by_session() -> None:
    cache = SessionCache(seconds=60, size=2)
    later = utcnow() + timedelta(hours=1)
    for n in (1, 2, 3):
        cache.put(f"digest-{n}", Actor(Role.BUYER, n, session_id=n), later)
    assert len(cache) == 2
    assert cache.get("digest-1") is None
    assert cache.get("digest-3") == Actor(Role.BUYER, 3, session_id=3)
    cache.forget(3)
    assert cache.get("digest-3") is None
    assert cache.get("digest-2") is not None


def test_an_entry_is_forgotten_when_its_session_expires_even_if_cached_longer() -> None:
    cache = SessionCache(seconds=60, size=10)
    actor = Actor(Role.BUYER, 1, session_id=1)
    cache.put("soon", actor, utcnow() + timedelta(seconds=0.2))
    cache.put("later", actor, utcnow() + timedelta(hours=1))
    assert cache.get("soon") == cache.get("later") == actor
    time.sleep(0.3)
    assert cache.get("soon") is None and cache.get("later") == actor
