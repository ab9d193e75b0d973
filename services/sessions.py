"""Opaque session tokens: random, stored only as SHA-256, with expiry and revocation.

Every authenticated request resolves its token, so the lookup is the hottest read there is:
it is one prepared Core statement, and each worker remembers what it resolved for
``session_cache_seconds`` (``consulting.session_cache``). The cache only holds sessions that
were valid when read, never serves one past its expiry, and forgets a session the moment
this worker revokes it; what it trades is that another worker may still accept a revoked
token for up to ``session_cache_seconds`` (docs/decisions.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from consulting.db import driver_time
from consulting.resources import Resources
from models import AuthSession
from models._common import utcnow
from services.actors import Actor, Role

SESSIONS = AuthSession.__table__  # type: ignore[attr-defined]
_BY_DIGEST = select(
    SESSIONS.c.id,
    SESSIONS.c.token_hash,
    SESSIONS.c.role,
    SESSIONS.c.account_id,
    SESSIONS.c.expires_at,
    SESSIONS.c.revoked_at,
).where(SESSIONS.c.token_hash == bindparam("digest"))


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
    found = res.db.fetch(_BY_DIGEST, {"digest": hashed})
    if not found:
        return None
    session_id, token_hash, role, account_id, expires_at, revoked_at = found[0]
    if not hmac.compare_digest(token_hash, hashed) or revoked_at is not None:
        return None
    expires = driver_time(expires_at)
    if expires <= utcnow():
        return None
    actor = Actor(role=Role(role), account_id=account_id, session_id=session_id)
    res.session_cache.put(hashed, actor, expires)
    return actor


def revoke(res: Resources, actor: Actor) -> None:
    res.session_cache.forget(actor.session_id)
    with res.db.transaction() as session:
        row = session.get(AuthSession, actor.session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
