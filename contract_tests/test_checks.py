"""The envelope checks' own rules, on hand-made bodies: fast, and independent of any server."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core import NotSet

from consulting import SPEC_PATH
from consulting.spec import load_spec, operations
from contract_tests.checks import NOT_JSON, envelope_problems
from contract_tests.contract import contract_of, to_json_schema
from contract_tests.report import Report, Violation


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (NOT_JSON, "the body is not JSON"),
        ([], "the body is a JSON list, not an object"),
        ({"code": 0, "msg": ""}, "missing `content`"),
        ({"code": 0, "msg": "", "content": [], "data": 1}, "unexpected top-level `data`"),
        ({"code": "0", "msg": "", "content": []}, '`code` is "0", not an integer'),
        ({"code": True, "msg": "", "content": []}, "`code` is true, not an integer"),
        ({"code": 0, "msg": None, "content": []}, "`msg` is null, not a string"),
        ({"code": 0, "msg": "", "content": {}}, "`content` is {}, not an array"),
        (
            {"type": "about:blank", "title": "Bad Request", "status": 400},
            "unexpected top-level `status`, `title`, `type`",
        ),
    ],
)
def test_envelope_problems_name_what_is_wrong(body: Any, problem: str) -> None:
    assert problem in envelope_problems(body)


def test_the_envelope_itself_has_no_problem() -> None:
    body = {"code": 40401, "msg": "需求不存在 / no such post", "content": []}
    assert envelope_problems(body) == []


def test_an_operation_may_return_its_own_codes_and_the_common_ones() -> None:
    contract = contract_of(load_spec())
    rules = contract.rules("POST", "/api/user/post/publish")
    assert rules.role == "user"
    assert {40100, 40300, 40301, 40403} <= rules.codes
    assert set(contract.common_codes) <= rules.codes
    assert 40402 not in rules.codes  # an order code: not publish's
    assert contract.error_table[40403].status == 404


def test_public_operations_need_no_session() -> None:
    assert contract_of(load_spec()).rules("POST", "/api/user/login").role is None


def test_item_schemas_come_from_the_success_response_with_references_inlined() -> None:
    schema = contract_of(load_spec()).rules("GET", "/api/user/post/check").item_schema
    assert schema is not None
    assert "$ref" not in str(schema)
    assert schema["properties"]["consultant_id"]["type"] == ["integer", "null"]


def test_nullable_becomes_a_null_type() -> None:
    assert to_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert to_json_schema({"enum": ["a"], "nullable": True}) == {
        "anyOf": [{"enum": ["a", None]}, {"type": "null"}]
    }


def test_a_report_survives_the_trip_between_processes() -> None:
    report = Report.for_labels(["GET /api/tag/list"])
    operation = report.operations["GET /api/tag/list"]
    operation.cases, operation.successes = 3, 1
    operation.failing_cases.add("1:case")
    key = ("envelope_shape", "Custom check failed", "Not the envelope")
    operation.violations[key] = Violation(*key, curl="curl -X GET x")
    report.errors.append("setup: nothing")

    copy = Report.from_json(report.to_json())

    assert copy.operations["GET /api/tag/list"] == operation
    assert copy.errors == report.errors
    assert not copy.ok


MODIFY = {"post_id": 42, "user_id": 17, "tag_id": [3], "title": "t", "content": "c"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (MODIFY, None),
        # what Schemathesis's fuzzing phase once sent as "positive" (seed 20170625)
        ({**MODIFY, "post_id": 2605093149}, "is greater than the maximum of 2147483647"),
        ({**MODIFY, "tag_id": [3, 123623620429539868672]}, "is greater than the maximum"),
        ({**MODIFY, "title": ""}, "should be non-empty"),
        ({key: value for key, value in MODIFY.items() if key != "title"}, "'title' is a required"),
    ],
)
def test_a_request_is_checked_against_the_spec_before_valid_data_may_be_refused(
    body: dict[str, Any], problem: str | None
) -> None:
    rules = contract_of(load_spec()).rules("POST", "/api/user/post/modify")
    found = rules.request_problem(body, {})
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


def test_query_parameters_are_checked_too() -> None:
    rules = contract_of(load_spec()).rules("GET", "/api/user/post/acquire")
    assert rules.request_problem(None, {"tag_id": 3, "page": 2}) is None
    assert rules.request_problem(None, {"page": 2}) == "query: tag_id is missing"
    problem = rules.request_problem(None, {"tag_id": 0})
    assert problem is not None and problem.startswith("query tag_id:")


def test_an_optional_body_may_be_absent_and_a_required_one_may_not() -> None:
    contract = contract_of(load_spec())
    assert contract.rules("DELETE", "/api/user/post/delete").request_problem(None, {}) is None
    modify = contract.rules("POST", "/api/user/post/modify")
    assert modify.request_problem(None, {}) == "body: missing"


@pytest.mark.parametrize("label", [f"{method} {path}" for method, path, _ in operations()])
def test_what_schemathesis_generates_as_valid_the_check_also_finds_valid(label: str) -> None:
    """``valid_data_accepted`` skips a "positive" case only when it breaks the spec; if our
    reading of the spec disagreed with Schemathesis's on well-formed requests, the check would
    quietly judge nothing. Positive cases as Schemathesis's own strategy draws them all pass."""
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    rules = contract_of(schema.raw_schema).rules(operation.method, operation.path)
    problems: list[str] = []

    @given(operation.as_strategy())
    @settings(
        max_examples=25, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    def drawn(case: Any) -> None:
        body = None if isinstance(case.body, NotSet) else case.body
        problem = rules.request_problem(body, case.query)
        if problem is not None:
            problems.append(problem)

    drawn()
    assert problems == []
