"""Opaque session tokens: random, stored only as SHA-256, with expiry and revocation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlmodel import Session, select

from consulting.resources import Resources
from models import AuthSession
from models._common import utcnow
from services.actors import Actor, Role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, res: Resources, role: Role, account_id: int) -> str:
    """A new token for the account; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        AuthSession(
            token_hash=_digest(token),
            role=role.value,
            account_id=account_id,
            created_at=now,
            expires_at=now + timedelta(seconds=res.settings.session_lifetime_seconds),
        )
    )
    return token


def resolve(res: Resources, token: str) -> Actor | None:
    """The actor a token stands for, or None if it is unknown, expired or revoked."""
    if not token or len(token) > 256:
        return None
    digest = _digest(token)
    with res.db.reading() as session:
        row = session.exec(select(AuthSession).where(AuthSession.token_hash == digest)).first()
    if row is None or row.id is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return Actor(role=Role(row.role), account_id=row.account_id, session_id=row.id)


def revoke(res: Resources, actor: Actor) -> None:
    with res.db.transaction() as session:
        row = session.get(AuthSession, actor.session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
