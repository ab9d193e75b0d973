"""Checks of our own: the envelope and the error codes, which plain OpenAPI cannot express.

Generic fuzzers judge an API by its HTTP status and response schema. This API carries its
errors in the body (``code`` != 0, ``msg``), with a code table that ties each business code to
one HTTP status, so a server can satisfy every schema and still lie: answer 200 with ``code`` 1,
invent a code, or return a code meant for another operation. Each check below raises
``AssertionError`` with a message that names the violation; importing this module registers them
with Schemathesis (``@schemathesis.check``), next to the built-in checks.

Each check looks at one thing, so that a broken envelope is reported once, as a broken envelope,
and not again by every check that reads a field of it.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from jsonschema.exceptions import best_match
from schemathesis import Case, CheckContext, Response
from schemathesis.core import NotSet
from schemathesis.specs.openapi.checks import positive_data_acceptance

from contract_tests.contract import ENVELOPE_KEYS, OperationRules, contract_of

# The names the report prints next to each failure; tests match on them.
ENVELOPE = "envelope_shape"
CODE_STATUS = "code_matches_status"
DECLARED_CODE = "declared_error_code"
CONTENT_ITEMS = "success_content_items"
CUSTOM_CHECK_NAMES = (ENVELOPE, CODE_STATUS, DECLARED_CODE, CONTENT_ITEMS)


def _rules(case: Case) -> OperationRules:
    operation = case.operation
    return contract_of(operation.schema.raw_schema).rules(operation.method, operation.path)


def _body(response: Response) -> Any:
    """The parsed JSON body, or a sentinel when there is none (the envelope check reports it)."""
    try:
        return json.loads(response.content) if response.content else NOT_JSON
    except ValueError:
        return NOT_JSON


NOT_JSON = object()


def _envelope(response: Response) -> dict[str, Any] | None:
    """The body if it is exactly the envelope, else None."""
    body = _body(response)
    if envelope_problems(body):
        return None
    assert isinstance(body, dict)
    return body


def _content_type(response: Response) -> str:
    values = response.headers.get("content-type") or ["(none)"]
    return values[0]


def envelope_problems(body: Any) -> list[str]:
    """Why ``body`` is not exactly ``{"code": integer, "msg": string, "content": array}``."""
    if body is NOT_JSON:
        return ["the body is not JSON"]
    if not isinstance(body, dict):
        return [f"the body is a JSON {type(body).__name__}, not an object"]
    problems = [f"missing `{key}`" for key in ("code", "msg", "content") if key not in body]
    extra = sorted(set(body) - ENVELOPE_KEYS)
    if extra:
        problems.append("unexpected top-level " + ", ".join(f"`{key}`" for key in extra))
    code, msg, content = body.get("code"), body.get("msg"), body.get("content")
    if "code" in body and (not isinstance(code, int) or isinstance(code, bool)):
        problems.append(f"`code` is {json.dumps(code)}, not an integer")
    if "msg" in body and not isinstance(msg, str):
        problems.append(f"`msg` is {json.dumps(msg)}, not a string")
    if "content" in body and not isinstance(content, list):
        problems.append(f"`content` is {json.dumps(content)}, not an array")
    return problems


@schemathesis.check
def envelope_shape(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every body, for every status, is exactly the envelope and nothing else."""
    problems = envelope_problems(_body(response))
    if problems:
        where = f"HTTP {response.status_code}, Content-Type {_content_type(response)}"
        raise AssertionError(
            f"Not the envelope ({where}): " + "; ".join(problems) + f". Body: {_excerpt(response)}"
        )


@schemathesis.check
def code_matches_status(ctx: CheckContext, response: Response, case: Case) -> None:
    """``code`` is 0 exactly when the status is 2xx, and an error carries a reason in ``msg``."""
    body = _envelope(response)
    if body is None:
        return
    code, status = body["code"], response.status_code
    success = 200 <= status < 300
    if success and code != 0:
        raise AssertionError(f"code {code} with HTTP {status}: a 2xx answer must carry code 0")
    if not success and code == 0:
        raise AssertionError(f"code 0 with HTTP {status}: only a 2xx answer may carry code 0")
    if code != 0 and not body["msg"].strip():
        raise AssertionError(f"code {code} with an empty `msg`: an error must say why")


@schemathesis.check
def declared_error_code(ctx: CheckContext, response: Response, case: Case) -> None:
    """A non-zero code is in the table, listed for this operation, and sent with its status."""
    body = _envelope(response)
    if body is None or body["code"] == 0:
        return
    code, status = body["code"], response.status_code
    rules = _rules(case)
    entry = contract_of(case.operation.schema.raw_schema).error_table.get(code)
    if entry is None:
        raise AssertionError(
            f"Undeclared error code {code} (HTTP {status}): not in the spec's x-error-codes table"
        )
    if code not in rules.codes:
        raise AssertionError(
            f"Error code {code} ({entry.name}) is not listed for {rules.label}: "
            f"not in its x-error-codes nor in x-common-error-codes"
        )
    if entry.status != status:
        raise AssertionError(
            f"Error code {code} ({entry.name}) came with HTTP {status}; "
            f"the table gives it HTTP {entry.status}"
        )


@schemathesis.check
def success_content_items(ctx: CheckContext, response: Response, case: Case) -> None:
    """On success, each item of ``content`` matches the operation's documented item schema."""
    body = _envelope(response)
    if body is None or body["code"] != 0 or not 200 <= response.status_code < 300:
        return
    validator = _rules(case).item_validator
    if validator is None:
        return
    for index, item in enumerate(body["content"]):
        error = best_match(validator.iter_errors(item))
        if error is not None:
            where = "".join(f"[{part!r}]" for part in error.absolute_path)
            raise AssertionError(
                f"content[{index}]{where} does not match the documented item schema: "
                f"{error.message}"
            )


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


def _excerpt(response: Response, limit: int = 200) -> str:
    text = response.content.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"
