"""Business error codes and the exception that carries one.

The table itself lives in the contract (``x-error-codes`` in openapi/consulting.yaml); this enum
names the same codes for Python, and a test keeps the two identical. A code's first three digits
are its HTTP status, so the status is derived, never stored twice.
"""

from __future__ import annotations

from enum import IntEnum

from consulting.spec import error_table


class ErrorCode(IntEnum):
    INVALID_PARAMETER = 40000
    PASSWORD_MISMATCH = 40001
    VERIFICATION_CODE_INVALID = 40002
    AMOUNT_MISMATCH = 40003
    PHONE_NOT_VERIFIED = 40004
    PASSWORD_TOO_WEAK = 40005
    NOT_LOGGED_IN = 40100
    LOGIN_FAILED = 40101
    FORBIDDEN = 40300
    WRONG_ROLE = 40301
    INVALID_SIGNATURE = 40302
    NOT_FOUND = 40400
    POST_NOT_FOUND = 40401
    ORDER_NOT_FOUND = 40402
    TAG_NOT_FOUND = 40403
    PAYMENT_NOT_FOUND = 40404
    CONSULTANT_NOT_FOUND = 40405
    METHOD_NOT_ALLOWED = 40500
    REQUEST_TIMEOUT = 40800
    INVALID_STATE = 40900
    USERNAME_TAKEN = 40901
    POST_ALREADY_TAKEN = 40902
    ORDER_NO_CONFLICT = 40903
    TRADE_NO_CONFLICT = 40904
    PHONE_TAKEN = 40905
    BODY_TOO_LARGE = 41300
    UNSUPPORTED_MEDIA_TYPE = 41500
    TOO_MANY_LOGIN_ATTEMPTS = 42900
    SMS_TOO_FREQUENT = 42901
    TOO_MANY_REGISTRATIONS = 42902
    PASSWORD_CHECKS_BUSY = 42903
    SMS_LIMIT_REACHED = 42904
    INTERNAL_ERROR = 50000
    NOT_IMPLEMENTED = 50100
    PAYMENT_PROVIDER_ERROR = 50200
    SMS_PROVIDER_ERROR = 50201
    UPSTREAM_UNREACHABLE = 50202  # only `consulting proxy` sends it, never the service
    SERVICE_UNAVAILABLE = 50300

    @property
    def http_status(self) -> int:
        return int(self) // 100


class ApiError(Exception):
    """A refusal the client can act on; answered as the envelope with the code's HTTP status."""

    def __init__(
        self, code: ErrorCode, detail: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.code = code
        self.msg = message_for(code) if detail is None else f"{message_for(code)}: {detail}"
        self.headers = headers or {}
        super().__init__(self.msg)


def message_for(code: int) -> str:
    """The table's Chinese and English meaning, as clients see it in ``msg``."""
    entry = error_table()[code]
    return f"{entry['zh']} / {entry['en']}"


class BodyTooLarge(Exception):
    """Raised while reading a body (sent without Content-Length) that grows past the limit."""


class BodyTimeout(Exception):
    """Raised while reading a body that has not all arrived in time."""
