"""Request validation as the contract means it, where Connexion's differs.

JSON Schema patterns are ECMA-262 regular expressions, but jsonschema runs them with Python's
``re.search``, whose ``$`` also matches before a final newline: ``"13800138000\\n"`` would pass
``^1[3-9][0-9]{9}$``. Form bodies are therefore validated with a ``pattern`` keyword that treats
``$`` as the end of the string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from connexion.json_schema import Draft4RequestValidator
from connexion.validators import VALIDATOR_MAP, FormDataValidator, MediaTypeDict
from jsonschema import Draft4Validator, ValidationError
from jsonschema.validators import extend


def _pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    match = re.search(pattern, instance)
    if match is None or (pattern.endswith("$") and match.end() != len(instance)):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


StrictRequestValidator = extend(Draft4RequestValidator, {"pattern": _pattern})


class StrictFormDataValidator(FormDataValidator):
    @property
    def _validator(self) -> Any:
        return StrictRequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def validator_map() -> dict[str, Any]:
    body = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    body["application/x-www-form-urlencoded"] = StrictFormDataValidator
    return {**VALIDATOR_MAP, "body": body}
