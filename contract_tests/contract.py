"""What the contract promises beyond plain OpenAPI, read from the spec document itself.

The checks and the auth provider work from the document they were given (``--spec``), never from
our server code, so that a team with its own implementation can point them at their server. This
module turns the document's extensions into plain lookups: the error-code table
(``x-error-codes`` at the top), the codes each operation may return (its own ``x-error-codes``
plus ``x-common-error-codes``), the kind of session it needs (``x-role``), and the JSON Schema
that each item of ``content`` must match on success.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jsonschema_rs
from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match

from consulting.spec import inline, resolve

ENVELOPE_KEYS = frozenset({"code", "msg", "content"})
FORM = "application/x-www-form-urlencoded"
_SUCCESS_KEYS = ("200", "201", "202", "204", "2XX", "2xx", "default")


class ValidFirst:
    """Draft 4 validation, asking jsonschema-rs first.

    Every exchange the validation proxy sees is validated: its query, its form, and each item
    of ``content`` (a page of acquire is 20). jsonschema alone costs more than the rest of the
    proxy together; jsonschema-rs (Rust, already here for Schemathesis) says whether an
    instance is valid about a hundred times faster. Only an instance it refuses goes to
    jsonschema, whose errors are the messages every check prints. Where the two disagree it is
    jsonschema-rs that is stricter (a pattern's ``$`` before a final newline), and then
    jsonschema's answer, no error, stands: the verdicts are jsonschema's (tests/test_proxy.py
    compares them). A schema with a ``format`` that jsonschema checks (e-mail, IP addresses:
    request schemas only) goes to jsonschema alone, as the two libraries' formats differ.
    """

    def __init__(self, schema: dict[str, Any], check_formats: bool = False) -> None:
        self.schema = schema
        checker = Draft4Validator.FORMAT_CHECKER if check_formats else None
        self._errors = Draft4Validator(schema, format_checker=checker)
        fast = not (check_formats and _has_format(schema))
        self._valid = (
            jsonschema_rs.Draft4Validator(schema, validate_formats=False) if fast else None
        )
        self._valid_items = (
            jsonschema_rs.Draft4Validator(
                {"type": "array", "items": schema}, validate_formats=False
            )
            if fast
            else None
        )

    def error(self, instance: Any) -> Any:
        """jsonschema's most relevant error of ``instance``, or None when it is valid."""
        if self._valid is not None and self._valid.is_valid(instance):
            return None
        return best_match(self._errors.iter_errors(instance))

    def all_valid(self, instances: list[Any]) -> bool:
        """Whether every one is valid, asked at once (False: ask :meth:`error` of each)."""
        return self._valid_items is not None and self._valid_items.is_valid(instances)


def _has_format(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "format" in schema or any(_has_format(value) for value in schema.values())
    if isinstance(schema, list):
        return any(_has_format(value) for value in schema)
    return False


@dataclass(frozen=True)
class ErrorCode:
    code: int
    status: int
    name: str


@dataclass(frozen=True)
class OperationRules:
    """The contract's extensions for one operation, and its request schemas as JSON Schema."""

    label: str
    role: str | None
    codes: frozenset[int]
    item_schema: dict[str, Any] | None
    body_schema: dict[str, Any] | None = None
    body_required: bool = False
    query_schemas: dict[str, tuple[dict[str, Any], bool]] = field(default_factory=dict)

    @cached_property
    def item_validator(self) -> ValidFirst | None:
        return ValidFirst(self.item_schema) if self.item_schema is not None else None

    @cached_property
    def _request_validators(
        self,
    ) -> tuple[ValidFirst | None, dict[str, tuple[ValidFirst, bool]]]:
        body = ValidFirst(self.body_schema, True) if self.body_schema is not None else None
        query = {
            name: (ValidFirst(schema, True), required)
            for name, (schema, required) in self.query_schemas.items()
        }
        return body, query

    def request_problem(self, body: Any, query: Mapping[str, Any] | None) -> str | None:
        """Why a request with this form ``body`` (None: no body) and ``query`` breaks the
        spec, or None."""
        body_validator, query_validators = self._request_validators
        if body is None and self.body_required:
            return "body: missing"
        if body_validator is not None and body is not None:
            error = body_validator.error(body)
            if error is not None:
                return f"body: {error.message}"
        query = query or {}
        for name, (query_validator, required) in query_validators.items():
            if name not in query:
                if required:
                    return f"query: {name} is missing"
                continue
            error = query_validator.error(query[name])
            if error is not None:
                return f"query {name}: {error.message}"
        return None


@dataclass
class Contract:
    """The whole document's extensions; build it once per document with :func:`contract_of`."""

    document: Mapping[str, Any]
    _rules: dict[tuple[str, str], OperationRules] = field(default_factory=dict)

    @cached_property
    def error_table(self) -> dict[int, ErrorCode]:
        table = self.document.get("x-error-codes") or {}
        return {
            int(code): ErrorCode(int(code), int(entry["status"]), str(entry.get("name", "")))
            for code, entry in table.items()
        }

    @cached_property
    def common_codes(self) -> frozenset[int]:
        return frozenset(int(code) for code in self.document.get("x-common-error-codes") or [])

    def rules(self, method: str, path: str) -> OperationRules:
        key = (method.lower(), path)
        if key not in self._rules:
            operation = self.document["paths"][path][method.lower()]
            own = {int(code) for code in operation.get("x-error-codes", [])}
            body_schema, body_required = self._body(operation)
            self._rules[key] = OperationRules(
                label=f"{method.upper()} {path}",
                role=operation.get("x-role"),
                codes=self.common_codes | own,
                item_schema=self._item_schema(operation),
                body_schema=body_schema,
                body_required=body_required,
                query_schemas=self._query_schemas(operation),
            )
        return self._rules[key]

    def _body(self, operation: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """The form body's schema (the contract's request bodies are urlencoded forms), and
        whether the body is required."""
        body = self._resolve(operation.get("requestBody", {}))
        media = body.get("content", {}).get(FORM, {})
        schema = to_json_schema(self._inline(media["schema"])) if "schema" in media else None
        return schema, bool(body.get("required"))

    def _query_schemas(
        self, operation: Mapping[str, Any]
    ) -> dict[str, tuple[dict[str, Any], bool]]:
        found = {}
        for parameter in operation.get("parameters", []):
            parameter = self._resolve(parameter)
            if parameter.get("in") == "query":
                schema = to_json_schema(self._inline(parameter.get("schema", {})))
                found[parameter["name"]] = (schema, bool(parameter.get("required")))
        return found

    def _item_schema(self, operation: Mapping[str, Any]) -> dict[str, Any] | None:
        """The schema of ``content``'s items in the success response, as plain JSON Schema."""
        responses = operation.get("responses", {})
        for status in _SUCCESS_KEYS:
            if status not in responses:
                continue
            response = self._resolve(responses[status])
            media = response.get("content", {}).get("application/json", {})
            envelope = self._resolve(media.get("schema", {}))
            items = self._resolve(envelope.get("properties", {}).get("content", {})).get("items")
            return to_json_schema(self._inline(items)) if items is not None else None
        return None

    def _resolve(self, node: Any) -> Any:
        return resolve(self.document, node)

    def _inline(self, node: Any) -> Any:
        return inline(self.document, node)


def to_json_schema(schema: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes a ``null`` type."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    converted = {key: to_json_schema(value) for key, value in schema.items()}
    if converted.pop("nullable", False) is True:
        kind = converted.get("type")
        if isinstance(kind, str):
            converted["type"] = [kind, "null"]
        if "enum" in converted and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
        if "type" not in converted:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


_CONTRACTS: dict[int, tuple[Mapping[str, Any], Contract]] = {}


def contract_of(document: Mapping[str, Any]) -> Contract:
    """The :class:`Contract` of a loaded spec document, built once and kept while it lives."""
    cached = _CONTRACTS.get(id(document))
    if cached is not None and cached[0] is document:
        return cached[1]
    contract = Contract(copy.deepcopy(dict(document)))
    _CONTRACTS[id(document)] = (document, contract)
    return contract
