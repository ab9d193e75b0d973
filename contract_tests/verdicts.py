"""The contract's verdicts on one exchange (a request and its answer), as plain data.

One implementation of what the contract promises beyond plain OpenAPI, used by everything that
judges traffic: the contract tester's Schemathesis checks (:mod:`contract_tests.checks`, thin
adapters that turn a case and its response into an :class:`Exchange`), its probes and boundary
cases (:mod:`contract_tests.probes`), and the validation proxy. It is pure: no Schemathesis, no
HTTP client, only the parsed spec document (read with :mod:`consulting.spec`'s resolver).

Each :class:`Verdict` names one broken promise (``check``, a stable name) and says, in one line,
what the contract says and what came back. A broken envelope is reported once, as a broken
envelope, and not again by every check that reads a field of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

import orjson

from consulting.spec import HTTP_METHODS, resolve
from contract_tests.contract import ENVELOPE_KEYS, FORM, Contract, OperationRules, contract_of

# The stable names of the checks; the report, the tests and the proxy match on them.
ENVELOPE = "envelope_shape"
CODE_STATUS = "code_matches_status"
DECLARED_CODE = "declared_error_code"
CONTENT_ITEMS = "success_content_items"
DOCUMENTED_STATUS = "documented_status"
CONTENT_TYPE = "content_type"
SESSION_HEADERS = "session_headers"
UNKNOWN_PATH = "unknown_path"
WRONG_METHOD = "wrong_method"
REQUEST_INVALID = "request_invalid"
SECURITY_MISSING = "security_missing"

RESPONSE_CHECKS = (
    ENVELOPE,
    CODE_STATUS,
    DECLARED_CODE,
    CONTENT_ITEMS,
    DOCUMENTED_STATUS,
    CONTENT_TYPE,
    SESSION_HEADERS,
    UNKNOWN_PATH,
    WRONG_METHOD,
)
REQUEST_CHECKS = (UNKNOWN_PATH, WRONG_METHOD, REQUEST_INVALID, SECURITY_MISSING)

# What the contract answers to a path it does not have, and to a method a path does not take
# (x-error-codes: 40400 no such endpoint, 40500 method not allowed).
UNKNOWN_PATH_CODE, UNKNOWN_PATH_STATUS = 40400, 404
WRONG_METHOD_CODE, WRONG_METHOD_STATUS = 40500, 405
# The header that login documents on success: the session token for `Authorization: Bearer`.
SESSION_TOKEN_HEADER = "x-session-token"


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as plain data (header keys lower case)."""

    method: str
    path: str
    query: str
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int
    response_headers: Mapping[str, str]
    response_body: bytes


@dataclass(frozen=True)
class Verdict:
    check: str
    message: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()


def parse_body(body: bytes) -> Any:
    """The parsed JSON body, or :data:`NOT_JSON` when there is none or it is not JSON."""
    if not body:
        return NOT_JSON
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # not JSON, or JSON that orjson refuses and json reads (NaN, integers past 64 bits)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return NOT_JSON


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


def excerpt(body: bytes, limit: int = 200) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"


