"""Checks of our own: the envelope and the error codes, which plain OpenAPI cannot express.

Generic fuzzers judge an API by its HTTP status and response schema. This API carries its
errors in the body (``code`` != 0, ``msg``), with a code table that ties each business code to
one HTTP status, so a server can satisfy every schema and still lie: answer 200 with ``code`` 1,
invent a code, or return a code meant for another operation.

The rules live in :mod:`contract_tests.verdicts` (one implementation, shared with the validation
proxy); each check below is a thin adapter: it turns Schemathesis's case and response into an
:class:`~contract_tests.verdicts.Exchange`, asks the :class:`~contract_tests.verdicts.Judge`,
and raises ``AssertionError`` with the verdicts of its own name. Importing this module registers
them with Schemathesis (``@schemathesis.check``), next to the built-in checks.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contract_tests.contract import OperationRules, contract_of
from contract_tests.verdicts import (
    CODE_STATUS,
    CONTENT_ITEMS,
    CONTENT_TYPE,
    DECLARED_CODE,
    DOCUMENTED_STATUS,
    ENVELOPE,
    NOT_JSON,
    RESPONSE_CHECKS,
    SESSION_HEADERS,
    UNKNOWN_PATH,
    WRONG_METHOD,
    Exchange,
    Verdict,
    envelope_problems,
    judge_of,
)

# The judge's response checks that can concern a case of a documented operation (the others
# are about paths and methods outside the spec: the probes').
CUSTOM_CHECK_NAMES = tuple(c for c in RESPONSE_CHECKS if c not in (UNKNOWN_PATH, WRONG_METHOD))

__all__ = ["CUSTOM_CHECK_NAMES", "NOT_JSON", "envelope_problems", "exchange_of"]


def _headers(headers: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in (headers or {}).items():
        found[str(key).lower()] = ", ".join(value) if isinstance(value, list) else str(value)
    return found


def exchange_of(case: Case, response: Response) -> Exchange:
    """Schemathesis's case and response as plain data for the judge."""
    request = response.request
    sent = request.body or b""
    body = sent.encode("utf-8") if isinstance(sent, str) else sent
    if not isinstance(body, bytes):  # a stream: not something this API's requests use
        body = b""
    url = urlsplit(request.url or "")
    return Exchange(
        method=(request.method or case.method).upper(),
        path=case.formatted_path,
        query=url.query,
        request_headers=_headers(request.headers),
        request_body=body,
        status=response.status_code,
        response_headers=_headers(response.headers),
        response_body=response.content or b"",
    )


_last = threading.local()


def _verdicts(case: Case, response: Response) -> list[Verdict]:
    """The judge's verdicts on this response, computed once for all the checks below."""
    cached = getattr(_last, "entry", None)
    if cached is not None and cached[0] is response:
        return cached[1]
    judge = judge_of(case.operation.schema.raw_schema)
    verdicts = judge.response(exchange_of(case, response))
    _last.entry = (response, verdicts)
    return verdicts


def _raise(name: str, case: Case, response: Response) -> None:
    found = [verdict.message for verdict in _verdicts(case, response) if verdict.check == name]
    if found:
        raise AssertionError("\n".join(found))


@schemathesis.check
def envelope_shape(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every body, for every status, is exactly the envelope and nothing else."""
    _raise(ENVELOPE, case, response)


@schemathesis.check
def code_matches_status(ctx: CheckContext, response: Response, case: Case) -> None:
    """``code`` is 0 exactly when the status is 2xx, and an error carries a reason in ``msg``."""
    _raise(CODE_STATUS, case, response)


@schemathesis.check
def declared_error_code(ctx: CheckContext, response: Response, case: Case) -> None:
    """A non-zero code is in the table, listed for this operation, and sent with its status."""
    _raise(DECLARED_CODE, case, response)


@schemathesis.check
def success_content_items(ctx: CheckContext, response: Response, case: Case) -> None:
    """On success, each item of ``content`` matches the operation's documented item schema."""
    _raise(CONTENT_ITEMS, case, response)


@schemathesis.check
def documented_status(ctx: CheckContext, response: Response, case: Case) -> None:
    """A 2xx is one the operation lists by number: ``default`` documents errors only."""
    _raise(DOCUMENTED_STATUS, case, response)


@schemathesis.check
def content_type(ctx: CheckContext, response: Response, case: Case) -> None:
    """The answer's Content-Type is one its documented response lists."""
    _raise(CONTENT_TYPE, case, response)


@schemathesis.check
def session_headers(ctx: CheckContext, response: Response, case: Case) -> None:
    """A login's success carries the documented ``X-Session-Token``."""
    _raise(SESSION_HEADERS, case, response)


def _rules(case: Case) -> OperationRules:
    operation = case.operation
    return contract_of(operation.schema.raw_schema).rules(operation.method, operation.path)


@schemathesis.check
def valid_data_accepted(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis's ``positive_data_acceptance``, for requests that really are valid.

    Its fuzzing phase can label "positive" a form body whose ids lie above the ``Id`` schema's
    maximum (seen with Schemathesis 4.32.5 on modify: ``post_id=2605093149`` and five such
    tags, only for some seeds), and then blames a correct server for answering 400. Each
    "positive" case is therefore checked against the spec first (form body and query, as JSON
    Schema); one that breaks it is left to the checks for invalid data. The built-in check is
    switched off in favour of this one (contract_tests/runner.py); its per-operation settings
    (schemathesis.toml) still apply.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    body = None if isinstance(case.body, NotSet) else case.body
    if _rules(case).request_problem(body, case.query) is not None:
        return None
    return positive_data_acceptance(ctx, response, case)
