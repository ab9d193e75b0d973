"""Request validation as the contract means it, where Connexion's differs.

Form bodies must also be text: a field that is not valid UTF-8 once percent-decoded (``%FF``,
an encoded lone surrogate ``%ED%A0%80``) would otherwise reach the handlers with replacement
characters, and a NUL byte cannot be stored in a PostgreSQL text column. Both are refused with
400 before validation, so what is stored is always exactly what the client sent.

JSON Schema patterns are ECMA-262 regular expressions, but jsonschema runs them with Python's
``re.search``, whose ``$`` also matches before a final newline: ``"13800138000\\n"`` would pass
``^1[3-9][0-9]{9}$``. Form bodies are therefore validated with a ``pattern`` keyword that treats
``$`` as the end of the string.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    FormDataValidator,
    MediaTypeDict,
    ParameterValidator,
)
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.types import Scope


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    match = re.search(pattern, instance)
    if match is None or (pattern.endswith("$") and match.end() != len(instance)):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


StrictRequestValidator = extend(Draft4RequestValidator, {"pattern": _pattern})


class _Compiled:
    """JSON Schema validators built once per schema of the spec, not once per request.

    Connexion builds a validator (and deep-copies the schema) for every parameter and body
    of every request; the schemas are the spec's own dicts, fixed after start, so their
    identity is a sound key. The dict holds the schema too, so that the id is never reused
    (one entry per schema of every app built in the process: a handful in production).
    """

    def __init__(self, make: Any) -> None:
        self._make = make
        self._built: dict[int, tuple[Any, Any]] = {}

    def __len__(self) -> int:
        return len(self._built)

    def __call__(self, schema: Any) -> Any:
        found = self._built.get(id(schema))
        if found is None:
            found = self._built[id(schema)] = (schema, self._make(schema))
        return found[1]


_parameter_validator = _Compiled(
    lambda schema: Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
)
# A scalar's verdict against a schema never changes, and the same few values come again and
# again (tag_id=1, page=1): each schema remembers the last verdicts (bounded, oldest dropped).
_VERDICTS_PER_SCHEMA = 256
_verdicts: dict[int, dict[tuple[type, Any], str | None]] = {}


def _parameter_error(schema: Any, value: Any) -> str | None:
    """Why ``value`` breaks ``schema``, or None; remembered for str, int and bool values."""
    key = (type(value), value)
    memo = type(value) in (str, int, bool)
    remembered = _verdicts.get(id(schema)) if memo else None
    if remembered is not None and key in remembered:
        return remembered[key]
    try:
        _parameter_validator(schema).validate(value)
        verdict = None
    except ValidationError as exception:
        verdict = str(exception)
    if memo:
        remembered = _verdicts.setdefault(id(schema), {})
        if len(remembered) >= _VERDICTS_PER_SCHEMA:
            remembered.pop(next(iter(remembered)), None)
        remembered[key] = verdict
    return verdict


_form_validator = _Compiled(
    lambda schema: StrictRequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
)


FORM = "application/x-www-form-urlencoded"  # the contract's only request media type

# Where the validated query string and form are left for the handler's decorator
# (connexion_tuning): Connexion would otherwise parse each a second time, the same way.
RESOLVED_QUERY = "consulting_resolved_query"
RESOLVED_FORM = "consulting_resolved_form"


class CompiledParameterValidator(ParameterValidator):
    """Connexion's parameter validation, with each parameter's validator built once.

    The query string it parsed and validated is left on the scope: Connexion would otherwise
    parse it a second time, the same way, to pass it to the handler.
    """

    def validate(self, scope: Scope) -> None:
        request = ConnexionRequest(scope, uri_parser=self.uri_parser)
        self.validate_request(request)
        scope.setdefault("extensions", {})[RESOLVED_QUERY] = request.query_params

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            if param.get("required"):
                return f"Missing {parameter_type} parameter '{param['name']}'"
            return None
        return _parameter_error(param.get("schema", param), value)


class StrictFormDataValidator(FormDataValidator):
    """Form bodies: NUL-free UTF-8 text, ``$`` as the end of the string, the validator built
    once per schema; the parsed form is left on the scope for the handler."""

    @property
    def _validator(self) -> Any:
        return _form_validator(self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        body = b"".join([chunk async for chunk in stream])
        check_form_text(body)

        async def replay() -> AsyncGenerator[bytes, None]:
            yield body

        parsed = await super()._parse(replay(), scope)
        scope.setdefault("extensions", {})[RESOLVED_FORM] = parsed
        return parsed


def check_form_text(body: bytes) -> None:
    """Refuse a urlencoded body whose names or values are not NUL-free UTF-8 text."""
    for pair in body.split(b"&"):
        for part in pair.split(b"=", 1):
            try:
                text = unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequestProblem(detail="form data is not valid UTF-8") from None
            if "\x00" in text:
                raise BadRequestProblem(detail="form data contains a NUL byte")


def validator_map() -> dict[str, Any]:
    body = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    body[FORM] = StrictFormDataValidator
    return {**VALIDATOR_MAP, "parameter": CompiledParameterValidator, "body": body}
