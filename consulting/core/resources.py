"""What the services need, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from consulting.core.database import Database
from consulting.core.providers import (
    ConsoleSms,
    FakePaymentProvider,
    FixedSms,
    PaymentProvider,
    SmsProvider,
)
from consulting.core.session_cache import SessionCache
from consulting.core.settings import Settings


@dataclass
class Resources:
    settings: Settings
    db: Database
    sms: SmsProvider
    payments: PaymentProvider
    hasher: PasswordHasher
    session_cache: SessionCache

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        sms: SmsProvider = (
            FixedSms(settings.sms_fixed_code) if settings.sms_provider == "fixed" else ConsoleSms()
        )
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
        )
