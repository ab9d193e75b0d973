"""``x-role`` on every operation that needs a session, and the server enforces exactly it."""

import pytest

from consulting.spec import operations
from tests.api import Api

SECURED = [(m, p, op) for m, p, op in operations() if op.get("security")]
ONE_ROLE = [(m, p, op) for m, p, op in SECURED if op["x-role"] != "any"]
ANY_ROLE = [(m, p, op) for m, p, op in SECURED if op["x-role"] == "any"]


def test_every_secured_operation_names_its_role() -> None:
    assert SECURED and ANY_ROLE
    for _, _, op in SECURED:
        assert op.get("x-role") in ("user", "consultant", "any"), op["operationId"]
    for _, _, op in operations():
        assert ("x-role" in op) == bool(op.get("security")), op["operationId"]


@pytest.mark.parametrize(
    ("method", "path", "op"), ONE_ROLE, ids=[op["operationId"] for *_, op in ONE_ROLE]
)
def test_the_other_role_gets_403(api: Api, method: str, path: str, op: dict) -> None:
    other = api.consultant() if op["x-role"] == "user" else api.buyer()
    # Any well-formed request will do: the role is checked before the resource is looked at.
    example = _example_request(op)
    body = api.call(
        method,
        path,
        example if method != "GET" else None,
        params=example if method == "GET" else None,
        token=other.token,
        status=403,
    )
    assert body["code"] == 40301


@pytest.mark.parametrize(
    ("method", "path", "op"), ANY_ROLE, ids=[op["operationId"] for *_, op in ANY_ROLE]
)
def test_either_role_gets_past_the_role_check(api: Api, method: str, path: str, op: dict) -> None:
    for account in (api.buyer(), api.consultant()):
        example = _example_request(op)
        response = api.client.request(
            method,
            path,
            params=example if method == "GET" else None,
            data=example if method != "GET" else None,
            headers={"Authorization": f"Bearer {account.token}"},
        )
        assert response.status_code != 403 and response.json()["code"] not in (40100, 40301)


def _example_request(op: dict) -> dict:
    if "requestBody" in op:
        media = op["requestBody"]["content"]["application/x-www-form-urlencoded"]
        return dict(media.get("example") or {})
    return {
        p["name"]: p.get("example", p.get("schema", {}).get("example", 1))
        for p in op.get("parameters", [])
        if "$ref" not in p and p.get("required")
    }
