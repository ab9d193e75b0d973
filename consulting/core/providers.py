"""The outside world: SMS delivery and the payment provider, behind small interfaces.

Real deployments plug their vendor in here; the ones below need no network, which is what the
tests, the mock and a developer's laptop want.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

log = logging.getLogger("consulting.sms")


class SmsProvider(Protocol):
    def new_code(self) -> str: ...

    def deliver(self, phone_number: str, code: str) -> None: ...


class ConsoleSms:
    """Random codes, written to the log instead of sent: for a developer's own server."""

    def new_code(self) -> str:
        return f"{secrets.randbelow(1_000_000):06d}"

    def deliver(self, phone_number: str, code: str) -> None:
        log.warning("sms (console provider, not sent): phone=%s code=%s", phone_number, code)


class FixedSms:
    """Always the same code, and remembers the last one per phone: for the mock and tests."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.last_sent: dict[str, str] = {}

    def new_code(self) -> str:
        return self.code

    def deliver(self, phone_number: str, code: str) -> None:
        self.last_sent[phone_number] = code


class PaymentProviderError(Exception):
    """The provider refused or could not be reached."""


class PaymentProvider(Protocol):
    def create_prepay(self, out_trade_no: str, amount_fen: int, body: str) -> str: ...

    def refund(self, out_trade_no: str, amount_fen: int) -> str: ...


class FakePaymentProvider:
    """Issues prepay ids and refunds locally; confirmation comes through the notify callback."""

    def create_prepay(self, out_trade_no: str, amount_fen: int, body: str) -> str:
        return f"wx{secrets.token_hex(14)}"

    def refund(self, out_trade_no: str, amount_fen: int) -> str:
        return f"rf{secrets.token_hex(14)}"
