"""Signin by phone, registration, login and logout, for buyers and consultants alike.

The two kinds of account have the same rules (sections 1.1 and 2.1 of the source are copies
of each other), so one set of functions serves both, parameterised by :class:`Role`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
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
from consulting.core.settings import Settings
from models import Consultant, User
from services import passwords, ratelimit, sessions, sms

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


def signin(res: Resources, role: Role, phone_number: str, verification_code: str) -> str:
    """Verify a phone with its SMS code (1.1.1 / 2.1.1); return the phone ticket register binds
    it with. The code is checked first: without it a bound phone looks like any other (40002)."""
    ticket = None
    with res.db.unit_of_work() as session:
        verified = sms.check_code(session, res, phone_number, verification_code)
        bound = verified is not None and _phone_is_bound(session, role, phone_number)
        if verified is not None and not bound:
            ticket = sms.issue_ticket(verified, role)
    if verified is None:
        raise ApiError(ErrorCode.VERIFICATION_CODE_INVALID)
    if ticket is None:
        raise ApiError(ErrorCode.PHONE_TAKEN)
    return ticket


def register(
    res: Resources,
    role: Role,
    *,
    username: str,
    password: str,
    password_again: str,
    client_address: str | None = None,
    realname: str | None = None,
    email: str | None = None,
    gender: int | None = None,
    phone_number: str | None = None,
    phone_ticket: str | None = None,
) -> int:
    """Create an account (1.1.2 / 2.1.2) and return its new id.

    The cheap refusals come before the slow hash: passwords that differ or are weak, a phone
    without its ticket, and more registrations from ``client_address`` than its limit (None: an
    operator's or a seed's registration, which no client address is charged for).
    """
    settings = res.settings
    if password != password_again:
        raise ApiError(ErrorCode.PASSWORD_MISMATCH)
    if phone_number is None and settings.require_verified_phone:
        raise ApiError(ErrorCode.PHONE_NOT_VERIFIED, "phone_number is required")
    if phone_number is not None and phone_ticket is None:
        raise ApiError(ErrorCode.PHONE_NOT_VERIFIED, "phone_ticket from signin is required")
    passwords.check(password, username)
    if client_address is not None:
        _count_registration(res, role, client_address)
    password_hash = res.hasher.hash(password)  # slow on purpose: outside the transaction
    model = ACCOUNT_MODELS[role]
    key = username.lower()
    try:
        with res.db.unit_of_work() as session:
            if session.exec(select(model.id).where(model.username_key == key)).first() is not None:
                raise ApiError(ErrorCode.USERNAME_TAKEN)
            if phone_number is not None and phone_ticket is not None:
                if not sms.use_ticket(session, res, role, phone_number, phone_ticket, utcnow()):
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


def _count_registration(res: Resources, role: Role, client_address: str) -> None:
    """One more registration from this address in the window; 42902 past the limit."""
    settings = res.settings
    now = utcnow()
    window = settings.register_window_seconds
    with res.db.unit_of_work() as session:
        taken = ratelimit.take(session, f"register:{role.value}:{client_address}", now, window)
        if taken.count > settings.register_max_per_address:
            wait = ratelimit.until_window_ends(now, window)
            raise ApiError(ErrorCode.TOO_MANY_REGISTRATIONS, headers={"Retry-After": str(wait)})


def login_delay(settings: Settings, failures: int) -> int:
    """Seconds the next login of a username must wait after ``failures`` failures in the
    window: none before ``login_delay_after``, then 1, 2, 4 ... at most
    ``login_delay_max_seconds``."""
    if failures < settings.login_delay_after:
        return 0
    exponent = min(failures - settings.login_delay_after, 32)
    return int(min(2**exponent, settings.login_delay_max_seconds))


def login_wait(
    settings: Settings,
    now: datetime,
    pair: ratelimit.Taken,
    address: ratelimit.Taken,
    user: ratelimit.Taken,
) -> int | None:
    """Seconds this login attempt must wait (42900), or None: it may check the password.

    Each count includes this attempt. Past the limit for (username, address) or for the
    address, that address waits for the window's end; past the username's ceiling, everyone
    does; before it, a username with many failures waits a growing delay after the last one.
    """
    window = settings.login_failure_window_seconds
    if (
        pair.count > settings.login_max_failures
        or address.count > settings.login_max_failures_per_address
        or user.count > settings.login_max_failures_per_username
    ):
        return ratelimit.until_window_ends(now, window)
    delay = login_delay(settings, user.count - 1)
    if delay and user.previous_at is not None and now < user.previous_at + timedelta(seconds=delay):
        return ratelimit.seconds_left(user.previous_at + timedelta(seconds=delay), now)
    return None


def login(
    res: Resources, role: Role, username: str, password: str, client_address: str
) -> tuple[int, str]:
    """Check the password (1.1.3 / 2.1.3); return the account id and a new session token.

    The attempt is counted as a failure before the password is checked (per username and
    address, per address, per username: :func:`login_wait` decides), so that concurrent
    guesses cannot all pass a limit read before any of them was recorded; a right password
    clears the username's counts and gives the address its count back.
    """
    settings = res.settings
    window = settings.login_failure_window_seconds
    name = username.lower()
    now = utcnow()
    with res.db.unit_of_work() as session:
        pair = ratelimit.take(session, f"login:{role.value}:{name}:{client_address}", now, window)
        address = ratelimit.take(session, f"login-addr:{client_address}", now, window)
        user = ratelimit.take(session, f"login-user:{role.value}:{name}", now, window)
        wait = login_wait(settings, now, pair, address, user)
        if wait is not None:
            raise ApiError(ErrorCode.TOO_MANY_LOGIN_ATTEMPTS, headers={"Retry-After": str(wait)})
    found = res.db.read(_CREDENTIALS[role], {"username_key": name})
    account = found[0] if found else None

    stored_hash = account.password_hash if account is not None else None
    if not _password_matches(res, stored_hash, password) or account is None:
        raise ApiError(ErrorCode.LOGIN_FAILED)

    model = ACCOUNT_MODELS[role]
    with res.db.unit_of_work() as session:
        ratelimit.reset(session, pair.key)  # in take's order: pair, address, username
        ratelimit.give_back(session, address)
        ratelimit.reset(session, user.key)
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
