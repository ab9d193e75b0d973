"""Which passwords register refuses, after NIST SP 800-63B 5.1.1.2 and OWASP ASVS V2.1.7:
values that are commonly used, expected or about the account itself.

- equal to or containing the username (case-insensitively);
- in the list of common passwords that zxcvbn ships (30,000 from leaked password sets, most
  frequent first), case-insensitively;
- guessable in under a thousand tries by zxcvbn's estimate (its score 0): repeats
  (``aaaaaaaa``, eight spaces), sequences (``abcdefgh``), keyboard runs, dictionary words, dates.

The length rule (8-128) is the contract's. zxcvbn is imported on first use (it builds its
dictionaries then) and reads at most 72 characters, its own limit.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from consulting.core.errors import ApiError, ErrorCode

ZXCVBN_MAX_LENGTH = 72


@cache
def _zxcvbn() -> tuple[Any, frozenset[str]]:
    from zxcvbn import zxcvbn
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return zxcvbn, frozenset(FREQUENCY_LISTS["passwords"])


def weakness(password: str, username: str) -> str | None:
    """Why ``password`` is too weak for ``username``, or None."""
    estimate, common = _zxcvbn()
    folded = password.casefold()
    if username.casefold() in folded:
        return "it contains the username"
    if folded in common:
        return "it is a common password"
    if estimate(password[:ZXCVBN_MAX_LENGTH], user_inputs=[username])["score"] == 0:
        return "it is guessed in a few tries (a repeat, a sequence or a common word)"
    return None


def check(password: str, username: str) -> None:
    """Refuse a weak password with 40005 and the reason (English, after the bilingual msg)."""
    reason = weakness(password, username)
    if reason is not None:
        raise ApiError(ErrorCode.PASSWORD_TOO_WEAK, reason)
