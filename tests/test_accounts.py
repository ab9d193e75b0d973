"""SMS codes, phone signin, registration, login, sessions and logout, for both kinds of account."""

from datetime import timedelta

import pytest
from sqlmodel import select

from consulting.core.resources import Resources
from models import AuthSession, SmsCode, User
from models._common import utcnow
from tests.api import Api

PASSWORD = "correct horse battery"


def register(api: Api, role: str = "user", status: int = 200, **fields: object) -> dict:
    data = {"username": "carol", "password": PASSWORD, "password_again": PASSWORD, **fields}
    return api.call("POST", f"/api/{role}/register", data, status=status)


@pytest.mark.parametrize("role", ["user", "consultant"])
@pytest.mark.settings(sms_resend_interval_seconds=0)
def test_signin_with_the_sms_code_then_register_binds_the_phone(
    api: Api, res: Resources, role: str
) -> None:
    phone = "13912345678"
    signin = {"phone_number": phone, "verification_code": "123456"}
    tickets = []
    for _ in range(2):  # two signins before either registers
        api.ok("POST", "/api/sms/send", {"phone_number": phone})
        tickets += api.ok("POST", f"/api/{role}/signin", signin)
    first, second = tickets
    assert first != second and first.startswith("pt_")
    [account_id] = register(
        api, role, phone_number=phone, phone_ticket=first, email="c@example.com", gender=0
    )["content"]
    assert isinstance(account_id, int)
    # The phone is now taken for this kind of account, even with a ticket of its own ...
    taken = register(
        api, role, status=409, username="dave", phone_number=phone, phone_ticket=second
    )
    assert taken["code"] == 40905
    # ... and a ticket is good once.
    used = register(api, role, status=400, username="erin", phone_number=phone, phone_ticket=first)
    assert used["code"] == 40004
    # With the right code, signin says the phone is bound; with a wrong one, only that it is wrong.
    api.ok("POST", "/api/sms/send", {"phone_number": phone})
    api.fails(40002, "POST", f"/api/{role}/signin", {**signin, "verification_code": "000000"})
    api.fails(40905, "POST", f"/api/{role}/signin", signin)


@pytest.mark.settings(phone_ticket_ttl_seconds=0)
def test_a_phone_ticket_expires(api: Api) -> None:
    phone = "13912345679"
    api.ok("POST", "/api/sms/send", {"phone_number": phone})
    [ticket] = api.ok(
        "POST", "/api/user/signin", {"phone_number": phone, "verification_code": "123456"}
    )
    late = register(api, status=400, phone_number=phone, phone_ticket=ticket)
    assert late["code"] == 40004


def test_register_with_an_unverified_phone_is_refused(api: Api) -> None:
    assert register(api, phone_number="13700000000", status=400)["code"] == 40004


def test_verified_phone_can_be_made_mandatory(api: Api, res: Resources) -> None:
    res.settings.require_verified_phone = True
    assert register(api, status=400)["code"] == 40004


def test_wrong_codes_are_counted_and_the_code_burns_after_five(api: Api) -> None:
    phone = "13600000000"
    api.ok("POST", "/api/sms/send", {"phone_number": phone})
    for _ in range(5):
        body = api.call(
            "POST",
            "/api/user/signin",
            {"phone_number": phone, "verification_code": "000000"},
            status=400,
        )
        assert body["code"] == 40002
    # Even the right code no longer works.
    body = api.call(
        "POST",
        "/api/user/signin",
        {"phone_number": phone, "verification_code": "123456"},
        status=400,
    )
    assert body["code"] == 40002


def test_a_code_expires(api: Api, res: Resources) -> None:
    phone = "13600000001"
    api.ok("POST", "/api/sms/send", {"phone_number": phone})
    with res.db.unit_of_work() as session:
        for code in session.exec(select(SmsCode)).all():
            code.expires_at = utcnow() - timedelta(seconds=1)
    body = api.call(
        "POST",
        "/api/user/signin",
        {"phone_number": phone, "verification_code": "123456"},
        status=400,
    )
    assert body["code"] == 40002


def test_one_code_per_phone_per_minute(api: Api) -> None:
    api.ok("POST", "/api/sms/send", {"phone_number": "13500000000"})
    body = api.call("POST", "/api/sms/send", {"phone_number": "13500000000"}, status=429)
    assert body["code"] == 42901
    api.ok("POST", "/api/sms/send", {"phone_number": "13500000001"})


