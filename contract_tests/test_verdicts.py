"""The judge's verdicts on hand-made exchanges: each check, and a correct answer that passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consulting.spec import load_spec
from contract_tests.verdicts import Exchange, Judge, Operation, coerce, judge_of

JUDGE = judge_of(load_spec())
JSON = {"content-type": "application/json"}


def exchange(
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    query: str = "",
    form: str = "",
    headers: dict[str, str] | None = None,
    request_headers: dict[str, str] | None = None,
) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/x-www-form-urlencoded"} if form else {}
    return Exchange(
        method=method,
        path=path,
        query=query,
        request_headers={**sent, **(request_headers or {})},
        request_body=form.encode(),
        status=status,
        response_headers=JSON if headers is None else headers,
        response_body=raw,
    )


def env(code: int, content: list[Any] | None = None, msg: str = "") -> dict[str, Any]:
    return {"code": code, "msg": msg, "content": content or []}


def checks(found: list[Any]) -> list[str]:
    return [verdict.check for verdict in found]


TOKEN = {**JSON, "x-session-token": "t"}


def test_match_finds_operations_by_method_and_path() -> None:
    assert JUDGE.match("get", "/api/tag/list") == Operation(
        "GET", "/api/tag/list", "handlers.tags.list_all"
    )
    assert JUDGE.match("POST", "/api/tag/list") is None
    assert JUDGE.match("GET", "/api/tag/list/") is None
    assert len(JUDGE.operations()) == 29


def test_templated_paths_match_too() -> None:
    document = {"paths": {"/a/{id}": {"get": {"operationId": "x", "responses": {}}}}}
    assert Judge(document).match("GET", "/a/5") == Operation("GET", "/a/{id}", "x")
    assert Judge(document).match("GET", "/a/5/b") is None


def test_a_correct_login_passes() -> None:
    ok = exchange("POST", "/api/user/login", 200, env(0, [17]), headers=TOKEN)
    assert JUDGE.response(ok) == []


@pytest.mark.parametrize(
    ("answer", "check", "words"),
    [
        (
            exchange("GET", "/api/tag/list", 200, b"<html>", headers={}),
            "envelope_shape",
            "Not the envelope (HTTP 200",
        ),
        (
            exchange("GET", "/api/tag/list", 200, env(1, msg="x")),
            "code_matches_status",
            "code 1 with HTTP 200",
        ),
        (
            exchange("GET", "/api/tag/list", 400, env(0)),
            "code_matches_status",
            "code 0 with HTTP 400",
        ),
        (exchange("GET", "/api/tag/list", 400, env(40000)), "code_matches_status", "empty `msg`"),
        (
            exchange("GET", "/api/tag/list", 400, env(40077, msg="x")),
            "declared_error_code",
            "Undeclared error code 40077",
        ),
        (
            exchange("GET", "/api/tag/list", 404, env(40402, msg="x")),
            "declared_error_code",
            "is not listed for GET /api/tag/list",
        ),
        (
            exchange("GET", "/api/tag/list", 500, env(40000, msg="x")),
            "declared_error_code",
            "the table gives it HTTP 400",
        ),
        (
            exchange("GET", "/api/tag/list", 200, env(0, [{"tag_id": "one"}])),
            "success_content_items",
            "content[0]",
        ),
        (
            exchange("POST", "/api/user/login", 201, env(0, [17]), headers=TOKEN),
            "documented_status",
            "201 is not a documented status of POST /api/user/login",
        ),
        (
            exchange("GET", "/api/tag/list", 200, env(0), headers={"content-type": "text/json"}),
            "content_type",
            "Content-Type text/json",
        ),
        (
            exchange("POST", "/api/user/login", 200, env(0, [17])),
            "session_headers",
            "without the documented X-Session-Token header",
        ),
        (
            exchange(
                "GET",
                "/api/nope",
                404,
                b"<h1>Not Found</h1>",
                headers={"content-type": "text/html"},
            ),
            "unknown_path",
            "the contract answers HTTP 404 with code 40400",
        ),
        (
            exchange("GET", "/api/nope", 404, env(40401, msg="x")),
            "unknown_path",
            "got HTTP 404 with code 40401",
        ),
        (
            exchange("PUT", "/api/tag/list", 404, env(40400, msg="x")),
            "wrong_method",
            "the contract answers HTTP 405 with code 40500",
        ),
    ],
)
def test_each_broken_promise_is_named(answer: Exchange, check: str, words: str) -> None:
    found = JUDGE.response(answer)
    assert check in checks(found), found
    message = next(v.message for v in found if v.check == check)
    assert words in message


def test_a_login_whose_user_id_is_a_string_breaks_the_item_schema() -> None:
    found = JUDGE.response(exchange("POST", "/api/user/login", 200, env(0, ["17"]), headers=TOKEN))
    assert checks(found) == ["success_content_items"]


def test_unknown_paths_and_wrong_methods_answered_as_documented_pass() -> None:
    assert JUDGE.response(exchange("GET", "/api/nope", 404, env(40400, msg="x"))) == []
    assert JUDGE.response(exchange("POST", "/api/tag/list", 405, env(40500, msg="x"))) == []


def test_an_undocumented_error_status_is_covered_by_default() -> None:
    assert JUDGE.response(exchange("GET", "/api/tag/list", 503, env(50300, msg="x"))) == []


def test_requests_are_judged_against_their_operation() -> None:
    publish = "user_id=17&tag_id=1&tag_id=2&title=t&content=c&price=199.00"
    bearer = {"authorization": "Bearer x"}
    good = exchange(
        "POST", "/api/user/post/publish", 200, env(0, [1]), form=publish, request_headers=bearer
    )
    assert JUDGE.request(good) == []
    lenient = exchange(
        "POST",
        "/api/user/post/publish",
        200,
        env(0, [1]),
        form=publish.replace("199.00", "1.999"),
        request_headers=bearer,
    )
    assert checks(JUDGE.request(lenient)) == ["request_invalid"]
    anonymous = exchange("POST", "/api/user/post/publish", 200, env(0, [1]), form=publish)
    assert checks(JUDGE.request(anonymous)) == ["security_missing"]
    assert checks(JUDGE.request(exchange("GET", "/api/nope", 404, b""))) == ["unknown_path"]
    assert checks(JUDGE.request(exchange("PUT", "/api/tag/list", 405, b""))) == ["wrong_method"]
    bad_query = exchange(
        "GET", "/api/user/post/check", 200, env(0), query="user_id=abc", request_headers=bearer
    )
    assert checks(JUDGE.request(bad_query)) == ["request_invalid"]
    extra = exchange("GET", "/api/tag/list", 200, env(0), query="x=1")
    assert "undocumented parameter x" in JUDGE.request(extra)[0].message


def test_form_text_is_read_as_its_type() -> None:
    assert coerce(["5"], {"type": "integer"}) == 5
    assert coerce(["1", "2"], {"type": "array", "items": {"type": "integer"}}) == [1, 2]
    assert coerce(["1,2"], {"type": "array", "items": {"type": "integer"}}) == [1, 2]
    assert coerce(["x"], {"type": "integer"}) == "x"
    assert coerce(["7"], {"allOf": [{"type": "integer"}]}) == 7
