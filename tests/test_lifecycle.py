"""The marketplace end to end: every post, order and payment reaches an end state, by one of the
parties or by time, and every party can find and read what is theirs (issue 13)."""

from __future__ import annotations

import time

import pytest

from consulting.core.resources import Resources
from tests.api import Account, Api, assert_ledger_balances

DETAIL, REFUND = "/api/user/post/detail", "/api/user/post/refund"
RELEASE, HELD = "/api/consultant/order/release", "/api/consultant/order/held"
ORDERS, QUERY = "/api/user/order/list", "/api/pay/query"


def detail(api: Api, who: Account, post_id: int) -> dict:
    [post] = api.ok("GET", DETAIL, params={"post_id": post_id}, token=who.token)
    return post


def test_pay_accept_release_another_accepts_order_list_finish(api: Api, res: Resources) -> None:
    buyer, carol, dave = api.buyer(), api.consultant(), api.consultant()
    post_id = api.publish(buyer)
    api.pay(buyer, post_id)
    api.accept(carol, post_id)
    [held] = api.ok("GET", HELD, token=carol.token)
    assert held["post_id"] == post_id and held["release_time"] > held["create_time"]
    assert detail(api, carol, post_id)["release_time"] == held["release_time"]
    api.fails(40902, "POST", "/api/consultant/order/accept", {"post_id": post_id}, token=dave.token)
    api.fails(40401, "POST", RELEASE, {"post_id": post_id}, token=dave.token)  # not dave's

    api.ok("POST", RELEASE, {"post_id": post_id}, token=carol.token)
    assert detail(api, buyer, post_id)["status"] == "paid"
    assert api.ok("GET", HELD, token=carol.token) == []
    api.fails(40401, "POST", RELEASE, {"post_id": post_id}, token=carol.token)  # again
    listed = api.ok("GET", "/api/user/post/acquire", params={"tag_id": 1}, token=dave.token)
    assert [p["status"] for p in listed if p["post_id"] == post_id] == ["paid"]

    api.accept(dave, post_id)
    api.fails(40900, "POST", "/api/user/order/add", order(post_id, carol), token=buyer.token)
    order_id = api.add_order(buyer, post_id, dave)
    assert api.ok("GET", HELD, token=dave.token) == []  # the order holds it now
    api.fails(40900, "POST", RELEASE, {"post_id": post_id}, token=dave.token)
    [own] = api.ok("GET", ORDERS, token=buyer.token)
    assert (own["order_id"], own["post_id"], own["consultant_id"]) == (order_id, post_id, dave.id)
    assert own["status"] == "in_progress" and own["price"] == "100.00"
    [checked] = api.ok(
        "GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token
    )
    assert checked["order_id"] == order_id
    assert detail(api, buyer, post_id)["order_id"] == order_id
    assert detail(api, dave, post_id)["order_id"] == order_id

    api.ok("POST", "/api/consultant/order/finish", {"order_id": order_id}, token=dave.token)
    [own] = api.ok("GET", ORDERS, params={"status": "finished"}, token=buyer.token)
    assert own["order_id"] == order_id
    assert api.ok("GET", ORDERS, params={"status": "in_progress"}, token=buyer.token) == []
    assert detail(api, dave, post_id)["status"] == "finished"  # the one who finished it
    api.fails(40401, "GET", DETAIL, params={"post_id": post_id}, token=carol.token)
    api.ok("POST", "/api/user/order/delete", {"order_id": order_id}, token=buyer.token)
    assert api.ok("GET", ORDERS, token=buyer.token) == []
    assert_ledger_balances(res)


def order(post_id: int, consultant: Account) -> dict:
    return {
        "order_no": f"O-{post_id}-{consultant.id}",
        "create_time": "2017-06-25 05:17:51",
        "price": "100.00",
        "post_id": post_id,
        "consultant_id": consultant.id,
        "status": "in_progress",
    }


