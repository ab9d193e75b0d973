"""Signin by phone, registration, login and logout, for buyers and consultants alike.

The two kinds of account have the same rules (sections 1.1 and 2.1 of the source are copies
of each other), so one set of functions serves both, parameterised by :class:`Role`.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from consulting.core.actors import Actor, Role
from consulting.core.clock import utcnow
from consulting.core.database import Query
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.resources import Resources
from models import Consultant, User
from services import ratelimit, sessions, sms

ACCOUNT_MODELS: dict[Role, type[User] | type[Consultant]] = {
    Role.BUYER: User,
    Role.CONSULTANT: Consultant,
}


class CredentialsRow(NamedTuple):
    id: int
    password_hash: str


def _credentials(model: type[User] | type[Consultant]) -> Query[CredentialsRow]:
    table: sa.Table = model.__table__  # type: ignore[union-attr]
    query = sa.select(table.c.id, table.c.password_hash)
    return Query(query.where(table.c.username_key == bindparam("username_key")), CredentialsRow)


_CREDENTIALS = {role: _credentials(model) for role, model in ACCOUNT_MODELS.items()}

# Verified in place of a real hash when the username is unknown, so a miss costs the same
# time as a wrong password and does not reveal which usernames exist.
_DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105


def _phone_is_bound(session: Session, role: Role, phone_number: str) -> bool:
    model = ACCOUNT_MODELS[role]
    return (
        session.exec(select(model.id).where(model.phone_number == phone_number)).first() is not None
    )


def signin(res: Resources, role: Role, phone_number: str, verification_code: str) -> None:
    """Verify a phone with its SMS code (1.1.1 / 2.1.1); register may then bind it."""
    with res.db.unit_of_work() as session:
        if _phone_is_bound(session, role, phone_number):
            raise ApiError(ErrorCode.PHONE_TAKEN)
        verified = sms.check_code(session, res, phone_number, verification_code)
    if not verified:
        raise ApiError(ErrorCode.VERIFICATION_CODE_INVALID)


def register(
    res: Resources,
    role: Role,
    *,
    username: str,
    password: str,
    password_again: str,
    realname: str | None = None,
    email: str | None = None,
    gender: int | None = None,
    phone_number: str | None = None,
) -> int:
    """Create an account (1.1.2 / 2.1.2) and return its new id."""
    if password != password_again:
        raise ApiError(ErrorCode.PASSWORD_MISMATCH)
    if phone_number is None and res.settings.require_verified_phone:
        raise ApiError(ErrorCode.PHONE_NOT_VERIFIED, "phone_number is required")
    password_hash = res.hasher.hash(password)  # slow on purpose: outside the transaction
    model = ACCOUNT_MODELS[role]
    key = username.lower()
    try:
        with res.db.unit_of_work() as session:
            if session.exec(select(model.id).where(model.username_key == key)).first() is not None:
                raise ApiError(ErrorCode.USERNAME_TAKEN)
            if phone_number is not None:
                if not sms.is_verified(session, res, phone_number, utcnow()):
                    raise ApiError(ErrorCode.PHONE_NOT_VERIFIED)
                if _phone_is_bound(session, role, phone_number):
                    raise ApiError(ErrorCode.PHONE_TAKEN)
            account = model(
                username=username,
                username_key=key,
                password_hash=password_hash,
                realname=realname,
                email=email,
                gender=gender,
                phone_number=phone_number,
            )
            session.add(account)
            session.flush()
            assert account.id is not None
            return account.id
    except IntegrityError as exc:  # a concurrent register won the unique key
        conflict = (
            ErrorCode.USERNAME_TAKEN if "username" in str(exc.orig) else ErrorCode.PHONE_TAKEN
        )
        raise ApiError(conflict) from None


def login(
    res: Resources, role: Role, username: str, password: str, client_address: str
) -> tuple[int, str]:
    """Check the password (1.1.3 / 2.1.3); return the account id and a new session token.

    Failures are counted per username and per client address; past the limit the answer is
    429 before the password is even looked at.
    """
    settings = res.settings
    window = settings.login_failure_window_seconds
    user_key = f"login:{role.value}:{username.lower()}"
    address_key = f"login-addr:{client_address}"
    model = ACCOUNT_MODELS[role]
    now = utcnow()
    if (
        ratelimit.current(res.db, user_key, now, window) >= settings.login_max_failures
        or ratelimit.current(res.db, address_key, now, window)
        >= settings.login_max_failures_per_address
    ):
        raise ApiError(ErrorCode.TOO_MANY_LOGIN_ATTEMPTS, headers={"Retry-After": str(window)})
    found = res.db.read(_CREDENTIALS[role], {"username_key": username.lower()})
    account = found[0] if found else None

    stored_hash = account.password_hash if account is not None else None
    if not _password_matches(res, stored_hash, password) or account is None:
        with res.db.unit_of_work() as session:
            ratelimit.hit(session, user_key, now, window)
            ratelimit.hit(session, address_key, now, window)
        raise ApiError(ErrorCode.LOGIN_FAILED)

    with res.db.unit_of_work() as session:
        ratelimit.reset(session, user_key)
        if res.hasher.check_needs_rehash(account.password_hash):
            stored = session.get(model, account.id)
            if stored is not None:
                stored.password_hash = res.hasher.hash(password)
        token = sessions.open_session(session, res, role, account.id)
    return account.id, token


def _password_matches(res: Resources, password_hash: str | None, password: str) -> bool:
    try:
        res.hasher.verify(password_hash or _dummy_hash(res.hasher), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(_DUMMY_PASSWORD)


def logout(res: Resources, actor: Actor, role: Role) -> None:
    """Revoke the session (x-extension); its token stops working on every worker at once."""
    actor.require(role)
    sessions.revoke(res, actor)
