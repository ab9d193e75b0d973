"""Accept, order/add, finish, cancel (with refund), delete, and the consultant's list."""

from sqlmodel import select

from consulting.core.resources import Resources
from models import LedgerEntry, Order, Payment
from tests.api import Api, order_form


def test_only_a_paid_or_free_post_can_be_accepted_and_only_once(api: Api) -> None:
    buyer, first, second = api.buyer(), api.consultant(), api.consultant()
    unpaid = api.publish(buyer)
    api.fails(40900, "POST", "/api/consultant/order/accept", {"post_id": unpaid}, token=first.token)
    free = api.publish(buyer, price="0")
    api.accept(first, free)
    paid = api.publish(buyer)
    api.pay(buyer, paid)
    api.accept(first, paid)
    api.accept(first, paid)  # a retry by the same consultant is harmless
    api.fails(40902, "POST", "/api/consultant/order/accept", {"post_id": paid}, token=second.token)
    api.fails(40401, "POST", "/api/consultant/order/accept", {"post_id": 9999}, token=first.token)
    api.fails(40301, "POST", "/api/consultant/order/accept", {"post_id": paid}, token=buyer.token)


def test_order_add_checks_the_post_consultant_and_price(api: Api) -> None:
    buyer, consultant, other = api.buyer(), api.consultant(), api.consultant()
    post_id = api.publish(buyer)
    base = order_form("N1", post_id, consultant.id)

    def add(expect: int, token: str = buyer.token, **changes: object) -> int:
        return api.call(
            "POST", "/api/user/order/add", {**base, **changes}, token=token, status=expect
        )["code"]

    assert add(409) == 40900  # not taken yet
    api.pay(buyer, post_id)
    api.accept(consultant, post_id)
    assert add(409, consultant_id=other.id) == 40900
    assert add(404, consultant_id=99999) == 40405
    assert add(409, price="99.99") == 40900
    assert add(400, status="finished") == 40000
    assert add(400, create_time="2017-13-01 09:00:00") == 40000
    assert add(400, create_time="2017/06/25 05:17:51") == 40000
    assert add(404, token=api.buyer().token) == 40401  # someone else's post
    assert add(403, token=consultant.token) == 40301
    order_id = api.ok("POST", "/api/user/order/add", base, token=buyer.token)[0]
    # Idempotent on order_no; a different order under the same number is a conflict.
    assert api.ok("POST", "/api/user/order/add", base, token=buyer.token) == [order_id]
    assert add(409, order_no="N2") == 40900  # the post already has its order


def test_order_no_reused_with_other_fields_is_a_conflict(api: Api) -> None:
    buyer, consultant, _, _ = api.in_progress_order()
    other_post = api.publish(buyer)
    api.pay(buyer, other_post)
    api.accept(consultant, other_post)
    api.add_order(buyer, other_post, consultant, order_no="SAME")
    third = api.publish(buyer)
    api.pay(buyer, third)
    api.accept(consultant, third)
    data = order_form("SAME", third, consultant.id)
    api.fails(40903, "POST", "/api/user/order/add", data, token=buyer.token)


def test_cancel_refunds_and_reopens_the_post(api: Api, res: Resources) -> None:
    buyer, consultant, post_id, order_id = api.in_progress_order()
    api.ok("POST", "/api/user/order/cancel", {"post_id": order_id}, token=buyer.token)
    with res.db.unit_of_work() as session:
        [payment] = session.exec(select(Payment)).all()
        kinds = sorted(e.kind for e in session.exec(select(LedgerEntry)).all())
    assert payment.status == "refunded" and payment.refund_id and kinds == ["paid", "refund"]
    listed = api.ok("GET", "/api/user/post/acquire", params={"tag_id": 1}, token=consultant.token)
    assert [(p["post_id"], p["status"]) for p in listed] == [(post_id, "open")]
    # Cancelling twice is a state conflict; finishing a cancelled order too.
    api.fails(40900, "POST", "/api/user/order/cancel", {"order_id": order_id}, token=buyer.token)
    api.fails(
        40900,
        "POST",
        "/api/consultant/order/finish",
        {"order_id": order_id},
        token=consultant.token,
    )


def test_cancel_and_delete_need_exactly_one_id_and_my_order(api: Api) -> None:
    buyer, _, _, order_id = api.in_progress_order()
    stranger = api.buyer()
    api.fails(40000, "POST", "/api/user/order/cancel", {}, token=buyer.token)
    both = {"post_id": order_id, "order_id": order_id}
    api.fails(40000, "POST", "/api/user/order/cancel", both, token=buyer.token)
    api.fails(40402, "POST", "/api/user/order/cancel", {"post_id": order_id}, token=stranger.token)
    api.fails(40402, "POST", "/api/user/order/delete", {"post_id": order_id}, token=stranger.token)


def test_delete_only_finished_or_cancelled_and_only_from_the_buyers_view(
    api: Api, res: Resources
) -> None:
    buyer, consultant, _, order_id = api.in_progress_order()
    api.fails(40900, "POST", "/api/user/order/delete", {"post_id": order_id}, token=buyer.token)
    api.ok("POST", "/api/consultant/order/finish", {"order_id": order_id}, token=consultant.token)
    api.ok("POST", "/api/user/order/delete", {"post_id": order_id}, token=buyer.token)
    api.fails(40402, "POST", "/api/user/order/delete", {"post_id": order_id}, token=buyer.token)
    with res.db.unit_of_work() as session:
        order = session.get(Order, order_id)
    assert order is not None and order.deleted_by_buyer_at is not None
    [still_listed] = api.ok("GET", "/api/consultant/order/list", token=consultant.token)
    assert still_listed["order_id"] == order_id


def test_finish_is_for_the_assigned_consultant_only(api: Api) -> None:
    buyer, consultant, post_id, order_id = api.in_progress_order()
    other = api.consultant()
    api.fails(
        40402, "POST", "/api/consultant/order/finish", {"order_id": order_id}, token=other.token
    )
    api.fails(
        40301, "POST", "/api/consultant/order/finish", {"order_id": order_id}, token=buyer.token
    )
    api.ok("POST", "/api/consultant/order/finish", {"order_id": order_id}, token=consultant.token)
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert post["post_id"] == post_id and post["status"] == "finished"
    api.fails(40900, "POST", "/api/user/order/cancel", {"order_id": order_id}, token=buyer.token)


def test_consultant_order_list_filters_and_pages(api: Api) -> None:
    buyer, consultant, _, first = api.in_progress_order()
    post_id = api.publish(buyer)
    api.pay(buyer, post_id)
    api.accept(consultant, post_id)
    second = api.add_order(buyer, post_id, consultant)
    api.ok("POST", "/api/consultant/order/finish", {"order_id": first}, token=consultant.token)
    listed = api.ok("GET", "/api/consultant/order/list", token=consultant.token)
    assert [o["order_id"] for o in listed] == [second, first]
    assert listed[0]["price"] == "100.00" and listed[0]["user_id"] == buyer.id
    finished = api.ok(
        "GET", "/api/consultant/order/list", params={"status": "finished"}, token=consultant.token
    )
    assert [o["order_id"] for o in finished] == [first]
    paged = api.ok(
        "GET",
        "/api/consultant/order/list",
        params={"page": 2, "page_size": 1},
        token=consultant.token,
    )
    assert [o["order_id"] for o in paged] == [first]
    assert api.ok("GET", "/api/consultant/order/list", token=api.consultant().token) == []
