"""pay/init and the notify callback: amounts, idempotency, signatures, replays, refunds."""

import pytest
from sqlmodel import select

from consulting.core.resources import Resources
from models import LedgerEntry, Payment, Post
from services.payments import sign
from tests.api import Api


def init_data(post: int, **changes: object) -> dict[str, object]:
    return {
        "body": "咨询费",
        "out_trade_no": "T1",
        "total_fee": "10000",
        "spbill_create_ip": "10.0.0.1",
        "post_id": post,
        **changes,
    }


def test_init_is_idempotent_on_out_trade_no(api: Api) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    [prepay] = api.ok("POST", "/api/pay/init", init_data(post_id), token=buyer.token)
    assert prepay.startswith("wx")
    assert api.ok("POST", "/api/pay/init", init_data(post_id), token=buyer.token) == [prepay]
    other_post = api.publish(buyer)
    conflict = api.call(
        "POST", "/api/pay/init", init_data(other_post), token=buyer.token, status=409
    )
    assert conflict["code"] == 40904


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"total_fee": "9999"}, 400, 40003),
        ({"total_fee": "-1"}, 400, 40000),
        ({"total_fee": "1.5"}, 400, 40000),
        ({"spbill_create_ip": "not-an-ip"}, 400, 40000),
        ({"spbill_create_ip": "::1"}, 200, 0),
        ({"out_trade_no": "has space"}, 400, 40000),
        ({"post_id": 9999}, 404, 40401),
    ],
)
def test_init_refusals(api: Api, changes: dict, status: int, code: int) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    assert (
        api.call(
            "POST", "/api/pay/init", init_data(post_id, **changes), token=buyer.token, status=status
        )["code"]
        == code
    )


def test_init_refuses_free_paid_and_foreign_posts(api: Api) -> None:
    buyer, stranger = api.buyer(), api.buyer()
    free = api.publish(buyer, price="0")
    api.fails(40003, "POST", "/api/pay/init", init_data(free, total_fee="0"), token=buyer.token)
    paid = api.publish(buyer)
    api.pay(buyer, paid)
    api.fails(40900, "POST", "/api/pay/init", init_data(paid, out_trade_no="T9"), token=buyer.token)
    api.fails(
        40401, "POST", "/api/pay/init", init_data(paid, out_trade_no="T8"), token=stranger.token
    )


def test_notify_confirms_once_and_replays_change_nothing(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    out_trade_no = api.pay_init(buyer, post_id, 10000)
    fields = api.notify_fields(api.trade_no(buyer, out_trade_no), 10000)
    for _ in range(3):
        api.ok("POST", "/api/pay/notify", fields)
    with res.db.unit_of_work() as session:
        [payment] = session.exec(select(Payment)).all()
        entries = session.exec(select(LedgerEntry)).all()
        post = session.get(Post, post_id)
    assert payment.status == "paid" and len(entries) == 1 and entries[0].amount_fen == 10000
    assert post is not None and post.status == "paid"


def test_notify_needs_a_valid_signature_and_the_right_amount(api: Api) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    out_trade_no = api.pay_init(buyer, post_id, 10000)
    forged = {**api.notify_fields(api.trade_no(buyer, out_trade_no), 10000), "sign": "0" * 64}
    api.fails(40302, "POST", "/api/pay/notify", forged)
    tampered = {**api.notify_fields(api.trade_no(buyer, out_trade_no), 10000), "total_fee": "1"}
    api.fails(40302, "POST", "/api/pay/notify", tampered)
    api.fails(
        40003, "POST", "/api/pay/notify", api.notify_fields(api.trade_no(buyer, out_trade_no), 1)
    )
    api.fails(40404, "POST", "/api/pay/notify", api.notify_fields("UNKNOWN", 10000))


def test_a_failed_payment_leaves_the_post_open(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    out_trade_no = api.pay_init(buyer, post_id, 10000)
    api.ok(
        "POST",
        "/api/pay/notify",
        api.notify_fields(api.trade_no(buyer, out_trade_no), 10000, "FAIL"),
    )
    api.ok(
        "POST",
        "/api/pay/notify",
        api.notify_fields(api.trade_no(buyer, out_trade_no), 10000, "FAIL"),
    )
    late = api.call(
        "POST",
        "/api/pay/notify",
        api.notify_fields(api.trade_no(buyer, out_trade_no), 10000),
        status=409,
    )
    assert late["code"] == 40900
    with res.db.unit_of_work() as session:
        post = session.get(Post, post_id)
    assert post is not None and post.status == "open"


def test_a_second_payment_for_an_already_paid_post_is_refunded(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    first = api.pay_init(buyer, post_id, 10000)
    second = api.pay_init(buyer, post_id, 10000)
    api.ok("POST", "/api/pay/notify", api.notify_fields(api.trade_no(buyer, first), 10000))
    api.ok("POST", "/api/pay/notify", api.notify_fields(api.trade_no(buyer, second), 10000))
    with res.db.unit_of_work() as session:
        statuses = {p.out_trade_no: p.status for p in session.exec(select(Payment)).all()}
    assert statuses == {first: "paid", second: "refunded"}


def test_sign_follows_the_documented_rule() -> None:
    fields = {"b": "2", "a": "1", "empty": "", "sign": "ignored"}
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"a=1&b=2", hashlib.sha256).hexdigest().upper()
    assert sign(fields, "k") == expected


def test_provider_failures_are_502_and_change_nothing(
    api: Api, res: Resources, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from consulting.core.providers import PaymentProviderError

    def down(*_args: object) -> str:
        raise PaymentProviderError("provider unreachable")

    buyer, consultant, _, order_id = api.in_progress_order()
    monkeypatch.setattr(res.payments, "refund", down)
    body = api.call(
        "POST", "/api/user/order/cancel", {"post_id": order_id}, token=buyer.token, status=502
    )
    assert body["code"] == 50200
    [order] = api.ok("GET", "/api/consultant/order/list", token=consultant.token)
    assert order["status"] == "in_progress"
    with res.db.unit_of_work() as session:
        assert [p.status for p in session.exec(select(Payment)).all()] == ["paid"]

    monkeypatch.setattr(res.payments, "create_prepay", down)
    fresh = api.publish(buyer)
    body = api.call(
        "POST", "/api/pay/init", init_data(fresh, out_trade_no="T77"), token=buyer.token, status=502
    )
    assert body["code"] == 50200
    with res.db.unit_of_work() as session:
        assert session.exec(select(Payment).where(Payment.out_trade_no == "T77")).first() is None
