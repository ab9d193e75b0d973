"""The outside world: SMS delivery and the payment provider, behind small interfaces.

``HttpSms`` sends codes through a vendor's HTTP endpoint; the others need no network, which is
what the tests, the mock and a developer's laptop want.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Protocol

import httpx

log = logging.getLogger("consulting.sms")


class SmsProviderError(Exception):
    """The SMS provider refused the message, failed, or did not answer in time."""


class SmsProvider(Protocol):
    def new_code(self) -> str: ...

    def deliver(self, phone_number: str, code: str) -> None: ...


def random_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def masked(phone_number: str) -> str:
    """A phone number as logs show it: 138****5678."""
    return f"{phone_number[:3]}****{phone_number[-4:]}"


class ConsoleSms:
    """Random codes, sent nowhere: for a developer's own server. The code is written to the log
    only when ``log_codes`` asks for it (CONSULTING_SMS_LOG_CODES, for development)."""

    def __init__(self, log_codes: bool = False) -> None:
        self.log_codes = log_codes

    def new_code(self) -> str:
        return random_code()

    def deliver(self, phone_number: str, code: str) -> None:
        if self.log_codes:
            log.warning("sms (console provider, not sent): phone=%s code=%s", phone_number, code)
        else:
            log.info("sms (console provider, not sent) to %s", masked(phone_number))


class FixedSms:
    """Always the same code, and remembers the last one per phone: for the mock and tests."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.last_sent: dict[str, str] = {}

    def new_code(self) -> str:
        return self.code

    def deliver(self, phone_number: str, code: str) -> None:
        self.last_sent[phone_number] = code


class HttpSms:
    """A vendor's HTTP endpoint: ``POST url`` with the JSON ``{"phone_number", "code",
    "timestamp", "nonce"}``, signed in ``X-Signature`` (hex HMAC-SHA256 of the body's bytes,
    keyed with the shared key). Any answer but 2xx, a network error or no answer within
    ``timeout`` seconds is a :class:`SmsProviderError`."""

    def __init__(self, url: str, key: str, timeout: float) -> None:
        self.url = url
        self._key = key.encode()
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def new_code(self) -> str:
        return random_code()

    def deliver(self, phone_number: str, code: str) -> None:
        message = {
            "phone_number": phone_number,
            "code": code,
            "timestamp": int(time.time()),
            "nonce": secrets.token_hex(8),
        }
        body = json.dumps(message, separators=(",", ":")).encode()
        signature = hmac.new(self._key, body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Signature": signature}
        try:
            answer = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("sms provider unreachable: %s", type(exc).__name__)
            raise SmsProviderError(type(exc).__name__) from None
        if not answer.is_success:
            log.warning("sms provider answered HTTP %s", answer.status_code)
            raise SmsProviderError(f"HTTP {answer.status_code}")


class PaymentProviderError(Exception):
    """The provider refused or could not be reached."""


class PaymentProvider(Protocol):
    def create_prepay(self, trade_no: str, amount_fen: int, body: str) -> str: ...

    def refund(self, trade_no: str, amount_fen: int) -> str: ...


class FakePaymentProvider:
    """Issues prepay ids and refunds locally; confirmation comes through the notify callback."""

    def create_prepay(self, trade_no: str, amount_fen: int, body: str) -> str:
        return f"wx{secrets.token_hex(14)}"

    def refund(self, trade_no: str, amount_fen: int) -> str:
        return f"rf{secrets.token_hex(14)}"
