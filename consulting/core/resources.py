"""What the services need, built once per process from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from anyio import CapacityLimiter, WouldBlock, to_thread
from argon2 import PasswordHasher

from consulting.core.database import Database
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.providers import (
    ConsoleSms,
    FakePaymentProvider,
    FixedSms,
    HttpSms,
    PaymentProvider,
    SmsProvider,
)
from consulting.core.session_cache import SessionCache
from consulting.core.settings import Settings

T = TypeVar("T")


class HashingPool:
    """Password hashes at once in this process, on threads of their own: ``slots`` run, up to
    ``queue`` callers wait for one, and any caller beyond is refused at once (42903)."""

    def __init__(self, slots: int, queue: int) -> None:
        self.slots = CapacityLimiter(slots)
        self._threads = CapacityLimiter(slots)  # never waits: a caller holds a slot first
        self.queue = queue

    async def run(self, work: Callable[[], T]) -> T:
        try:
            self.slots.acquire_nowait()
        except WouldBlock:
            if self.slots.statistics().tasks_waiting >= self.queue:
                raise ApiError(
                    ErrorCode.PASSWORD_CHECKS_BUSY, headers={"Retry-After": "1"}
                ) from None
            await self.slots.acquire()
        try:
            return await to_thread.run_sync(work, limiter=self._threads)
        finally:
            self.slots.release()


@dataclass
class HashingPools:
    """Logins' and registrations' hashes apart, so that a flood of registrations cannot take the
    slots logins need: a login may wait in a short queue, a registration never waits."""

    login: HashingPool
    registration: HashingPool

    @classmethod
    def from_settings(cls, settings: Settings) -> HashingPools:
        return cls(
            login=HashingPool(settings.login_hashing_slots, settings.login_hashing_queue),
            registration=HashingPool(settings.registration_hashing_slots, 0),
        )


def sms_provider(settings: Settings) -> SmsProvider:
    if settings.sms_provider == "fixed":
        return FixedSms(settings.sms_fixed_code)
    if settings.sms_provider == "http":
        if not settings.sms_http_url or settings.sms_http_key is None:
            raise ValueError(
                "CONSULTING_SMS_PROVIDER=http needs CONSULTING_SMS_HTTP_URL and "
                "CONSULTING_SMS_HTTP_KEY"
            )
        key = settings.sms_http_key.get_secret_value()
        return HttpSms(settings.sms_http_url, key, settings.sms_http_timeout_seconds)
    return ConsoleSms(log_codes=settings.sms_log_codes)


@dataclass
class Resources:
    settings: Settings
    db: Database
    sms: SmsProvider
    payments: PaymentProvider
    hasher: PasswordHasher
    session_cache: SessionCache
    hashing: HashingPools

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        sms = sms_provider(settings)
        return cls(
            settings=settings,
            db=Database(settings.database_url, settings.sqlite_busy_timeout_ms),
            sms=sms,
            payments=FakePaymentProvider(),
            hasher=PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=1,
            ),
            session_cache=SessionCache(settings.session_cache_seconds, settings.session_cache_size),
            hashing=HashingPools.from_settings(settings),
        )
