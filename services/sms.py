"""SMS verification codes: 6 digits, 5 minutes, 5 wrong tries, one per phone per minute; at
most 10 per client address and 1000 in all per hour (SMS pumping); and the phone ticket that a
correct code earns, which only its holder can bind the phone with.

Every limit is taken with :func:`services.ratelimit.take` before the code is made: counted and
read back under the counter's row lock, so that concurrent sends cannot both pass, whether or
not the phone had a counter before. If the provider fails, the code and every count it took
are given back: nothing changed, and the client may try again at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from consulting.core.actors import Role
from consulting.core.clock import utcnow
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.providers import SmsProviderError
from consulting.core.resources import Resources
from models import SmsCode
from services import ratelimit
from services.locking import for_update

TICKET_PREFIX = "pt_"


def _digest(phone_number: str, code: str) -> str:
    return hashlib.sha256(f"{phone_number}:{code}".encode()).hexdigest()


def _ticket_digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def _latest(session: Session, phone_number: str) -> SmsCode | None:
    query = (
        select(SmsCode)
        .where(SmsCode.phone_number == phone_number)
        .order_by(col(SmsCode.id).desc())
        .limit(1)
    )
    return session.exec(for_update(query)).first()


def _take_limits(
    session: Session, res: Resources, phone_number: str, client_address: str, now: datetime
) -> list[ratelimit.Taken]:
    """Count this send against the phone, the address and the total; refuse past a limit."""
    settings = res.settings
    window = settings.sms_limit_window_seconds
    phone = ratelimit.take(session, f"sms-phone:{phone_number}", now, window)
    interval = timedelta(seconds=settings.sms_resend_interval_seconds)
    if phone.previous_at is not None and phone.previous_at > now - interval:
        wait = ratelimit.seconds_left(phone.previous_at + interval, now)
        raise ApiError(ErrorCode.SMS_TOO_FREQUENT, headers={"Retry-After": str(wait)})
    address = ratelimit.take(session, f"sms-addr:{client_address}", now, window)
    total = ratelimit.take(session, "sms-total", now, window)
    if address.count > settings.sms_max_per_address or total.count > settings.sms_max_total:
        headers = {"Retry-After": str(ratelimit.until_window_ends(now, window))}
        raise ApiError(ErrorCode.SMS_LIMIT_REACHED, headers=headers)
    return [phone, address, total]


def send(res: Resources, phone_number: str, client_address: str) -> None:
    """Issue a code and hand it to the provider; refused past a limit (42901, 42904); 50201 and
    nothing changed if the provider fails."""
    now = utcnow()
    with res.db.unit_of_work() as session:
        taken = _take_limits(session, res, phone_number, client_address, now)
        code = res.sms.new_code()
        row = SmsCode(
            phone_number=phone_number,
            code_hash=_digest(phone_number, code),
            created_at=now,
            expires_at=now + timedelta(seconds=res.settings.sms_code_ttl_seconds),
        )
        session.add(row)
        session.flush()
        row_id = row.id
    try:
        res.sms.deliver(phone_number, code)
    except SmsProviderError:
        with res.db.unit_of_work() as session:
            unsent = session.get(SmsCode, row_id)
            if unsent is not None:
                session.delete(unsent)
            for counted in taken:
                ratelimit.give_back(session, counted)
        raise ApiError(ErrorCode.SMS_PROVIDER_ERROR) from None


def check_code(session: Session, res: Resources, phone_number: str, code: str) -> SmsCode | None:
    """The live code row, marked verified, if ``code`` is its code; a wrong try is counted.

    The caller commits either way, so that a wrong try counts even though the request fails.
    """
    now = utcnow()
    latest = _latest(session, phone_number)
    if latest is None or latest.verified_at is not None or latest.expires_at <= now:
        return None
    if latest.failed_attempts >= res.settings.sms_max_attempts:
        return None
    if not hmac.compare_digest(latest.code_hash, _digest(phone_number, code)):
        latest.failed_attempts += 1
        return None
    latest.verified_at = now
    return latest


def issue_ticket(verified: SmsCode, role: Role) -> str:
    """The phone ticket for a verified code: returned once, stored only as its SHA-256."""
    ticket = TICKET_PREFIX + secrets.token_urlsafe(24)
    verified.ticket_hash, verified.ticket_role = _ticket_digest(ticket), role.value
    return ticket


def use_ticket(
    session: Session, res: Resources, role: Role, phone_number: str, ticket: str, now: datetime
) -> bool:
    """Whether ``ticket`` is a live ticket for this phone and kind of account; used up if so."""
    query = select(SmsCode).where(
        SmsCode.phone_number == phone_number, SmsCode.ticket_hash == _ticket_digest(ticket)
    )
    found = session.exec(for_update(query)).first()
    since = now - timedelta(seconds=res.settings.phone_ticket_ttl_seconds)
    if (
        found is None
        or found.ticket_role != role.value
        or found.ticket_used_at is not None
        or found.verified_at is None
        or found.verified_at <= since
    ):
        return False
    found.ticket_used_at = now
    return True
