"""The contract (openapi/consulting.yaml) against OpenAPI 3.0, the 2017 source and itself."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from consulting.spec import inline

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "openapi" / "consulting.yaml"
SOURCE_PATH = ROOT / "docs" / "source" / "consulting-api-2017.txt"
METHODS = ("get", "put", "post", "delete", "patch")
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def resolve(node: Any) -> Any:
    """``node`` with every local ``$ref`` replaced by its target."""
    return inline(spec(), node)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, resolved operation) for every operation in the spec."""
    return [
        (method, path, resolve(item[method]))
        for path, item in spec()["paths"].items()
        for method in METHODS
        if method in item
    ]


def operation_ids(ops: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [op["operationId"] for _, _, op in ops]


OPERATIONS = operations()
OP_IDS = operation_ids(OPERATIONS)
WITH_BODY = [(method, path, op) for method, path, op in OPERATIONS if "requestBody" in op]


def examples_of(media: dict[str, Any]) -> list[Any]:
    """The example values of a media type object, from ``example`` or ``examples``."""
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values()]


def check_schema(schema: dict[str, Any], instance: Any) -> None:
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(instance)


def error_table() -> dict[int, dict[str, Any]]:
    """The table by integer code (its YAML keys are strings: Spectral wants string keys)."""
    return {int(code): entry for code, entry in spec()["x-error-codes"].items()}


# ------------------------------------------------------------------------------------- the source


def source_operations() -> list[dict[str, Any]]:
    """Each documented operation of the 2017 source: section, method, path and request fields."""
    text = SOURCE_PATH.read_text(encoding="utf-8")
    found = []
    for chunk in re.split(r"^(?=\d+\.\d+\.\d+\. )", text, flags=re.MULTILINE):
        path = re.search(r"请求地址\s*[:：]\s*(\S+)", chunk)
        if path is None:
            continue
        method = re.search(r"请求方式\s*[:：]\s*(\w+)", chunk)
        assert method is not None, chunk[:40]
        params = chunk.split("请求参数", 1)[1].split("响应数据", 1)[0]
        rows = [line.split("\t")[0] for line in params.splitlines() if "\t" in line]
        found.append(
            {
                "section": chunk.split(". ", 1)[0],
                "method": method.group(1).lower(),
                "path": "/" + path.group(1).lstrip("/"),
                "fields": [name for name in rows if name != "参数名称"],
            }
        )
    return found


def source_sections() -> set[str]:
    text = SOURCE_PATH.read_text(encoding="utf-8")
    return set(re.findall(r"^(\d+(?:\.\d+)*)\. ", text, flags=re.MULTILINE))


def request_field_names(method: str, op: dict[str, Any]) -> set[str]:
    """Form body properties, or query parameters for GET."""
    if method == "get":
        return {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    return set(op["requestBody"]["content"][FORM]["schema"]["properties"])


# ------------------------------------------------------------------------------------- tests


def test_spec_is_valid_openapi_3_0() -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)
    assert document["openapi"].startswith("3.0.")


def test_spec_survives_connexions_jinja_rendering() -> None:
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert not [marker for marker in ("{{", "{%", "{#") if marker in text]


def test_source_parser_finds_all_15_operations() -> None:
    documented = source_operations()
    assert len(documented) == 15
    assert all(op["fields"] for op in documented)


@pytest.mark.parametrize("documented", source_operations(), ids=lambda d: d["path"])
def test_every_source_operation_is_in_the_spec(documented: dict[str, Any]) -> None:
    item = spec()["paths"].get(documented["path"], {})
    assert documented["method"] in item, f"{documented['method'].upper()} {documented['path']}"
    op = resolve(item[documented["method"]])
    assert op.get("x-source") == documented["section"]
    missing = set(documented["fields"]) - request_field_names(documented["method"], op)
    assert not missing


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=OP_IDS)
def test_operation_is_marked(method: str, path: str, op: dict[str, Any]) -> None:
    markers = [m for m in ("x-source", "x-inferred", "x-extension") if m in op]
    assert len(markers) == 1, markers
    if "x-source" in op:
        assert op["x-source"] in source_sections()
    if "x-inferred" in op:
        assert op["x-section"].split()[0] in source_sections()
    if "x-extension" in op:
        assert op["x-reason"].strip()


def test_operation_ids_are_unique() -> None:
    assert len(OP_IDS) == len(set(OP_IDS))


def test_error_code_table_is_consistent() -> None:
    table = error_table()
    for code, entry in table.items():
        assert set(entry) == {"status", "name", "zh", "en"}, code
        assert entry["status"] == code // 100, code
    names = [entry["name"] for entry in table.values()]
    assert len(names) == len(set(names))
    assert set(spec()["x-common-error-codes"]) <= set(table)


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=OP_IDS)
def test_declared_error_codes_have_examples(method: str, path: str, op: dict[str, Any]) -> None:
    table = error_table()
    for code in op["x-error-codes"]:
        assert code in table, code
        assert code not in spec()["x-common-error-codes"], code
        response = op["responses"].get(str(table[code]["status"]))
        assert response is not None, f"no {table[code]['status']} response for {code}"
        codes = [example["code"] for example in examples_of(response["content"][JSON])]
        assert code in codes


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=OP_IDS)
def test_error_examples_match_their_status(method: str, path: str, op: dict[str, Any]) -> None:
    table = error_table()
    errors = {s: r for s, r in op["responses"].items() if s != "default" and int(s) >= 400}
    errors["default"] = op["responses"]["default"]
    for status, response in errors.items():
        media = response["content"][JSON]
        assert examples_of(media), status
        for example in examples_of(media):
            check_schema(media["schema"], example)
            entry = table[example["code"]]
            assert status in ("default", str(example["code"] // 100))
            assert example["msg"] == f"{entry['zh']} / {entry['en']}"


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=OP_IDS)
def test_success_example_validates(method: str, path: str, op: dict[str, Any]) -> None:
    media = op["responses"]["200"]["content"][JSON]
    examples = examples_of(media)
    assert examples
    for example in examples:
        assert example["code"] == 0
        check_schema(media["schema"], example)


@pytest.mark.parametrize(("method", "path", "op"), WITH_BODY, ids=operation_ids(WITH_BODY))
def test_request_example_validates(method: str, path: str, op: dict[str, Any]) -> None:
    media = op["requestBody"]["content"][FORM]
    assert examples_of(media)
    for example in examples_of(media):
        check_schema(media["schema"], example)


@pytest.mark.parametrize("name", ["consulting.yaml", "mock-controls.yaml"])
def test_request_bodies_are_urlencoded_forms_only(name: str) -> None:
    """No file uploads: consulting.web.tuning gives handlers the form that validation
    parsed and looks for no files. A multipart body would need both changed."""
    document = yaml.safe_load((ROOT / "openapi" / name).read_text(encoding="utf-8"))
    for item in document["paths"].values():
        for method in METHODS:
            body = item.get(method, {}).get("requestBody")
            if body is not None:
                assert set(body["content"]) == {FORM}, (method, body["content"].keys())
