"""Request validation built once: the same verdicts as ``consulting.web.validation`` and
Connexion's own validators, without rebuilding a validator for every request.

Connexion builds a JSON Schema validator (and deep-copies the schema) for every parameter and
body of every request, then parses the query string and the form a second time to hand them to
the handler. Here each schema's validator is built once, and what validation parsed is left on
the scope for the handler's call (``consulting.web.tuning.calls``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from connexion.lifecycle import ConnexionRequest
from connexion.utils import is_null, is_nullable
from jsonschema import Draft4Validator, ValidationError
from starlette.types import Scope

from consulting.web.validation import (
    ContractFormValidator,
    ContractParameterValidator,
    contract_validator_map,
    strict_validator,
)

# Where the validated query string and form are left for the handler's call: Connexion would
# otherwise parse each a second time, the same way.
RESOLVED_QUERY = "consulting_resolved_query"
RESOLVED_FORM = "consulting_resolved_form"


class _Compiled:
    """Validators built once per schema of the spec, not once per request.

    The schemas are the spec's own dicts, fixed after start, so their identity is a sound key.
    The dict holds the schema too, so that the id is never reused (one entry per schema of
    every app built in the process: a handful in production).
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
_form_validator = _Compiled(strict_validator)

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


class CompiledParameterValidator(ContractParameterValidator):
    """Connexion's parameter validation, with each parameter's validator built once and the
    query string it parsed left on the scope."""

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


class CompiledFormValidator(ContractFormValidator):
    """The contract's form validation, its validator built once per schema; the parsed form
    is left on the scope for the handler."""

    @property
    def _validator(self) -> Any:
        return _form_validator(self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        parsed = await super()._parse(stream, scope)
        scope.setdefault("extensions", {})[RESOLVED_FORM] = parsed
        return parsed


def validator_map() -> dict[str, Any]:
    return {
        **contract_validator_map(CompiledFormValidator),
        "parameter": CompiledParameterValidator,
    }
