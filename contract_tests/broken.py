"""Broken servers: our app behind a plant that breaks the contract in one way real backends do.

Each :class:`Plant` is a small ASGI layer in front of a correct server: it may rewrite the
request before the server sees it (a server that "fixes" invalid input instead of refusing
it), answer by itself (a framework's HTML 404), or rewrite the answer (a 201, a missing
header, a float price). The contract tester's own tests run it against each one
(contract_tests/test_broken_servers.py): every planted violation must be caught and named,
every harmless change must pass.

``expect`` says what the tester must report: ``(row, check, words)``: a violation of ``check``
under the report's row ``row`` whose message contains ``words``; ``check`` "coverage_gap"
means the row must be reported as a coverage gap instead. Harmless plants expect nothing.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COVERAGE_GAP = "coverage_gap"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, value: Any, **changes: Any) -> Answer:
        return replace(self, body=json.dumps(value, ensure_ascii=False).encode(), **changes)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def without_header(self, name: str) -> Answer:
        return replace(self, headers=[(k, v) for k, v in self.headers if k.lower() != name])

    def with_header(self, name: str, value: str) -> Answer:
        return replace(self, headers=[*self.without_header(name).headers, (name, value)])


@dataclass(frozen=True)
class Plant:
    name: str
    story: str  # the mistake, as a backend team would make it
    expect: tuple[tuple[str, str, str], ...] = ()
    request: Callable[[Request], Request] | None = None
    answer: Callable[[Request], Answer | None] | None = None  # answers instead of the server
    response: Callable[[Request, Answer], Answer] | None = None
    calls: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def harmless(self) -> bool:
        return not self.expect


class Broken:
    """``app`` behind ``plant``."""

    def __init__(self, app: ASGIApp, plant: Plant) -> None:
        self.app, self.plant = app, plant

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(
            scope["method"], scope["path"], scope.get("query_string", b"").decode(), headers, body
        )
        if self.plant.request is not None:
            request = self.plant.request(request)
        answer = self.plant.answer(request) if self.plant.answer is not None else None
        if answer is None:
            answer = await self._inner(scope, request)
            if self.plant.response is not None:
                answer = self.plant.response(request, answer)
        raw = [(k.lower(), v) for k, v in answer.headers if k.lower() != "content-length"]
        raw.append(("content-length", str(len(answer.body))))
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in raw],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    async def _inner(self, scope: Scope, request: Request) -> Answer:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in request.headers.items()
            if k != "content-length"
        ]
        headers.append((b"content-length", str(len(request.body)).encode()))
        inner_scope = {
            **scope,
            "path": request.path,
            "raw_path": request.path.encode(),
            "query_string": request.query.encode(),
            "headers": headers,
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}

        status, response_headers, chunks = 500, [], []

        async def send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner_scope, receive, send)
        return Answer(status, response_headers, b"".join(chunks))


# -- the plants ------------------------------------------------------------------------------
def _is(request: Request, method: str, path: str) -> bool:
    return request.method == method and request.path == path


def _known(path: str) -> bool:
    return path.startswith("/api/") and not path.endswith("/") and "contract-probe" not in path


def _envelope(code: int, msg: str = "error", content: list[Any] | None = None) -> bytes:
    return json.dumps({"code": code, "msg": msg, "content": content or []}).encode()


JSON_HEADERS = [("content-type", "application/json")]
HTML = b"<!doctype html><html><body><h1>404 Not Found</h1></body></html>"


def _html_404(request: Request) -> Answer | None:
    if request.path.startswith("/api/contract-probe") or request.path.startswith("/contract-probe"):
        return Answer(404, [("content-type", "text/html")], HTML)
    return None


def _lenient_price(request: Request) -> Request:
    """ "Be liberal in what you accept": -5 -> 5, 1.999 -> 1.99, 1e3 -> 1000."""
    if not _is(request, "POST", "/api/user/post/publish"):
        return request
    fixed = []
    for name, value in request.form():
        if name == "price":
            with contextlib.suppress(ValueError):
                value = f"{int(abs(float(value)) * 100) / 100:.2f}"
        fixed.append((name, value))
    return replace(request, body=urlencode(fixed).encode())


def _string_user_id(request: Request, answer: Answer) -> Answer:
    body = answer.json()
    if request.path.endswith("/login") and answer.status == 200 and isinstance(body, dict):
        return answer.with_json({**body, "content": [str(v) for v in body["content"]]})
    return answer


def _no_session_header(request: Request, answer: Answer) -> Answer:
    if request.path.endswith("/login") and answer.status == 200:
        return answer.without_header("x-session-token")
    return answer


def _created(request: Request, answer: Answer) -> Answer:
    if _is(request, "POST", "/api/user/post/publish") and answer.status == 200:
        return replace(answer, status=201)
    return answer


def _finish_refused(request: Request, answer: Answer) -> Answer:
    if _is(request, "POST", "/api/consultant/order/finish") and answer.status == 200:
        return Answer(409, JSON_HEADERS, _envelope(40900, "订单状态不允许此操作 / not now"))
    return answer


def _json_rewrite(path: str, change: Callable[[Any], Any]) -> Callable[[Request, Answer], Answer]:
    def rewrite(request: Request, answer: Answer) -> Answer:
        body = answer.json()
        if request.path == path and isinstance(body, dict) and answer.status == 200:
            return answer.with_json(change(body))
        return answer

    return rewrite


def _items(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Any], Any]:
    def apply(body: Any) -> Any:
        items = body.get("content")
        if isinstance(items, list):
            body = {**body, "content": [change(i) if isinstance(i, dict) else i for i in items]}
        return body

    return apply


def _errors(
    change: Callable[[Answer, dict[str, Any]], Answer],
) -> Callable[[Request, Answer], Answer]:
    def rewrite(request: Request, answer: Answer) -> Answer:
        body = answer.json()
        if answer.status >= 400 and isinstance(body, dict) and _known(request.path):
            return change(answer, body)
        return answer

    return rewrite


def _not_found_as_200(answer: Answer, body: dict[str, Any]) -> Answer:
    return replace(answer, status=200) if body.get("code") == 40401 else answer


def _not_found_as_400(answer: Answer, body: dict[str, Any]) -> Answer:
    return replace(answer, status=400) if body.get("code") == 40401 else answer


def _problem_json(answer: Answer, body: dict[str, Any]) -> Answer:
    if body.get("code") != 40000:
        return answer
    problem = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": body["msg"]}
    return answer.with_json(problem).with_header("content-type", "application/problem+json")


def _invented_code(answer: Answer, body: dict[str, Any]) -> Answer:
    return answer.with_json({**body, "code": 40077}) if body.get("code") == 40401 else answer


def _foreign_code(answer: Answer, body: dict[str, Any]) -> Answer:
    # "not found" is "not found": the order's code on a post operation
    return answer.with_json({**body, "code": 40402}) if body.get("code") == 40401 else answer


def _empty_msg(answer: Answer, body: dict[str, Any]) -> Answer:
    return answer.with_json({**body, "msg": ""})


def _price_as_number(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "price": float(item["price"])} if "price" in item else item


def _iso_time(item: dict[str, Any]) -> dict[str, Any]:
    if isinstance(item.get("create_time"), str):
        return {**item, "create_time": item["create_time"].replace(" ", "T") + "+08:00"}
    return item


def _without_status(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "status"}


def _text_plain(request: Request, answer: Answer) -> Answer:
    if _is(request, "GET", "/api/tag/list"):
        return answer.with_header("content-type", "text/plain")
    return answer


def _truncate_title(request: Request) -> Request:
    if not _is(request, "POST", "/api/user/post/publish"):
        return request
    fixed = [(k, v[:100] if k == "title" else v) for k, v in request.form()]
    return replace(request, body=urlencode(fixed).encode())


def _zero_id_is_one(request: Request) -> Request:
    if not _is(request, "GET", "/api/user/post/detail"):
        return request
    query = [
        (k, "1" if k == "post_id" and v.strip() == "0" else v) for k, v in parse_qsl(request.query)
    ]
    return replace(request, query=urlencode(query))


def _status_filter_ignored(request: Request) -> Request:
    """An unknown status filter quietly means "any status"."""
    if not _is(request, "GET", "/api/user/order/list"):
        return request
    enum = {"in_progress", "finished", "cancelled"}
    query = [(k, v) for k, v in parse_qsl(request.query) if k != "status" or v in enum]
    return replace(request, query=urlencode(query))


def _trailing_slash(request: Request) -> Request:
    if request.path.endswith("/") and len(request.path) > 1:
        return replace(request, path=request.path.rstrip("/"))
    return request


def _wrong_method_404(request: Request, answer: Answer) -> Answer:
    if answer.status == 405:
        return Answer(404, JSON_HEADERS, _envelope(40400, "接口不存在 / no such endpoint"))
    return answer


def _extra_top_level(request: Request, answer: Answer) -> Answer:
    body = answer.json()
    if _is(request, "GET", "/api/user/order/list") and isinstance(body, dict):
        return answer.with_json({**body, "total": len(body.get("content") or [])})
    return answer


def _content_object(request: Request, answer: Answer) -> Answer:
    body = answer.json()
    if _is(request, "GET", "/api/consultant/order/held") and isinstance(body, dict):
        return answer.with_json({**body, "content": {"items": body.get("content")}})
    return answer


# harmless
def _extra_headers(request: Request, answer: Answer) -> Answer:
    return answer.with_header("x-powered-by", "Express").with_header("server", "nginx/1.25")


def _charset(request: Request, answer: Answer) -> Answer:
    if answer.header("content-type") == "application/json":
        return answer.with_header("content-type", "application/json; charset=utf-8")
    return answer


def _pretty(request: Request, answer: Answer) -> Answer:
    body = answer.json()
    if isinstance(body, dict):
        reordered = {key: body[key] for key in reversed(list(body))}
        text = json.dumps(reordered, indent=4, ensure_ascii=True) + "\n"
        return replace(answer, body=text.encode())
    return answer


def _reworded(answer: Answer, body: dict[str, Any]) -> Answer:
    return answer.with_json({**body, "msg": f"Error {body.get('code')}: please check the request"})


def _escaped_unicode(request: Request, answer: Answer) -> Answer:
    body = answer.json()
    if isinstance(body, dict):
        return replace(answer, body=json.dumps(body, ensure_ascii=True).encode())
    return answer


def _retry_after_everywhere(request: Request, answer: Answer) -> Answer:
    return answer.with_header("cache-control", "no-store, max-age=0")


OUTSIDE = "(outside the spec)"
LOGIN = "POST /api/user/login"
PUBLISH = "POST /api/user/post/publish"

PLANTS: tuple[Plant, ...] = (
    # the six kinds
    Plant(
        "html_404",
        "unknown paths get the web framework's HTML 404 page",
        ((OUTSIDE, "unknown_path", "the contract answers HTTP 404 with code 40400"),),
        answer=_html_404,
    ),
    Plant(
        "lenient_price",
        "publish quietly turns invalid prices (-5, 1.999, 1e3) into valid ones",
        ((PUBLISH, "boundary_outside_accepted", 'body price = "-5" breaks the contract'),),
        request=_lenient_price,
    ),
    Plant(
        "string_user_id",
        'login answers the user id as a string: content ["17"]',
        ((LOGIN, "success_content_items", "content[0] does not match"),),
        response=_string_user_id,
    ),
    Plant(
        "login_without_token",
        "login answers 200 but forgets the X-Session-Token header",
        ((LOGIN, "session_headers", "without the documented X-Session-Token header"),),
        response=_no_session_header,
    ),
    Plant(
        "created_201",
        "publish answers 201 Created instead of the documented 200",
        (
            (
                PUBLISH,
                "documented_status",
                "201 is not a documented status of POST /api/user/post/publish",
            ),
        ),
        response=_created,
    ),
    Plant(
        "finish_never_succeeds",
        "finish refuses every order with a documented 409 (a state bug): never a 2xx",
        (("POST /api/consultant/order/finish", COVERAGE_GAP, ""),),
        response=_finish_refused,
    ),
    # more of the mistakes real backends make
    Plant(
        "not_found_as_200",
        "a missing post is HTTP 200 with code 40401 (errors in the body only)",
        (("GET /api/user/post/detail", "code_matches_status", "code 40401 with HTTP 200"),),
        response=_errors(_not_found_as_200),
    ),
    Plant(
        "not_found_as_400",
        "a missing post is HTTP 400 (every error is a 400)",
        (("GET /api/user/post/detail", "declared_error_code", "the table gives it HTTP 404"),),
        response=_errors(_not_found_as_400),
    ),
    Plant(
        "problem_json",
        "invalid input gets the framework's application/problem+json",
        (
            (
                PUBLISH,
                "envelope_shape",
                "Not the envelope (HTTP 400, Content-Type application/problem+json)",
            ),
        ),
        response=_errors(_problem_json),
    ),
    Plant(
        "invented_code",
        "a code that is not in the table (40077)",
        (("GET /api/user/post/detail", "declared_error_code", "Undeclared error code 40077"),),
        response=_errors(_invented_code),
    ),
    Plant(
        "foreign_code",
        "a missing post answered with the order's not-found code (40402)",
        (
            (
                "GET /api/user/post/detail",
                "declared_error_code",
                "Error code 40402 (ORDER_NOT_FOUND) is not listed",
            ),
        ),
        response=_errors(_foreign_code),
    ),
    Plant(
        "empty_msg",
        "errors without a reason: msg is empty",
        ((PUBLISH, "code_matches_status", "with an empty `msg`: an error must say why"),),
        response=_errors(_empty_msg),
    ),
    Plant(
        "price_as_number",
        "prices in lists as JSON numbers (199.0), not decimal strings",
        (("GET /api/user/post/check", "success_content_items", "is not of type 'string'"),),
        response=_json_rewrite("/api/user/post/check", _items(_price_as_number)),
    ),
    Plant(
        "iso_time",
        "create_time in ISO 8601 (2017-06-25T09:40:02+08:00), not the documented wall clock",
        (("GET /api/user/post/acquire", "success_content_items", "['create_time']"),),
        response=_json_rewrite("/api/user/post/acquire", _items(_iso_time)),
    ),
    Plant(
        "item_without_status",
        "the buyer's order list leaves out the required status field",
        (("GET /api/user/order/list", "success_content_items", "'status' is a required property"),),
        response=_json_rewrite("/api/user/order/list", _items(_without_status)),
    ),
    Plant(
        "text_plain",
        "tag/list answers JSON as text/plain",
        (("GET /api/tag/list", "content_type", "Content-Type text/plain"),),
        response=_text_plain,
    ),
    Plant(
        "title_truncated",
        "publish cuts a title over 100 characters instead of refusing it",
        ((PUBLISH, "boundary_outside_accepted", "(maxLength 100)"),),
        request=_truncate_title,
    ),
    Plant(
        "zero_id",
        "detail reads post_id 0 as 1",
        (
            (
                "GET /api/user/post/detail",
                "boundary_outside_accepted",
                "query post_id = 0 breaks the contract",
            ),
        ),
        request=_zero_id_is_one,
    ),
    Plant(
        "status_filter_ignored",
        "an unknown status filter on order/list quietly lists every status",
        (("GET /api/user/order/list", "boundary_outside_accepted", "(enum)"),),
        request=_status_filter_ignored,
    ),
    Plant(
        "trailing_slash_served",
        "a trailing slash reaches the operation (/api/tag/list/ answers 200)",
        ((OUTSIDE, "unknown_path", "GET /api/tag/list/ is a path the spec does not have"),),
        request=_trailing_slash,
    ),
    Plant(
        "wrong_method_404",
        "a wrong method gets 404 (40400) instead of 405 (40500)",
        ((OUTSIDE, "wrong_method", "the contract answers HTTP 405 with code 40500"),),
        response=_wrong_method_404,
    ),
    Plant(
        "extra_top_level",
        "order/list adds a top-level `total` to the envelope",
        (("GET /api/user/order/list", "envelope_shape", "unexpected top-level `total`"),),
        response=_extra_top_level,
    ),
    Plant(
        "content_object",
        "held posts as {items: [...]} instead of an array",
        (("GET /api/consultant/order/held", "envelope_shape", "not an array"),),
        response=_content_object,
    ),
    # harmless: none of these may be flagged
    Plant("extra_headers", "X-Powered-By and Server headers", response=_extra_headers),
    Plant("charset", "application/json; charset=utf-8", response=_charset),
    Plant("pretty_json", "indented JSON, keys in another order", response=_pretty),
    Plant("reworded_msg", "other error messages (never empty)", response=_errors(_reworded)),
    Plant("escaped_unicode", "non-ASCII escaped as \\uXXXX", response=_escaped_unicode),
    Plant("cache_headers", "another Cache-Control", response=_retry_after_everywhere),
)
