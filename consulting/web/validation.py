"""Request validation as the contract means it, where Connexion's differs.

Form bodies must also be text: a field that is not valid UTF-8 once percent-decoded (``%FF``,
an encoded lone surrogate ``%ED%A0%80``) would otherwise reach the handlers with replacement
characters, and a NUL byte cannot be stored in a PostgreSQL text column. Both are refused with
400 before validation, so what is stored is always exactly what the client sent.

JSON Schema patterns are ECMA-262 regular expressions, but jsonschema runs them with Python's
``re.search``, whose ``$`` also matches before a final newline: ``"13800138000\\n"`` would pass
``^1[3-9][0-9]{9}$``. Form bodies are therefore validated with a ``pattern`` keyword that treats
``$`` as the end of the string.

These are rules of the contract, not of speed: ``consulting.web.tuning`` builds the same
validators once instead of per request and must answer exactly as these do.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import VALIDATOR_MAP, FormDataValidator, MediaTypeDict
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend
from starlette.types import Scope

FORM = "application/x-www-form-urlencoded"  # the contract's only request media type


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

        async def replay() -> AsyncGenerator[bytes, None]:
            yield body

        return await super()._parse(replay(), scope)


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


def contract_validator_map(form: type[FormDataValidator] = ContractFormValidator) -> dict[str, Any]:
    """Connexion's validators, with forms validated as the contract means them."""
    body = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    body[FORM] = form
    return {**VALIDATOR_MAP, "body": body}
