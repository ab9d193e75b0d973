"""The answers the proxy gives itself, each the contract's envelope with a code of its table.

- ``--errors`` and a request that breaks the contract: the code the real server gives for that
  kind of mistake (``refusal_code``): 40400 for a path the contract does not have, 40500 for a
  method a path does not take, 40100 for a missing session, 41500 for a body that is not a
  form, 40000 for a parameter or a field; in that order, the order the server checks in. The
  deciding verdict's message follows the table's text in ``msg``, as the server's own 400s give
  their reason.
- The upstream unreachable, or answering nothing: 502 with 50202, naming the upstream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from contract_tests import verdicts
from contract_tests.verdicts import Verdict

INVALID_PARAMETER = 40000
NOT_LOGGED_IN = 40100
NOT_FOUND = 40400
METHOD_NOT_ALLOWED = 40500
UNSUPPORTED_MEDIA_TYPE = 41500
UPSTREAM_UNREACHABLE = 50202

# What the real server checks first answers first: routing (404, 405), then security (401),
# then the body's media type (415) and validation (400).
_BY_CHECK = (
    (verdicts.UNKNOWN_PATH, NOT_FOUND),
    (verdicts.WRONG_METHOD, METHOD_NOT_ALLOWED),
    (verdicts.SECURITY_MISSING, NOT_LOGGED_IN),
)


def refusal_code(found: Sequence[Verdict]) -> int:
    """The code the real server would answer a request with these verdicts with."""
    checks = {verdict.check for verdict in found}
    for check, code in _BY_CHECK:
        if check in checks:
            return code
    if any(v.check == verdicts.REQUEST_INVALID and "Content-Type" in v.message for v in found):
        return UNSUPPORTED_MEDIA_TYPE
    return INVALID_PARAMETER


def first_reason(found: Sequence[Verdict], code: int) -> str:
    """The message of the verdict that decided ``code``."""
    wanted = {c: check for check, c in _BY_CHECK}.get(code, verdicts.REQUEST_INVALID)
    return next((v.message for v in found if v.check == wanted), found[0].message)


def message(table: Mapping[str, Any], code: int, detail: str) -> str:
    """The table's Chinese and English meaning, then why (as the server's messages are)."""
    entry = table.get(str(code)) or {}
    meaning = f"{entry.get('zh', '')} / {entry.get('en', '')}".strip(" /")
    return f"{meaning}: {detail}" if meaning else detail


def envelope(table: Mapping[str, Any], code: int, detail: str) -> bytes:
    body = {"code": code, "msg": message(table, code, detail), "content": []}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def status_of(code: int) -> int:
    return code // 100
