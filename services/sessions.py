"""Opaque session tokens: random, stored only as SHA-256, with expiry and revocation.

Every authenticated request resolves its token, so the lookup is the hottest read there is:
it is one prepared Core statement, and each worker remembers what it resolved for
``session_cache_seconds`` (``consulting.core.session_cache``). The cache only holds sessions that
were valid when read, never serves one past its expiry, and forgets a session the moment
this worker revokes it; what it trades is that another worker may still accept a revoked
token for up to ``session_cache_seconds`` (docs/decisions.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlmodel import Session

from consulting.core.actors import Actor, Role
from consulting.core.clock import utcnow
from consulting.core.database import Query, driver_time
from consulting.core.resources import Resources
from models import AuthSession

SESSIONS = AuthSession.__table__  # type: ignore[attr-defined]


class SessionRow(NamedTuple):
    id: int
    token_hash: str
    role: str
    account_id: int
    expires_at: datetime | str
    revoked_at: datetime | str | None


_BY_DIGEST = Query(
    select(
        SESSIONS.c.id,
        SESSIONS.c.token_hash,
        SESSIONS.c.role,
        SESSIONS.c.account_id,
        SESSIONS.c.expires_at,
        SESSIONS.c.revoked_at,
    ).where(SESSIONS.c.token_hash == bindparam("digest")),
    SessionRow,
)


def digest(token: str) -> str:
    """What is stored and remembered of a token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, res: Resources, role: Role, account_id: int) -> str:
    """A new token for the account; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthSession(
            token_hash=digest(token),
            role=role.value,
            account_id=account_id,
            created_at=now,
            expires_at=now + timedelta(seconds=res.settings.session_lifetime_seconds),
        )
    )
    return token


def remembered(res: Resources, token: str) -> Actor | None:
    """The actor this worker resolved for ``token`` moments ago, without touching the database."""
    if not token or len(token) > 256:
        return None
    return res.session_cache.get(digest(token))


def resolve(res: Resources, token: str) -> Actor | None:
    """The actor a token stands for, or None if it is unknown, expired or revoked."""
    if not token or len(token) > 256:
        return None
    hashed = digest(token)
    found = res.db.read(_BY_DIGEST, {"digest": hashed})
    if not found:
        return None
    row = found[0]
    if not hmac.compare_digest(row.token_hash, hashed) or row.revoked_at is not None:
        return None
    expires = driver_time(row.expires_at)
    if expires <= utcnow():
        return None
    actor = Actor(role=Role(row.role), account_id=row.account_id, session_id=row.id)
    res.session_cache.put(hashed, actor, expires)
    return actor


def revoke(res: Resources, actor: Actor) -> None:
    res.session_cache.forget(actor.session_id)
    with res.db.unit_of_work() as session:
        row = session.get(AuthSession, actor.session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
