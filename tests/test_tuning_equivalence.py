"""The tuned app answers exactly as stock Connexion does.

``consulting.web.tuning`` replaces parts of Connexion 3.3 (the handler's call, body-less
validation, validators built once, the Swagger UI's router, the JSON encoder, the security
hooks' inspection). One fixed transcript of requests (every operation; valid, invalid,
unauthenticated and wrong-role requests; form, query and path parameters; the error paths the
tuning touches) goes through stock Connexion (``AsyncApp`` with the contract's own validation,
``consulting.web.validation``) and through the tuned app, each on a fresh database; the status,
the headers that matter and the bodies must be the same. A Connexion upgrade that changes any
of it shows up here as a diff, step by step.

Tokens, prepay ids, phone tickets and times differ between two runs by nature: they are compared
by shape.
The one deliberate difference is marked on its step (``stock_status``) and checked as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from connexion import AsyncApp
from starlette.testclient import TestClient

from consulting import SPEC_PATH
from consulting.core.migrate import upgrade
from consulting.core.resources import Resources
from consulting.mock.app import CONTROLS_SPEC
from consulting.mock.controls import SCENARIOS_KEY
from consulting.mock.scenarios import ScenarioStore
from consulting.web.app import SWAGGER_UI, create_app, surround
from consulting.web.validation import contract_validator_map
from handlers._common import RESOURCES_KEY
from services.payments import sign
from tests.settings import TEST_NOTIFY_KEY, make_settings

FORM = "application/x-www-form-urlencoded"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    form: dict[str, Any] | str | None = None
    query: dict[str, Any] | None = None
    token: str | None = None  # whose session, as Authorization: Bearer
    cookie: str | None = None  # whose session, as the cookie
    headers: dict[str, str] = field(default_factory=dict)
    keep: str | None = None  # remember this response's X-Session-Token under this name
    # Where the tuned app answers differently on purpose: the status stock Connexion gives.
    stock_status: int | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path} {self.query or ''} {self.form or ''}"[:160]


def _signed(out_trade_no: str, total_fee: str, result: str = "SUCCESS") -> dict[str, str]:
    fields = {
        "out_trade_no": out_trade_no,
        "transaction_id": f"tx{out_trade_no}",
        "total_fee": total_fee,
        "result_code": result,
    }
    return {**fields, "sign": sign(fields, TEST_NOTIFY_KEY)}


def _register(username: str) -> dict[str, str]:
    return {"username": username, "password": PASSWORD, "password_again": PASSWORD}


def _code(phone_number: str, code: str) -> dict[str, str]:
    return {"phone_number": phone_number, "verification_code": code}


def _login(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password}


def _post(title: str = "咨询", price: str = "100.00", tags: Any = (1,)) -> dict[str, Any]:
    return {"user_id": 1, "tag_id": list(tags), "title": title, "content": "需要", "price": price}


def _order(order_no: str, post_id: int, price: str = "100.00") -> dict[str, Any]:
    return {
        "order_no": order_no,
        "create_time": "2017-06-25 05:17:51",
        "price": price,
        "post_id": post_id,
        "consultant_id": 1,
        "status": "in_progress",
    }


def _pay(out_trade_no: str, post_id: int, total_fee: str = "10000") -> dict[str, Any]:
    return {
        "body": "咨询费",
        "out_trade_no": out_trade_no,
        "total_fee": total_fee,
        "spbill_create_ip": "127.0.0.1",
        "post_id": post_id,
    }


ACQUIRE, CHECK = "/api/user/post/acquire", "/api/user/post/check"
PUBLISH, MODIFY, DELETE = "/api/user/post/publish", "/api/user/post/modify", "/api/user/post/delete"
ACCEPT, FINISH = "/api/consultant/order/accept", "/api/consultant/order/finish"
ADD, CANCEL, ORDER_DELETE = (
    "/api/user/order/add",
    "/api/user/order/cancel",
    "/api/user/order/delete",
)

TRANSCRIPT = [
    # accounts
    Step("POST", "/api/user/register", _register("alice")),
    Step("POST", "/api/user/register", _register("Alice")),  # 409 case-insensitive
    Step("POST", "/api/user/register", {**_register("bob"), "password_again": "x" * 8}),
    Step("POST", "/api/user/register", {"username": "b"}),  # 400 missing fields
    Step("POST", "/api/consultant/register", _register("carol")),
    Step("POST", "/api/consultant/register", _register("dave")),
    Step("POST", "/api/user/login", _login("alice"), keep="alice"),
    Step("POST", "/api/user/login", _login("alice", "wrong password")),
    Step("POST", "/api/user/login", {"username": "alice"}),
    Step("POST", "/api/consultant/login", _login("carol"), keep="carol"),
    Step("POST", "/api/consultant/login", _login("dave"), keep="dave"),
    # sms and phone sign-in
    Step("POST", "/api/sms/send", {"phone_number": "13800138000"}),
    Step("POST", "/api/sms/send", {"phone_number": "13800138000"}),  # 429
    Step("POST", "/api/sms/send", {"phone_number": "13800138000\n"}),  # anchored pattern
    Step("POST", "/api/sms/send", "phone_number=%FF", headers={"Content-Type": FORM}),
    Step("POST", "/api/sms/send", "phone_number=1%00", headers={"Content-Type": FORM}),
    Step(
        "POST", "/api/user/signin", {"phone_number": "13800138000", "verification_code": "000000"}
    ),
    Step(
        "POST", "/api/user/signin", {"phone_number": "13800138000", "verification_code": "123456"}
    ),
    Step("POST", "/api/consultant/signin", {"phone_number": "1", "verification_code": "123456"}),
    # the tag list, the docs, unknown paths and methods
    Step("GET", "/api/tag/list"),
    Step("GET", "/api/tag/list", query={"extra": "1"}),
    Step("POST", "/api/tag/list"),
    Step("GET", "/api/nothing/here"),
    Step("GET", "/openapi.json"),
    Step("GET", "/openapi.json/"),
    Step("GET", "/openapi.yaml"),
    Step("GET", "/ui"),
    Step("GET", "/ui/"),
    Step("GET", "/ui/swagger-ui.css"),
    Step("GET", "/uinope"),
    Step("GET", "/api/tag/list/"),
    # publish: valid, each kind of refusal, the two array styles, no Content-Type, JSON
    Step("POST", PUBLISH, _post(), token="alice"),
    Step("POST", PUBLISH, _post("免费", price="0", tags=(2, 3)), cookie="alice"),
    Step("POST", PUBLISH, _post(price="199.999"), token="alice"),
    Step("POST", PUBLISH, _post(tags=(999,)), token="alice"),
    Step("POST", PUBLISH, {**_post(), "user_id": 2}, token="alice"),
    Step("POST", PUBLISH, _post(), token="carol"),
    Step("POST", PUBLISH, _post()),
    Step("POST", PUBLISH, _post(), token="not-a-token"),
    Step("POST", PUBLISH, {**_post(), "colour": "red"}, token="alice"),
    Step(
        "POST",
        PUBLISH,
        "user_id=1&tag_id=1,4&title=t&content=c&price=1",
        token="alice",
        headers={"Content-Type": FORM},
    ),
    # No Content-Type: Connexion's validation takes the form as the operation's only media
    # type, then hands the handler the raw bytes instead of the form (a 500). Ours hands it the
    # form, whose unknown tag is then refused (so that neither run changes the database).
    Step(
        "POST",
        PUBLISH,
        "user_id=1&tag_id=999&title=t&content=c&price=2",
        token="alice",
        stock_status=500,
    ),
    Step(
        "POST",
        PUBLISH,
        json.dumps(_post()),
        token="alice",
        headers={"Content-Type": "application/json"},
    ),
    Step("POST", PUBLISH, "x=" + "y" * 70_000, token="alice", headers={"Content-Type": FORM}),
    # modify
    Step("POST", MODIFY, {"post_id": 1, "user_id": 1, "tag_id": 3, "title": "改", "content": "c"}),
    Step(
        "POST",
        MODIFY,
        {"post_id": 1, "user_id": 1, "tag_id": [3, 4], "title": "改", "content": "c"},
        token="alice",
    ),
    Step(
        "POST",
        MODIFY,
        {"post_id": 99, "user_id": 1, "tag_id": 3, "title": "t", "content": "c"},
        token="alice",
    ),
    Step("POST", MODIFY, {"post_id": 1, "user_id": 1}, token="alice"),
    # the lists: query parameters, defaults, bounds
    Step("GET", CHECK, query={"user_id": 1}, token="alice"),
    Step("GET", CHECK, query={"user_id": 1, "page": 2, "page_size": 1}, token="alice"),
    Step("GET", CHECK, query={"user_id": 1, "page_size": 101}, token="alice"),
    Step("GET", CHECK, query={"user_id": "x"}, token="alice"),
    Step("GET", CHECK, query={"user_id": 2}, token="alice"),
    Step("GET", CHECK, token="alice"),
    Step("GET", ACQUIRE, query={"tag_id": 3}, token="carol"),
    Step("GET", ACQUIRE, query={"tag_id": 3}, cookie="carol"),
    Step("GET", ACQUIRE, query={"tag_id": 999}, token="carol"),
    Step("GET", ACQUIRE, query={"tag_id": 3, "page": 0}, token="carol"),
    Step("GET", ACQUIRE, query={"tag_id": 3}, token="alice"),
    # integers are ASCII digits (issue 14), in the query and in forms
    Step("GET", ACQUIRE, query={"tag_id": "1_0"}, token="carol"),
    Step("GET", ACQUIRE, query={"tag_id": "١"}, token="carol"),
    Step("POST", ACCEPT, {"post_id": " 1"}, token="carol"),
    Step("GET", ACQUIRE, query={"tag_id": 3}),
    # payment
    Step("POST", "/api/pay/init", _pay("T1", 1, "1"), token="alice"),
    Step("POST", "/api/pay/init", {**_pay("T1", 1), "spbill_create_ip": "nope"}, token="alice"),
    Step("POST", "/api/pay/init", _pay("T1", 1), token="alice"),
    Step("POST", "/api/pay/init", _pay("T1", 1), token="alice"),  # the same prepay id
    Step("POST", "/api/pay/init", _pay("T1", 2, "0"), token="alice"),  # 40904 or 40003
    Step("POST", "/api/pay/notify", {**_signed("T1", "10000"), "sign": "0" * 64}),
    Step("POST", "/api/pay/notify", _signed("T1", "10000")),
    Step("POST", "/api/pay/notify", _signed("T1", "10000")),  # a retry
    Step("POST", "/api/pay/notify", _signed("T9", "10000")),
    # orders
    Step("POST", ACCEPT, {"post_id": 1}, token="carol"),
    Step("POST", ACCEPT, {"post_id": 1}, token="carol"),  # a retry
    Step("POST", ACCEPT, {"post_id": 1}, token="dave"),
    Step("POST", ACCEPT, {"post_id": 2}, token="carol"),  # free and open
    Step("POST", ACCEPT, {"post_id": 99}, token="carol"),
    Step("POST", ADD, _order("O1", 1), token="alice"),
    Step("POST", ADD, _order("O1", 1), token="alice"),
    Step("POST", ADD, _order("O1", 2, "0.00"), token="alice"),
    Step(
        "POST",
        ADD,
        {**_order("O2", 2, "0.00"), "create_time": "2017-13-01 00:00:00"},
        token="alice",
    ),
    Step("POST", ADD, _order("O2", 2, "0.00"), token="alice"),
    Step("GET", "/api/consultant/order/list", token="carol"),
    Step("GET", "/api/consultant/order/list", query={"status": "finished"}, token="carol"),
    Step("GET", "/api/consultant/order/list", query={"status": "lost"}, token="carol"),
    Step("POST", FINISH, {"order_id": 2}, token="carol"),
    Step("POST", FINISH, {"order_id": 2}, token="carol"),
    Step("POST", FINISH, {"order_id": 1}, token="dave"),
    Step("POST", CANCEL, {"post_id": 1}, token="alice"),
    Step("POST", CANCEL, {"post_id": 1, "order_id": 1}, token="alice"),
    Step("POST", CANCEL, {"order_id": 1}, token="alice"),
    Step("POST", ORDER_DELETE, {"order_id": 1}, token="alice"),
    Step("POST", ORDER_DELETE, {"post_id": 1}, token="alice"),
    Step("POST", ORDER_DELETE, {}, token="alice"),
    # delete: the form body, the query, neither, both
    Step("DELETE", DELETE, {"post_id": 4}, token="alice", headers={"Content-Type": FORM}),
    Step("DELETE", DELETE, query={"post_id": 3}, token="alice"),
    Step("DELETE", DELETE, token="alice"),
    Step("DELETE", DELETE, {"post_id": 99}, query={"post_id": 3}, token="alice"),
    Step("DELETE", DELETE, query={"post_id": 1}, token="carol"),
    # the mock's controls: path parameters
    Step("GET", "/__mock/sms/13800138000"),
    Step("GET", "/__mock/sms/1380013800x"),
    Step("POST", "/__mock/scenario/nope"),
    # logout, and the session is gone
    Step("POST", "/api/consultant/logout", token="carol"),
    Step("GET", ACQUIRE, query={"tag_id": 3}, token="carol"),
    Step("POST", "/api/user/logout", token="carol"),
    Step("POST", "/api/user/logout", cookie="alice"),
    Step("GET", CHECK, query={"user_id": 1}, token="alice"),
]

HEADERS_COMPARED = ("content-type", "allow", "retry-after", "location")
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
PREPAY = re.compile(r"wx[0-9a-f]{28}")
TICKET = re.compile(r"pt_[A-Za-z0-9_-]{32}")


def _run(app: AsyncApp) -> list[tuple[Any, ...]]:
    tokens: dict[str, str] = {}
    seen = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for step in TRANSCRIPT:
            client.cookies.clear()
            headers = dict(step.headers)
            if step.token:
                headers["Authorization"] = f"Bearer {tokens.get(step.token, step.token)}"
            if step.cookie:
                headers["Cookie"] = f"consulting_session={tokens[step.cookie]}"
            form = step.form if isinstance(step.form, dict) else None
            raw = step.form.encode() if isinstance(step.form, str) else None
            response = client.request(
                step.method,
                step.path,
                params=step.query,
                data=form,
                content=raw,
                headers=headers,
                follow_redirects=False,
            )
            if step.keep and response.status_code == 200:
                tokens[step.keep] = response.headers["x-session-token"]
            seen.append(_observed(response))
    return seen


def _observed(response: Any) -> tuple[Any, ...]:
    headers = tuple((name, response.headers.get(name)) for name in HEADERS_COMPARED)
    has_session = ("x-session-token" in response.headers, "set-cookie" in response.headers)
    text = response.text
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    else:
        text = PREPAY.sub("wx<prepay>", TIME.sub("<time>", json.dumps(body)))
        body = json.loads(TICKET.sub("pt_<ticket>", text))
    return response.status_code, headers, has_session, body


@pytest.fixture
def fresh_resources(tmp_path: Path) -> Iterator[Any]:
    made: list[Resources] = []

    def make(name: str) -> Resources:
        res = Resources.from_settings(make_settings(f"sqlite:///{tmp_path / name}.db"))
        upgrade(res.db.engine)
        made.append(res)
        return res

    yield make
    for res in made:
        res.db.dispose()


def _with_controls(app: AsyncApp) -> AsyncApp:
    app.add_api(CONTROLS_SPEC.name, strict_validation=True, swagger_ui_options=SWAGGER_UI)
    return app


def _state(res: Resources) -> dict[str, Any]:
    return {SCENARIOS_KEY: ScenarioStore(res, "empty")}


def test_the_tuned_app_answers_as_stock_connexion(fresh_resources: Any) -> None:
    tuned_res = fresh_resources("tuned")
    tuned = _with_controls(create_app(resources=tuned_res, extra_state=_state(tuned_res)))

    stock_res = fresh_resources("stock")
    stock = AsyncApp(__name__, specification_dir=str(SPEC_PATH.parent))
    stock.add_api(
        SPEC_PATH.name,
        strict_validation=True,
        validate_responses=stock_res.settings.validate_responses,
        swagger_ui_options=SWAGGER_UI,
        validator_map=contract_validator_map(),
    )
    surround(stock, stock_res.settings, {RESOURCES_KEY: stock_res, **_state(stock_res)})
    _with_controls(stock)

    tuned_seen, stock_seen = _run(tuned), _run(stock)

    differences = []
    steps = enumerate(zip(TRANSCRIPT, tuned_seen, stock_seen, strict=True))
    for index, (step, ours, theirs) in steps:
        if step.stock_status is not None:
            assert (ours[0], theirs[0]) == (404, step.stock_status), (step.label, ours, theirs)
        elif ours != theirs:
            differences.append(f"step {index} {step.label}\n  tuned {ours}\n  stock {theirs}")
    assert not differences, "\n".join(differences)
    # the transcript reaches every kind of answer the contract has, not only the easy ones
    statuses = {seen[0] for seen in tuned_seen}
    assert {200, 400, 401, 403, 404, 405, 409, 413, 415, 429} <= statuses