def test_pay_refund_query_says_refunded_then_delete(api: Api, res: Resources) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    post_id = api.publish(buyer)
    api.fails(40900, "POST", REFUND, {"post_id": post_id}, token=buyer.token)  # nothing paid
    out_trade_no = api.pay(buyer, post_id)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": out_trade_no}, token=buyer.token)
    assert (payment["status"], payment["total_fee"], payment["post_id"]) == (
        "paid",
        "10000",
        post_id,
    )
    assert payment["transaction_id"]
    api.fails(40900, "DELETE", "/api/user/post/delete", {"post_id": post_id}, token=buyer.token)

    api.ok("POST", REFUND, {"post_id": post_id}, token=buyer.token)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": out_trade_no}, token=buyer.token)
    assert payment["status"] == "refunded"
    assert detail(api, buyer, post_id)["status"] == "open"
    api.fails(40900, "POST", REFUND, {"post_id": post_id}, token=buyer.token)  # a second refund
    api.fails(
        40900, "POST", "/api/consultant/order/accept", {"post_id": post_id}, token=consultant.token
    )
    api.ok("DELETE", "/api/user/post/delete", {"post_id": post_id}, token=buyer.token)
    api.fails(40401, "GET", DETAIL, params={"post_id": post_id}, token=buyer.token)
    assert_ledger_balances(res)


def test_a_refund_of_a_taken_post_and_of_anothers_post_is_refused(api: Api) -> None:
    buyer, stranger, consultant = api.buyer(), api.buyer(), api.consultant()
    post_id = api.publish(buyer)
    api.pay(buyer, post_id)
    api.fails(40401, "POST", REFUND, {"post_id": post_id}, token=stranger.token)
    api.fails(40301, "POST", REFUND, {"post_id": post_id}, token=consultant.token)
    api.accept(consultant, post_id)
    api.fails(40900, "POST", REFUND, {"post_id": post_id}, token=buyer.token)


@pytest.mark.settings(taken_release_seconds=1)
def test_a_post_taken_without_an_order_goes_back_when_the_deadline_passes(
    api: Api, res: Resources
) -> None:
    buyer, carol, dave = api.buyer(), api.consultant(), api.consultant()
    paid, free = api.publish(buyer), api.publish(buyer, price="0")
    api.pay(buyer, paid)
    api.accept(carol, paid)
    api.accept(carol, free)
    assert {p["post_id"] for p in api.ok("GET", HELD, token=carol.token)} == {paid, free}
    time.sleep(2.05)  # one second, rounded up to a whole second (consulting.core.clock)
    # every read sees it at once, before any write touched the rows
    assert api.ok("GET", HELD, token=carol.token) == []
    statuses = {p["post_id"]: (p["status"], p["consultant_id"]) for p in own_posts(api, buyer)}
    assert statuses == {paid: ("paid", None), free: ("open", None)}
    assert detail(api, dave, paid)["release_time"] is None
    listed = api.ok("GET", "/api/user/post/acquire", params={"tag_id": 1}, token=dave.token)
    assert {p["post_id"] for p in listed} == {paid, free}
    # and every transition: carol's hold is over, the order she would need is refused
    api.fails(40900, "POST", "/api/user/order/add", order(paid, carol), token=buyer.token)
    api.fails(40401, "POST", RELEASE, {"post_id": paid}, token=carol.token)
    api.accept(dave, paid)
    assert api.add_order(buyer, paid, dave) > 0
    assert_ledger_balances(res)


def own_posts(api: Api, buyer: Account) -> list[dict]:
    return api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)


def test_who_may_read_a_post(api: Api) -> None:
    buyer, stranger, carol, dave = api.buyer(), api.buyer(), api.consultant(), api.consultant()
    post_id = api.publish(buyer, title="可读")
    mine = detail(api, buyer, post_id)
    assert mine["title"] == "可读" and mine["summary"] == "需要一位顾问 / need a consultant"
    assert (mine["status"], mine["consultant_id"], mine["order_id"], mine["release_time"]) == (
        "open",
        None,
        None,
        None,
    )
    assert detail(api, carol, post_id)["status"] == "open"  # open: any consultant
    api.fails(40401, "GET", DETAIL, params={"post_id": post_id}, token=stranger.token)
    api.fails(40401, "GET", DETAIL, params={"post_id": 999_999}, token=buyer.token)
    api.fails(40100, "GET", DETAIL, params={"post_id": post_id})
    api.pay(buyer, post_id)
    api.accept(carol, post_id)
    assert detail(api, carol, post_id)["consultant_id"] == carol.id  # the one who holds it
    api.fails(40401, "GET", DETAIL, params={"post_id": post_id}, token=dave.token)
    assert detail(api, buyer, post_id)["status"] == "taken"


