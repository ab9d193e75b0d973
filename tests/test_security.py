"""OWASP API Security Top 10 (2023), as tests: object- and function-level authorization,
resource limits, injection, and what responses and logs must never contain."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlmodel import select

from consulting.core.resources import Resources
from consulting.spec import inline, load_spec, operations
from models import Order, Payment, Post, PostTag
from tests.api import Account, Api, order_form


def snapshot(res: Resources) -> list[Any]:
    """Everything an attacker could try to change."""
    with res.db.unit_of_work() as session:
        return [
            [p.model_dump() for p in session.exec(select(Post)).all()],
            sorted((t.post_id, t.tag_id) for t in session.exec(select(PostTag)).all()),
            [o.model_dump() for o in session.exec(select(Order)).all()],
            [p.model_dump() for p in session.exec(select(Payment)).all()],
        ]


# API1 Broken object-level authorization ------------------------------------------------------


def test_another_accounts_ids_never_read_or_change_anything(api: Api, res: Resources) -> None:
    victim, victim_consultant, post_id, order_id = api.in_progress_order()
    open_post = api.publish(victim)
    _, finished_consultant, _, finished_order = api.in_progress_order()
    api.ok(
        "POST",
        "/api/consultant/order/finish",
        {"order_id": finished_order},
        token=finished_consultant.token,
    )
    attacker, attacker_consultant = api.buyer(), api.consultant()
    before = snapshot(res)
    post = {"tag_id": [2], "title": "pwned", "content": "pwned"}
    attempts: list[tuple[str, str, dict[str, Any], Account, int]] = [
        (
            "POST",
            "/api/user/post/modify",
            {"post_id": open_post, "user_id": attacker.id, **post},
            attacker,
            404,
        ),
        (
            "POST",
            "/api/user/post/modify",
            {"post_id": open_post, "user_id": victim.id, **post},
            attacker,
            403,
        ),
        ("DELETE", "/api/user/post/delete", {"post_id": open_post}, attacker, 404),
        ("GET", "/api/user/post/check", {"user_id": victim.id}, attacker, 403),
        (
            "POST",
            "/api/user/post/publish",
            {"user_id": victim.id, "price": "1", **post},
            attacker,
            403,
        ),
        ("POST", "/api/user/order/cancel", {"post_id": order_id}, attacker, 404),
        ("POST", "/api/user/order/cancel", {"order_id": order_id}, attacker, 404),
        ("POST", "/api/user/order/delete", {"post_id": finished_order}, attacker, 404),
        ("POST", "/api/consultant/order/finish", {"order_id": order_id}, attacker_consultant, 404),
        (
            "POST",
            "/api/pay/init",
            {
                "post_id": open_post,
                "out_trade_no": "X1",
                "total_fee": "10000",
                "body": "b",
                "spbill_create_ip": "127.0.0.1",
            },
            attacker,
            404,
        ),
        (
            "POST",
            "/api/user/order/add",
            order_form("X2", post_id, victim_consultant.id),
            attacker,
            404,
        ),
    ]
    for method, path, data, who, status in attempts:
        get = method == "GET"
        body = api.call(
            method,
            path,
            None if get else data,
            params=data if get else None,
            token=who.token,
            status=status,
        )
        assert body["content"] == [], (path, body)
    assert snapshot(res) == before
    # What the attacker lists is only their own.
    assert api.ok("GET", "/api/consultant/order/list", token=attacker_consultant.token) == []
    assert (
        api.ok("GET", "/api/user/post/check", params={"user_id": attacker.id}, token=attacker.token)
        == []
    )


# API4 Unrestricted resource consumption -----------------------------------------------------


def _bounded_string_fields() -> list[tuple[str, str, str, int]]:
    """Every form field of the contract with a maxLength: (method, path, field, maxLength)."""
    found = []
    for method, path, op in operations():
        media = (
            op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
        )
        if not media:
            continue
        schema = inline(load_spec(), media["schema"])
        for name, prop in schema.get("properties", {}).items():
            limit = prop.get("maxLength") or _limit_of_parts(prop)
            if limit:
                found.append((method, path, name, int(limit)))
    return found


def _limit_of_parts(prop: dict[str, Any]) -> int | None:
    limits = [part["maxLength"] for part in prop.get("allOf", []) if "maxLength" in part]
    return limits[0] if limits else None


BOUNDED = _bounded_string_fields()


def test_the_contract_bounds_every_text_field() -> None:
    names = {name for _, _, name, _ in BOUNDED}
    assert {
        "username",
        "password",
        "title",
        "content",
        "body",
        "attach",
        "realname",
        "email",
    } <= names


@pytest.mark.parametrize(
    ("method", "path", "field", "limit"), BOUNDED, ids=[f"{p}:{f}" for _, p, f, _ in BOUNDED]
)
def test_strings_over_the_documented_length_are_400(
    api: Api, method: str, path: str, field: str, limit: int
) -> None:
    buyer = api.buyer()
    response = api.client.request(
        method,
        path,
        data={field: "x" * (limit + 1)},
        headers={"Authorization": f"Bearer {buyer.token}"},
    )
    body = response.json()
    assert response.status_code in (400, 403) and body["code"] in (40000, 40301), body
    if response.status_code == 400:
        assert body["code"] == 40000


def test_lists_never_exceed_the_maximum_page(api: Api) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    for n in range(105):
        api.publish(buyer, title=f"p{n}")
    assert (
        len(
            api.ok(
                "GET",
                "/api/user/post/check",
                params={"user_id": buyer.id, "page_size": 100},
                token=buyer.token,
            )
        )
        == 100
    )
    assert (
        len(
            api.ok(
                "GET",
                "/api/user/post/acquire",
                params={"tag_id": 1, "page_size": 100},
                token=consultant.token,
            )
        )
        == 100
    )
    assert (
        len(api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token))
        == 20
    )
    api.call(
        "GET",
        "/api/user/post/acquire",
        params={"tag_id": 1, "page_size": 1000},
        token=consultant.token,
        status=400,
    )


# API8 Injection and malformed input ------------------------------------------------------------

VERBATIM = [
    "' OR '1'='1",
    "'; DROP TABLE posts; --",
    "\\\\x00",
    "<script>alert(1)</script>",
    "😀 表情 ‮",
    "%00",
    "{{7*7}}",
    "a\r\nSet-Cookie: x=y",
    "Robert'); --",
]


@pytest.mark.parametrize("text", VERBATIM)
def test_metacharacters_are_stored_and_returned_verbatim(api: Api, text: str) -> None:
    buyer = api.buyer()
    data = {"user_id": buyer.id, "tag_id": [1], "title": text[:100], "content": text, "price": "1"}
    api.ok("POST", "/api/user/post/publish", data, token=buyer.token)
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert (post["title"], post["summary"]) == (text[:100], text)


@pytest.mark.parametrize(
    "raw",
    [
        b"title=a%00b",
        b"title=%FF%FE",
        b"title=%ED%A0%80",
        b"title=\xff",
        b"price=-1",
        b"price=1e3",
        b"price=NaN",
        b"price=0.001",
        b"user_id=99999999999999999999999",
        b"user_id=-1",
        b"tag_id=1.5",
        b"tag_id=%00",
    ],
)
def test_malformed_values_are_400_never_500(api: Api, res: Resources, raw: bytes) -> None:
    buyer = api.buyer()
    base = {
        b"user_id": str(buyer.id).encode(),
        b"tag_id": b"1",
        b"title": b"t",
        b"content": b"c",
        b"price": b"1",
    }
    key, value = raw.split(b"=", 1)
    body = b"&".join(k + b"=" + (value if k == key else v) for k, v in base.items())
    response = api.client.post(
        "/api/user/post/publish",
        content=body,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": f"Bearer {buyer.token}",
        },
    )
    assert response.status_code == 400 and response.json()["code"] == 40000
    assert snapshot(res)[0] == []


# Nothing leaks: no trace, no SQL, no secret, in any response or INFO log line -------------------


def test_no_secret_trace_or_sql_in_responses_or_logs(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        buyer = api.buyer("leakcheck")
        api.call(
            "POST",
            "/api/user/login",
            {"username": "leakcheck", "password": "wrong password"},
            status=401,
        )
        api.call("POST", "/api/user/post/publish", {"user_id": "x"}, token=buyer.token, status=400)
        api.call("GET", "/api/nowhere", status=404)
        responses = [api.last_response.text]
        post_id = api.publish(buyer)
        api.pay(buyer, post_id)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno <= logging.INFO)
    secrets = [
        buyer.token,
        buyer.password,
        "wrong password",
        api.res.settings.payment_notify_key.get_secret_value(),
    ]
    for secret in secrets:
        assert secret not in logged
    for text in [*responses, logged]:
        for marker in ("Traceback", "SELECT ", "INSERT ", "sqlalchemy", 'File "'):
            assert marker not in text
