"""Every failure, whoever raises it, is the envelope with the right status and code."""

import logging

import pytest
from starlette.testclient import TestClient

from consulting.core.resources import Resources
from tests.api import Api


def envelope_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"code", "msg", "content"} and body["content"] == []
    assert body["code"] // 100 == response.status_code and body["msg"]
    return body


def test_unknown_path_is_404(client: TestClient) -> None:
    assert envelope_of(client.get("/api/nothing/here"))["code"] == 40400


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.get("/api/user/login")
    assert envelope_of(response)["code"] == 40500
    assert "POST" in response.headers.get("allow", "")


def test_json_to_a_form_operation_is_415(client: TestClient) -> None:
    response = client.post("/api/sms/send", json={"phone_number": "13800000000"})
    assert envelope_of(response)["code"] == 41500


def test_a_form_sent_without_content_type_is_read_as_the_form(api: Api) -> None:
    """With no Content-Type the body is taken as the operation's only media type, the form:
    validated as one and given to the handler as one (Connexion gave the raw bytes: a 500)."""
    buyer = api.buyer()
    body = f"user_id={buyer.id}&tag_id=2&tag_id=3&title=%E5%92%A8%E8%AF%A2&content=c&price=12.30"
    response = api.client.post(
        "/api/user/post/publish", content=body, headers={"Authorization": f"Bearer {buyer.token}"}
    )
    assert response.status_code == 200, response.text
    [post_id] = response.json()["content"]
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert (post["post_id"], post["tag_id"], post["title"], post["price"]) == (
        post_id,
        [2, 3],
        "咨询",
        "12.30",
    )
    refused = api.client.post("/api/sms/send", content="phone_number=12345")
    assert envelope_of(refused)["code"] == 40000


def test_body_over_the_limit_is_413_and_nothing_is_stored(
    client: TestClient, res: Resources
) -> None:
    big = {
        "username": "x" * (res.settings.max_body_bytes + 1),
        "password": "p",
        "password_again": "p",
    }
    assert envelope_of(client.post("/api/user/register", data=big))["code"] == 41300


def test_a_body_without_length_is_cut_off_at_the_limit() -> None:
    """Connexion answers a chunked form body as missing; the limit still holds for any reader."""
    import asyncio

    from consulting.core.errors import BodyTooLarge
    from consulting.web.middleware import BodyLimitMiddleware

    read: list[int] = []

    async def reader(scope, receive, send):  # type: ignore[no-untyped-def]
        while True:
            message = await receive()
            read.append(len(message["body"]))
            if not message.get("more_body"):
                return

    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True}] * 3

    async def receive():  # type: ignore[no-untyped-def]
        return chunks.pop()

    scope = {"type": "http", "headers": [], "method": "POST", "path": "/"}
    with pytest.raises(BodyTooLarge):
        asyncio.run(BodyLimitMiddleware(reader, max_bytes=1000, timeout=10)(scope, receive, None))  # type: ignore[arg-type]
    assert read == [600]


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({}, "RequestBody"),
        ({"phone_number": "13800000000", "extra": "1"}, "extra"),
        ({"phone_number": "\x00"}, "NUL byte"),
        ({"phone_number": "1" * 5000}, "phone_number"),
    ],
)
def test_validation_errors_are_400_with_a_reason(
    client: TestClient, data: dict, named: str
) -> None:
    body = envelope_of(client.post("/api/sms/send", data=data))
    assert body["code"] == 40000 and named in body["msg"]


def test_missing_session_is_401(client: TestClient) -> None:
    assert envelope_of(client.get("/api/user/post/check", params={"user_id": 1}))["code"] == 40100


def test_unexpected_errors_are_500_without_a_trace(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from services import tags

    def explode(_res):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(tags, "list_all", explode)
    with caplog.at_level(logging.ERROR):
        response = api.client.get("/api/tag/list")
    body = envelope_of(response)
    assert (
        body["code"] == 50000 and "secret" not in response.text and "Traceback" not in response.text
    )
    request_id = response.headers["x-request-id"]
    [logged] = [r for r in caplog.records if r.name == "consulting.core.errors"]
    assert logged.request_id == request_id and "secret internal detail" in str(logged.exc_info)


def test_database_outage_is_503(api: Api, res: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    def down(*_a, **_k):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(res.db, "read", down)
    response = api.client.get("/api/tag/list")
    assert envelope_of(response)["code"] == 50300 and response.headers["retry-after"]


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    assert client.get("/api/tag/list").headers["x-request-id"]
    assert (
        client.get("/api/tag/list", headers={"X-Request-ID": "abc123"}).headers["x-request-id"]
        == "abc123"
    )


def test_the_spec_and_docs_are_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["openapi"] == "3.0.3"
    assert client.get("/openapi.yaml").status_code == 200
    assert "swagger" in client.get("/ui/").text.lower()


@pytest.mark.parametrize("value", ["13800138000\n", "13800138000\r\n"])
def test_patterns_anchor_at_the_very_end(client: TestClient, value: str) -> None:
    body = envelope_of(client.post("/api/sms/send", data={"phone_number": value}))
    assert body["code"] == 40000