def media_type(value: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``; ``""`` when absent."""
    return (value or "").split(";", 1)[0].strip().lower()


_UNSEEN: Any = object()
_KNOWN_PATHS = 4096


@dataclass(frozen=True)
class _Documented:
    """What one operation documents beyond :class:`OperationRules`."""

    operation: Operation
    rules: OperationRules
    responses: dict[str, Any]  # status key ("200", "4XX", "default") -> resolved response
    secured: bool
    query_names: frozenset[str]
    body_media: frozenset[str]
    # status key -> the response headers a success must carry (the session token, required ones)
    required_headers: dict[str, tuple[str, ...]]


@dataclass
class Judge:
    """The contract of one spec document, applied to exchanges."""

    document: Mapping[str, Any]
    _by_path: dict[str, dict[str, _Documented]] = field(default_factory=dict, init=False)
    # path as sent -> its template (None: no path of the spec); each exchange asks three times
    _templates: dict[str, str | None] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._contract: Contract = contract_of(self.document)
        paths = self.document.get("paths") or {}
        for template, item in paths.items():
            methods: dict[str, _Documented] = {}
            for method in HTTP_METHODS:
                if isinstance(item, Mapping) and method in item:
                    methods[method.upper()] = self._documented(method.upper(), template, item)
            self._by_path[template] = methods

    # -- reading the document ----------------------------------------------------------------
    def _documented(self, method: str, template: str, item: Mapping[str, Any]) -> _Documented:
        raw = item[method.lower()]
        operation = Operation(method, template, str(raw.get("operationId", "")))
        responses = {
            str(status): resolve(self.document, response)
            for status, response in (raw.get("responses") or {}).items()
        }
        security = raw.get("security", self.document.get("security")) or []
        parameters = [
            resolve(self.document, p)
            for p in [*item.get("parameters", []), *raw.get("parameters", [])]
        ]
        body = resolve(self.document, raw.get("requestBody") or {})
        return _Documented(
            operation=operation,
            rules=self._contract.rules(method, template),
            responses=responses,
            secured=bool(security) and not any(not requirement for requirement in security),
            query_names=frozenset(p["name"] for p in parameters if p.get("in") == "query"),
            body_media=frozenset(media_type(m) for m in (body.get("content") or {})),
            required_headers={
                key: self._required_headers(response) for key, response in responses.items()
            },
        )

    def _required_headers(self, response: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(
            name.lower()
            for name, header in (response.get("headers") or {}).items()
            if name.lower() == SESSION_TOKEN_HEADER
            or bool(resolve(self.document, header).get("required"))
        )

    @cached_property
    def _patterns(self) -> list[tuple[re.Pattern[str], str]]:
        found = []
        for template in self._by_path:
            parts = re.split(r"(\{[^}/]+\})", template)
            regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
            found.append((re.compile(f"^{regex}$"), template))
        # literal paths before templated ones (`/a/list` before `/a/{id}`)
        found.sort(key=lambda entry: entry[1].count("{"))
        return found

    def _template(self, path: str) -> str | None:
        known = self._templates.get(path, _UNSEEN)
        if known is not _UNSEEN:
            return known
        found = next(
            (template for pattern, template in self._patterns if pattern.match(path)), None
        )
        if len(self._templates) >= _KNOWN_PATHS:
            self._templates.clear()  # a client inventing paths: start again rather than grow
        self._templates[path] = found
        return found

    def match(self, method: str, path: str) -> Operation | None:
        """The operation that ``method path`` (a path as sent, no query) reaches, or None."""
        template = self._template(path)
        if template is None:
            return None
        documented = self._by_path[template].get(method.upper())
        return documented.operation if documented else None

    def documented_methods(self, path: str) -> list[str]:
        """The methods the spec documents for ``path`` (empty: an unknown path)."""
        template = self._template(path)
        return sorted(self._by_path[template]) if template else []

    @property
    def contract(self) -> Contract:
        """The document's extensions: the error-code table, the common codes, per-operation
        rules."""
        return self._contract

    def operations(self) -> list[Operation]:
        return [doc.operation for methods in self._by_path.values() for doc in methods.values()]

    def rules(self, operation: Operation) -> OperationRules:
        return self._by_path[operation.path][operation.method].rules

    def _lookup(self, exchange: Exchange) -> _Documented | None:
        template = self._template(exchange.path)
        if template is None:
            return None
        return self._by_path[template].get(exchange.method.upper())

    # -- requests ----------------------------------------------------------------------------
    def request(self, exchange: Exchange) -> list[Verdict]:
        """What is wrong with the request itself: no such path or method, parameters or form
        body that break the operation's schemas, no credentials where a session is required."""
        documented = self._lookup(exchange)
        label = f"{exchange.method.upper()} {exchange.path}"
        if documented is None:
            methods = self.documented_methods(exchange.path)
            if not methods:
                return [Verdict(UNKNOWN_PATH, f"{label}: the spec has no path {exchange.path}")]
            return [
                Verdict(
                    WRONG_METHOD,
                    f"{label}: the spec documents only {', '.join(methods)} on {exchange.path}",
                )
            ]
        verdicts = []
        problem = self._request_problem(documented, exchange)
        if problem is not None:
            verdicts.append(Verdict(REQUEST_INVALID, f"{documented.rules.label}: {problem}"))
        if documented.secured and not _has_credentials(exchange.request_headers):
            verdicts.append(
                Verdict(
                    SECURITY_MISSING,
                    f"{documented.rules.label} requires a session (cookie or bearer token); "
                    "the request carries none",
                )
            )
        return verdicts

    def _request_problem(self, documented: _Documented, exchange: Exchange) -> str | None:
        rules = documented.rules
        query_pairs = parse_qsl(exchange.query, keep_blank_values=True)
        unknown = sorted({name for name, _ in query_pairs} - documented.query_names)
        if unknown:
            return "query: undocumented parameter " + ", ".join(unknown)
        query = {
            name: coerce([v for k, v in query_pairs if k == name], schema)
            for name, (schema, _) in rules.query_schemas.items()
            if any(k == name for k, _ in query_pairs)
        }
        body: Any = None
        if exchange.request_body:
            sent = media_type(exchange.request_headers.get("content-type"))
            if documented.body_media and sent not in documented.body_media:
                return f"body: Content-Type {sent or '(none)'}; the operation takes " + ", ".join(
                    sorted(documented.body_media)
                )
            if sent == FORM and rules.body_schema is not None:
                try:
                    text = exchange.request_body.decode("utf-8")
                except UnicodeDecodeError:
                    return "body: not UTF-8"
                pairs = parse_qsl(text, keep_blank_values=True)
                properties = rules.body_schema.get("properties") or {}
                body = {
                    name: coerce([v for k, v in pairs if k == name], properties.get(name, {}))
                    for name in dict(pairs)
                }
        return rules.request_problem(body, query)

    # -- responses ---------------------------------------------------------------------------
    def response(self, exchange: Exchange) -> list[Verdict]:
        """Every promise of the contract that the answer breaks."""
        documented = self._lookup(exchange)
        body = parse_body(exchange.response_body)
        problems = envelope_problems(body)
        verdicts: list[Verdict] = []
        if problems:
            ctype = exchange.response_headers.get("content-type") or "(none)"
            verdicts.append(
                Verdict(
                    ENVELOPE,
                    f"Not the envelope (HTTP {exchange.status}, Content-Type {ctype}): "
                    + "; ".join(problems)
                    + f". Body: {excerpt(exchange.response_body)}",
                )
            )
        envelope = None if problems else body
        if documented is None:
            verdicts += self._outside_the_spec(exchange, envelope)
            return verdicts
        key = _status_key(exchange.status, documented.responses)  # the response documented
        verdicts += self._documented_status(documented, exchange, key)
        verdicts += self._content_type(documented, exchange, key)
        verdicts += self._session_headers(documented, exchange, key)
        if envelope is not None:
            verdicts += self._code_and_status(exchange.status, envelope)
            verdicts += self._declared_code(documented.rules, exchange.status, envelope)
            verdicts += self._content_items(documented.rules, exchange.status, envelope)
        return verdicts

    def _outside_the_spec(
        self, exchange: Exchange, envelope: dict[str, Any] | None
    ) -> list[Verdict]:
        methods = self.documented_methods(exchange.path)
        label = f"{exchange.method.upper()} {exchange.path}"
        if methods:
            check, code, status = WRONG_METHOD, WRONG_METHOD_CODE, WRONG_METHOD_STATUS
            what = f"a method the path does not take (the spec documents {', '.join(methods)})"
        else:
            check, code, status = UNKNOWN_PATH, UNKNOWN_PATH_CODE, UNKNOWN_PATH_STATUS
            what = "a path the spec does not have"
        got = f"HTTP {exchange.status}"
        if envelope is not None:
            got += f" with code {envelope['code']}"
        else:
            got += ", not the envelope"
        if exchange.status != status or envelope is None or envelope["code"] != code:
            return [
                Verdict(
                    check,
                    f"{label} is {what}: the contract answers HTTP {status} with code {code} "
                    f"in the envelope; got {got}",
                )
            ]
        return []

    def _documented_status(
        self, documented: _Documented, exchange: Exchange, key: str | None
    ) -> list[Verdict]:
        status, responses = exchange.status, documented.responses
        listed = sorted(k for k in responses if k != "default")
        if 200 <= status < 300 and key in (None, "default"):
            return [
                Verdict(
                    DOCUMENTED_STATUS,
                    f"{status} is not a documented status of {documented.rules.label}: "
                    f"its success is {', '.join(k for k in listed if k.startswith('2')) or 'none'}",
                )
            ]
        if key is None:
            return [
                Verdict(
                    DOCUMENTED_STATUS,
                    f"{status} is not a documented status of {documented.rules.label} "
                    f"(documented: {', '.join(listed)})",
                )
            ]
        return []

    def _content_type(
        self, documented: _Documented, exchange: Exchange, key: str | None
    ) -> list[Verdict]:
        if key is None:
            return []
        content = documented.responses[key].get("content") or {}
        if not content:
            return []
        allowed = {media_type(m) for m in content}
        sent = media_type(exchange.response_headers.get("content-type"))
        if sent in allowed or (not exchange.response_body and exchange.method.upper() == "HEAD"):
            return []
        return [
            Verdict(
                CONTENT_TYPE,
                f"HTTP {exchange.status} with Content-Type {sent or '(none)'}; "
                f"{documented.rules.label} documents {', '.join(sorted(allowed))}",
            )
        ]

    def _session_headers(
        self, documented: _Documented, exchange: Exchange, key: str | None
    ) -> list[Verdict]:
        """A success that documents the session token header must carry it, non-empty."""
        if not 200 <= exchange.status < 300 or key is None:
            return []
        verdicts = []
        for name in documented.required_headers[key]:
            if not (exchange.response_headers.get(name) or "").strip():
                verdicts.append(
                    Verdict(
                        SESSION_HEADERS,
                        f"HTTP {exchange.status} of {documented.rules.label} without the "
                        f"documented {_title(name)} header",
                    )
                )
        return verdicts

    @staticmethod
    def _code_and_status(status: int, envelope: dict[str, Any]) -> list[Verdict]:
        code = envelope["code"]
        success = 200 <= status < 300
        if success and code != 0:
            message = f"code {code} with HTTP {status}: a 2xx answer must carry code 0"
        elif not success and code == 0:
            message = f"code 0 with HTTP {status}: only a 2xx answer may carry code 0"
        elif code != 0 and not envelope["msg"].strip():
            message = f"code {code} with an empty `msg`: an error must say why"
        else:
            return []
        return [Verdict(CODE_STATUS, message)]

    def _declared_code(
        self, rules: OperationRules, status: int, envelope: dict[str, Any]
    ) -> list[Verdict]:
        code = envelope["code"]
        if code == 0:
            return []
        entry = self._contract.error_table.get(code)
        if entry is None:
            message = (
                f"Undeclared error code {code} (HTTP {status}): not in the spec's "
                "x-error-codes table"
            )
        elif code not in rules.codes:
            message = (
                f"Error code {code} ({entry.name}) is not listed for {rules.label}: "
                "not in its x-error-codes nor in x-common-error-codes"
            )
        elif entry.status != status:
            message = (
                f"Error code {code} ({entry.name}) came with HTTP {status}; "
                f"the table gives it HTTP {entry.status}"
            )
        else:
            return []
        return [Verdict(DECLARED_CODE, message)]

    @staticmethod
    def _content_items(
        rules: OperationRules, status: int, envelope: dict[str, Any]
    ) -> list[Verdict]:
        if envelope["code"] != 0 or not 200 <= status < 300:
            return []
        validator = rules.item_validator
        if validator is None or validator.all_valid(envelope["content"]):
            return []
        for index, item in enumerate(envelope["content"]):
            error = validator.error(item)
            if error is not None:
                where = "".join(f"[{part!r}]" for part in error.absolute_path)
                return [
                    Verdict(
                        CONTENT_ITEMS,
                        f"content[{index}]{where} does not match the documented item schema: "
                        f"{error.message}",
                    )
                ]
        return []


def _status_key(status: int, responses: Mapping[str, Any]) -> str | None:
    """The response key that documents ``status``: exact, then ``4XX``, then ``default``."""
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            return key
    return None


def _has_credentials(headers: Mapping[str, str]) -> bool:
    authorization = headers.get("authorization", "")
    return authorization.lower().startswith("bearer ") or "=" in headers.get("cookie", "")


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def schema_kind(schema: Mapping[str, Any]) -> str | None:
    """The JSON type a (JSON Schema) field takes, looking into ``allOf``/``anyOf``."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str):
        return kind
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            found = schema_kind(part) if isinstance(part, Mapping) else None
            if found:
                return found
    return None


def _items(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    items = schema.get("items")
    if isinstance(items, Mapping):
        return items
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            if isinstance(part, Mapping) and isinstance(part.get("items"), Mapping):
                return part["items"]
    return {}


def coerce(values: list[str], schema: Mapping[str, Any]) -> Any:
    """Form or query text as the typed value its (JSON) schema describes, as a server reads it:
    ``["5"]`` -> 5 for an integer, ``["1", "2"]`` or ``["1,2"]`` -> [1, 2] for an array. Text
    that is not of the type stays text, for the validator to refuse."""
    kind = schema_kind(schema)
    if kind == "array":
        if len(values) == 1 and "," in values[0]:
            values = values[0].split(",")
        items = _items(schema)
        return [_scalar(value, items) for value in values]
    return _scalar(values[-1] if values else "", schema)


_INTEGER = re.compile(r"^-?[0-9]+$")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def _scalar(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema_kind(schema)
    if kind == "integer" and _INTEGER.match(value):
        return int(value)
    if kind == "number" and _NUMBER.match(value):
        return float(value) if any(c in value for c in ".eE") else int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def judge_of(document: Mapping[str, Any]) -> Judge:
    """The :class:`Judge` of a loaded document, built once and kept while it lives."""
    cached = _JUDGES.get(id(document))
    if cached is not None and cached[0] is document:
        return cached[1]
    judge = Judge(document)
    _JUDGES[id(document)] = (document, judge)
    return judge


_JUDGES: dict[int, tuple[Mapping[str, Any], Judge]] = {}

__all__ = [
    "NOT_JSON",
    "RESPONSE_CHECKS",
    "Exchange",
    "Judge",
    "Operation",
    "Verdict",
    "coerce",
    "envelope_problems",
    "judge_of",
]
