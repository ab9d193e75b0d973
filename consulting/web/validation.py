"""Request validation as the contract means it, where Connexion's differs.

Form bodies must also be text: a field that is not valid UTF-8 once percent-decoded (``%FF``,
an encoded lone surrogate ``%ED%A0%80``) would otherwise reach the handlers with replacement
characters, and a NUL byte cannot be stored in a PostgreSQL text column. Both are refused with
400 before validation, so what is stored is always exactly what the client sent.

JSON Schema patterns are ECMA-262 regular expressions, but jsonschema runs them with Python's
``re.search``, whose ``$`` also matches before a final newline: ``"13800138000\\n"`` would pass
``^1[3-9][0-9]{9}$``. Form bodies are therefore validated with a ``pattern`` keyword that treats
``$`` as the end of the string.

Integers in forms and query strings are ASCII digits (an optional ``-`` before them), as the
schema's ``type: integer`` means on the wire: Connexion reads them with Python's ``int()``, which
also takes ``1_0`` (10), ``١`` (Arabic-Indic 1), ``" 1"`` and ``+1``. And a form has at most
1000 fields (Starlette's own ceiling, which it raised as a 500): more is 400, before parsing.

These are rules of the contract, not of speed: ``consulting.web.tuning`` builds the same
validators once instead of per request and must answer exactly as these do.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import (
    VALIDATOR_MAP,
    FormDataValidator,
    MediaTypeDict,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.types import Scope

FORM = "application/x-www-form-urlencoded"  # the contract's only request media type
MAX_FORM_FIELDS = 1000
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    match = re.search(pattern, instance)
    if match is None or (pattern.endswith("$") and match.end() != len(instance)):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


StrictRequestValidator = extend(Draft4RequestValidator, {"pattern": _pattern})


def strict_validator(schema: Any) -> Any:
    return StrictRequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


class ContractFormValidator(FormDataValidator):
    """Form bodies: NUL-free UTF-8 text, and ``$`` as the end of the string."""

    @property
    def _validator(self) -> Any:
        return strict_validator(self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        body = b"".join([chunk async for chunk in stream])
        check_form_text(body)
        properties = self._schema.get("properties", {})
        check_integers(parse_qsl(body.decode(), keep_blank_values=True), properties.get)

        async def replay() -> AsyncGenerator[bytes, None]:
            yield body

        return await super()._parse(replay(), scope)


def check_form_text(body: bytes) -> None:
    """Refuse a urlencoded body of more than 1000 fields, or whose names or values are not
    NUL-free UTF-8 text."""
    if body.count(b"&") >= MAX_FORM_FIELDS:
        raise BadRequestProblem(detail=f"more than {MAX_FORM_FIELDS} form fields")
    for pair in body.split(b"&"):
        for part in pair.split(b"=", 1):
            try:
                text = unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequestProblem(detail="form data is not valid UTF-8") from None
            if "\x00" in text:
                raise BadRequestProblem(detail="form data contains a NUL byte")


def _is_integer(schema: dict[str, Any] | None) -> tuple[bool, bool]:
    """Whether a parameter or property schema is an integer, and whether an array of them."""
    if not schema:
        return False, False
    if schema.get("type") == "array":
        return _is_integer(schema.get("items"))[0], True
    return schema.get("type") == "integer", False


def check_integers(pairs: list[tuple[str, str]], schema_of: Any) -> None:
    """Refuse an integer field or parameter that is not ASCII digits (``schema_of(name)`` gives
    the schema of a name; an array's values may also be joined by commas)."""
    for name, value in pairs:
        integer, array = _is_integer(schema_of(name))
        if not integer:
            continue
        for part in value.split(",") if array else [value]:
            if not _INTEGER.fullmatch(part):
                raise BadRequestProblem(detail=f"{name}: {part!r} is not an integer")


class ContractParameterValidator(ParameterValidator):
    """Query parameters: integers are ASCII digits (Connexion would take ``int()``'s syntax)."""

    def validate_request(self, request: Any) -> None:
        query = self.parameters.get("query", [])
        if query:
            schemas = {param["name"]: param.get("schema", param) for param in query}
            raw = request.scope.get("query_string", b"").decode("latin-1")
            check_integers(parse_qsl(raw, keep_blank_values=True), schemas.get)
        super().validate_request(request)

    def validate_query_parameter(self, param: dict[str, Any], request: Any) -> str | None:
        """Connexion's verdict, with the parameter's ``x-hint`` (what to do instead) after it."""
        error: str | None = super().validate_query_parameter(param, request)
        if error and param.get("x-hint"):
            # jsonschema's verdict, then a blank line and the schema: the hint joins the verdict.
            verdict, blank, schema = error.partition("\n\n")
            return f"{verdict}; {param['x-hint']}{blank}{schema}"
        return error


def contract_validator_map(form: type[FormDataValidator] = ContractFormValidator) -> dict[str, Any]:
    """Connexion's validators, with forms and query parameters validated as the contract
    means them."""
    body = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    body[FORM] = form
    return {**VALIDATOR_MAP, "body": body, "parameter": ContractParameterValidator}