@pytest.mark.parametrize("phone", ["12800000000", "1380000000", "138000000000", "+8613800000000"])
def test_only_mainland_mobile_numbers(api: Api, phone: str) -> None:
    api.fails(40000, "POST", "/api/sms/send", {"phone_number": phone})


def test_register_rules(api: Api, res: Resources) -> None:
    assert register(api, status=400, password_again="something else")["code"] == 40001
    assert register(api, status=400, password="short", password_again="short")["code"] == 40000
    assert register(api, status=400, username="ab")["code"] == 40000
    assert register(api, status=400, email="not-an-email")["code"] == 40000
    assert register(api, status=400, gender=2)["code"] == 40000
    register(api, username="Carol")
    assert register(api, status=409, username="cAROL")["code"] == 40901
    with res.db.unit_of_work() as session:
        [user] = session.exec(select(User)).all()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_login_sets_cookie_and_header_with_the_same_token(api: Api) -> None:
    register(api)
    response = api.client.post("/api/user/login", data={"username": "carol", "password": PASSWORD})
    assert response.status_code == 200
    token = response.headers["X-Session-Token"]
    cookie = response.headers["set-cookie"]
    assert (
        f"consulting_session={token}" in cookie
        and "HttpOnly" in cookie
        and "SameSite=Lax" in cookie
    )
    # The cookie alone authenticates.
    [user_id] = response.json()["content"]
    check = api.client.get("/api/user/post/check", params={"user_id": user_id})
    assert check.status_code == 200 and check.json()["code"] == 0


def test_sessions_are_stored_hashed(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    with res.db.unit_of_work() as session:
        [stored] = session.exec(select(AuthSession)).all()
    assert buyer.token not in stored.token_hash and len(stored.token_hash) == 64


def test_login_failures_are_throttled_per_username(api: Api, res: Resources) -> None:
    register(api)
    for _ in range(res.settings.login_max_failures):
        body = api.call(
            "POST",
            "/api/user/login",
            {"username": "carol", "password": "wrong password"},
            status=401,
        )
        assert body["code"] == 40101
    body = api.call(
        "POST", "/api/user/login", {"username": "carol", "password": PASSWORD}, status=429
    )
    assert body["code"] == 42900
    assert api.last_response.headers["Retry-After"]


def test_login_failures_are_throttled_per_address(api: Api, res: Resources) -> None:
    res.settings.login_max_failures_per_address = 3
    for n in range(3):
        api.call(
            "POST",
            "/api/user/login",
            {"username": f"nobody{n}", "password": "whatever1"},
            status=401,
        )
    api.fails(42900, "POST", "/api/user/login", {"username": "other", "password": "x"})


def test_unknown_user_and_wrong_password_look_the_same(api: Api) -> None:
    register(api)
    wrong = api.call(
        "POST", "/api/user/login", {"username": "carol", "password": "nope nope"}, status=401
    )
    unknown = api.call(
        "POST", "/api/user/login", {"username": "nobody", "password": "nope nope"}, status=401
    )
    assert wrong == unknown


def test_buyer_and_consultant_accounts_are_separate(api: Api) -> None:
    register(api, "user")
    register(api, "consultant")  # same username, other kind of account
    body = api.call(
        "POST", "/api/consultant/login", {"username": "carol", "password": "wrong pass"}, status=401
    )
    assert body["code"] == 40101


# The expiry is changed behind the worker's back, as an operator would: with the session cache
# on, this worker could answer from memory for session_cache_seconds (tests/test_session_cache.py).
@pytest.mark.settings(session_cache_seconds=0)
def test_expired_and_revoked_sessions_are_refused(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    params = {"user_id": buyer.id}
    api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
    with res.db.unit_of_work() as session:
        for row in session.exec(select(AuthSession)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
    api.fails(40100, "GET", "/api/user/post/check", params=params, token=buyer.token)

    other = api.buyer()
    api.ok("POST", "/api/user/logout", token=other.token)
    api.call("POST", "/api/user/logout", token=other.token, status=401)


def test_logout_clears_the_cookie_and_needs_the_right_role(api: Api) -> None:
    buyer = api.buyer()
    api.fails(40301, "POST", "/api/consultant/logout", token=buyer.token)
    api.ok("POST", "/api/user/logout", token=buyer.token)
    assert "Max-Age=0" in api.last_response.headers["set-cookie"]


def test_a_garbage_token_is_401(api: Api) -> None:
    body = api.call(
        "GET", "/api/user/post/check", params={"user_id": 1}, token="garbage", status=401
    )
    assert body["code"] == 40100