@pytest.mark.settings(payment_expiry_seconds=1)
def test_an_unpaid_payment_expires_and_money_that_comes_after_goes_back(
    api: Api, res: Resources
) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    out_trade_no = api.pay_init(buyer, post_id, 10000)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": out_trade_no}, token=buyer.token)
    assert payment["status"] == "pending" and payment["transaction_id"] is None
    time.sleep(2.05)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": out_trade_no}, token=buyer.token)
    assert payment["status"] == "failed"
    # the provider's SUCCESS after all: recorded and refunded at once; the post stays open
    api.confirm(buyer, out_trade_no, 10000)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": out_trade_no}, token=buyer.token)
    assert payment["status"] == "refunded"
    assert detail(api, buyer, post_id)["status"] == "open"
    api.confirm(buyer, out_trade_no, 10000)  # a retry
    assert_ledger_balances(res)
    api.pay(buyer, post_id)  # another payment goes through
    assert detail(api, buyer, post_id)["status"] == "paid"
    assert_ledger_balances(res)


def test_a_payment_is_only_its_buyers_to_query(api: Api) -> None:
    buyer, stranger = api.buyer(), api.buyer()
    out_trade_no = api.pay(buyer, api.publish(buyer))
    api.fails(40404, "GET", QUERY, params={"out_trade_no": out_trade_no}, token=stranger.token)
    api.fails(40404, "GET", QUERY, params={"out_trade_no": "NEVER-USED"}, token=buyer.token)


def test_the_buyers_order_list_pages_newest_first_and_hides_deleted(api: Api) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    orders = []
    for _ in range(3):
        post_id = api.publish(buyer)
        api.pay(buyer, post_id)
        api.accept(consultant, post_id)
        orders.append(api.add_order(buyer, post_id, consultant))
    listed = api.ok("GET", ORDERS, params={"page_size": 2}, token=buyer.token)
    assert [o["order_id"] for o in listed] == orders[:0:-1]
    second = api.ok("GET", ORDERS, params={"page": 2, "page_size": 2}, token=buyer.token)
    assert [o["order_id"] for o in second] == [orders[0]]
    api.ok("POST", "/api/user/order/cancel", {"order_id": orders[0]}, token=buyer.token)
    api.ok("POST", "/api/user/order/delete", {"order_id": orders[0]}, token=buyer.token)
    assert [o["order_id"] for o in api.ok("GET", ORDERS, token=buyer.token)] == orders[:0:-1]
    api.fails(40301, "GET", ORDERS, token=consultant.token)


def test_notify_documents_its_502(
    api: Api, res: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second payment confirmed for a post that is paid already is refunded at once; when the
    provider refuses that refund, notify answers 502 and nothing changes (the provider retries)."""
    from consulting.core.providers import PaymentProviderError

    buyer = api.buyer()
    post_id = api.publish(buyer)
    first, second = api.pay_init(buyer, post_id, 10000), api.pay_init(buyer, post_id, 10000)
    api.confirm(buyer, first, 10000)
    late = api.notify_fields(api.trade_no(buyer, second), 10000)

    def down(*_args: object) -> str:
        raise PaymentProviderError("provider unreachable")

    monkeypatch.setattr(res.payments, "refund", down)
    api.fails(50200, "POST", "/api/pay/notify", late)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": second}, token=buyer.token)
    assert payment["status"] == "pending"
    monkeypatch.undo()
    api.ok("POST", "/api/pay/notify", late)
    [payment] = api.ok("GET", QUERY, params={"out_trade_no": second}, token=buyer.token)
    assert payment["status"] == "refunded"
    assert_ledger_balances(res)
