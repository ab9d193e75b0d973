"""SMS verification codes: 6 digits, 5 minutes, 5 wrong tries, one per phone per minute."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from consulting.core.clock import utcnow
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.resources import Resources
from models import SmsCode
from services.locking import for_update


def _digest(phone_number: str, code: str) -> str:
    return hashlib.sha256(f"{phone_number}:{code}".encode()).hexdigest()


def _latest(session: Session, phone_number: str) -> SmsCode | None:
    query = (
        select(SmsCode)
        .where(SmsCode.phone_number == phone_number)
        .order_by(col(SmsCode.id).desc())
        .limit(1)
    )
    return session.exec(for_update(query)).first()


def send(res: Resources, phone_number: str) -> None:
    """Issue a code and hand it to the provider; refused if one went out under a minute ago."""
    settings = res.settings
    now = utcnow()
    with res.db.unit_of_work() as session:
        latest = _latest(session, phone_number)
        interval = timedelta(seconds=settings.sms_resend_interval_seconds)
        if latest is not None and latest.created_at > now - interval:
            raise ApiError(
                ErrorCode.SMS_TOO_FREQUENT, headers={"Retry-After": str(interval.seconds)}
            )
        code = res.sms.new_code()
        session.add(
            SmsCode(
                phone_number=phone_number,
                code_hash=_digest(phone_number, code),
                created_at=now,
                expires_at=now + timedelta(seconds=settings.sms_code_ttl_seconds),
            )
        )
        res.sms.deliver(phone_number, code)


def check_code(session: Session, res: Resources, phone_number: str, code: str) -> bool:
    """True and the phone marked verified if ``code`` is the live one; a wrong try is counted.

    The caller commits either way, so that a wrong try counts even though the request fails.
    """
    now = utcnow()
    latest = _latest(session, phone_number)
    if latest is None or latest.verified_at is not None or latest.expires_at <= now:
        return False
    if latest.failed_attempts >= res.settings.sms_max_attempts:
        return False
    if not hmac.compare_digest(latest.code_hash, _digest(phone_number, code)):
        latest.failed_attempts += 1
        return False
    latest.verified_at = now
    return True


def is_verified(session: Session, res: Resources, phone_number: str, now: datetime) -> bool:
    """Whether a signin verified this phone recently enough to bind it to a new account."""
    since = now - timedelta(seconds=res.settings.phone_verification_ttl_seconds)
    query = select(SmsCode.id).where(
        SmsCode.phone_number == phone_number, col(SmsCode.verified_at) >= since
    )
    return session.exec(query.limit(1)).first() is not None
