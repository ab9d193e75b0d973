"""Reading the contract: loaded once, shared by the app, the mock, the CLI and the tests.

It stands apart from the layers (it imports nothing of the project but the spec's path), so
that everything, the contract tester included, reads the document the same way: one loader,
one ``$ref`` resolver.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from consulting import SPEC_PATH

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# libyaml's parser where PyYAML has it (its wheels do): the same data, four times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    return spec


def error_table(path: Path = SPEC_PATH) -> dict[int, dict[str, Any]]:
    """``x-error-codes``: business code -> {status, name, zh, en}."""
    return {int(code): entry for code, entry in load_spec(path)["x-error-codes"].items()}


def state_machines(path: Path = SPEC_PATH) -> dict[str, dict[str, Any]]:
    """``x-state-machines``: post, order, payment -> {initial, transitions}."""
    machines: dict[str, dict[str, Any]] = load_spec(path)["x-state-machines"]
    return machines


def operations(path: Path = SPEC_PATH) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation as (METHOD, path, operation object)."""
    found = []
    for route, item in load_spec(path)["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                found.append((method.upper(), route, item[method]))
    return found


def resolve(document: Mapping[str, Any], node: Any) -> Any:
    """``node``, or what its local ``$ref`` (chain) points to in ``document``."""
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"only local references are supported, not {ref!r}")
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(document: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with every local ``$ref`` replaced by its target (the contract has no cycles)."""
    if depth > 50:
        raise ValueError("schema nesting too deep (a recursive $ref?)")
    node = resolve(document, node)
    if isinstance(node, Mapping):
        return {key: inline(document, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(document, value, depth + 1) for value in node]
    return node


def validate_document(path: Path = SPEC_PATH) -> None:
    """Raise if the document is not valid OpenAPI (openapi-spec-validator)."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    document, _ = read_from_filename(str(path))
    validate(document)


def unresolved_operation_ids(path: Path = SPEC_PATH) -> list[str]:
    """operationIds (and security info functions) that name no function of their module."""
    names = [op["operationId"] for _, _, op in operations(path)]
    for scheme in load_spec(path).get("components", {}).get("securitySchemes", {}).values():
        names += [v for k, v in scheme.items() if k.endswith("InfoFunc")]
    return [name for name in names if not _resolves(name)]


def _resolves(dotted: str) -> bool:
    """Whether ``module.function`` is a function defined at the top of that module's source.

    The source is read, not imported: importing the handlers would import the whole app
    (seconds), and the tests import it anyway.
    """
    module_name, _, attribute = dotted.rpartition(".")
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return False
    if found is None or not found.origin or not found.origin.endswith(".py"):
        return False
    try:
        tree = ast.parse(Path(found.origin).read_bytes())
    except SyntaxError:
        return False
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return any(isinstance(node, functions) and node.name == attribute for node in tree.body)
