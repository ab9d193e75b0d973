"""Reading the contract: loaded once, shared by the app, the CLI and the tests."""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from consulting import SPEC_PATH

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def error_table(path: Path = SPEC_PATH) -> dict[int, dict[str, Any]]:
    """``x-error-codes``: business code -> {status, name, zh, en}."""
    return {int(code): entry for code, entry in load_spec(path)["x-error-codes"].items()}


def operations(path: Path = SPEC_PATH) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation as (METHOD, path, operation object)."""
    found = []
    for route, item in load_spec(path)["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                found.append((method.upper(), route, item[method]))
    return found


def validate_document(path: Path = SPEC_PATH) -> None:
    """Raise if the document is not valid OpenAPI (openapi-spec-validator)."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, _ = read_from_filename(str(path))
    validate(document)


def unresolved_operation_ids(path: Path = SPEC_PATH) -> list[str]:
    """operationIds (and security info functions) that do not name an importable function."""
    names = [op["operationId"] for _, _, op in operations(path)]
    for scheme in load_spec(path).get("components", {}).get("securitySchemes", {}).values():
        names += [v for k, v in scheme.items() if k.endswith("InfoFunc")]
    return [name for name in names if not _resolves(name)]


def _resolves(dotted: str) -> bool:
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return callable(getattr(module, attribute, None))
