"""The whole marketplace story, buyer and consultant, through HTTP alone."""

from tests.api import Account, Api


def test_buyer_and_consultant_walk_the_whole_story(api: Api) -> None:
    phone = "13800138000"
    # The buyer verifies a phone, registers with it and logs in.
    api.ok("POST", "/api/sms/send", {"phone_number": phone})
    [ticket] = api.ok(
        "POST", "/api/user/signin", {"phone_number": phone, "verification_code": "123456"}
    )
    password = "correct horse battery"
    [buyer_id] = api.ok(
        "POST",
        "/api/user/register",
        {
            "username": "alice",
            "password": password,
            "password_again": password,
            "phone_number": phone,
            "phone_ticket": ticket,
        },
    )
    [logged_in] = api.ok("POST", "/api/user/login", {"username": "alice", "password": password})
    assert logged_in == buyer_id
    buyer_token = api.last_response.headers["X-Session-Token"]
    buyer = Account(buyer_id, buyer_token, "alice", password)
    consultant = api.consultant("bob")

    # Tags come from the catalogue; the buyer publishes under two of them and sees the post.
    tags = api.ok("GET", "/api/tag/list")
    assert {"tag_id": 1, "name": "法律咨询", "name_en": "Legal advice"} in tags
    post = {
        "user_id": buyer_id,
        "tag_id": [1, 2],
        "title": "合同审查",
        "content": "请审查租房合同",
        "price": "199.5",
    }
    [post_id] = api.ok("POST", "/api/user/post/publish", post, token=buyer_token)
    api.ok(
        "POST",
        "/api/user/post/modify",
        {
            "post_id": post_id,
            "user_id": buyer_id,
            "tag_id": [2],
            "title": "合同审查（修改）",
            "content": "新内容",
        },
        token=buyer_token,
    )
    [mine] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer_id}, token=buyer_token)
    assert (
        mine["title"] == "合同审查（修改）" and mine["tag_id"] == [2] and mine["price"] == "199.50"
    )
    assert mine["status"] == "open" and mine["summary"] == "新内容"

    # The consultant finds it under its tag, not under the tag it left.
    listed = api.ok("GET", "/api/user/post/acquire", params={"tag_id": 2}, token=consultant.token)
    assert [p["post_id"] for p in listed] == [post_id] and listed[0]["user_id"] == buyer_id
    assert (
        api.ok("GET", "/api/user/post/acquire", params={"tag_id": 1}, token=consultant.token) == []
    )

    # The buyer pays; the provider confirms; the consultant accepts; the buyer records the order.
    out_trade_no = api.pay_init(buyer, post_id, 19950)
    api.ok("POST", "/api/pay/notify", api.notify_fields(api.trade_no(buyer, out_trade_no), 19950))
    api.ok("POST", "/api/consultant/order/accept", {"post_id": post_id}, token=consultant.token)
    assert (
        api.ok("GET", "/api/user/post/acquire", params={"tag_id": 2}, token=consultant.token) == []
    )
    [mine] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer_id}, token=buyer_token)
    assert mine["status"] == "taken" and mine["consultant_id"] == consultant.id
    order = {
        "order_no": "20170625000001",
        "create_time": "2017-06-25 05:17:51",
        "price": "199.50",
        "post_id": post_id,
        "consultant_id": consultant.id,
        "status": "in_progress",
    }
    [order_id] = api.ok("POST", "/api/user/order/add", order, token=buyer_token)
    [assigned] = api.ok("GET", "/api/consultant/order/list", token=consultant.token)
    assert assigned["order_id"] == order_id and assigned["status"] == "in_progress"

    # The buyer cancels: refunded, the post opens again; then deletes the cancelled order.
    api.ok("POST", "/api/user/order/cancel", {"post_id": order_id}, token=buyer_token)
    [mine] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer_id}, token=buyer_token)
    assert mine["status"] == "open" and mine["consultant_id"] is None
    api.ok("POST", "/api/user/order/delete", {"order_id": order_id}, token=buyer_token)

    # Paid again, taken again, and this time finished by the consultant.
    out_trade_no = api.pay_init(buyer, post_id, 19950)
    api.ok("POST", "/api/pay/notify", api.notify_fields(api.trade_no(buyer, out_trade_no), 19950))
    api.accept(consultant, post_id)
    order["order_no"] = "20170625000002"
    [second] = api.ok("POST", "/api/user/order/add", order, token=buyer_token)
    api.ok("POST", "/api/consultant/order/finish", {"order_id": second}, token=consultant.token)
    statuses = [
        o["status"] for o in api.ok("GET", "/api/consultant/order/list", token=consultant.token)
    ]
    assert statuses == ["finished", "cancelled"]

    # Logging out revokes the session.
    api.ok("POST", "/api/user/logout", token=buyer_token)
    api.call(
        "GET", "/api/user/post/check", params={"user_id": buyer_id}, token=buyer_token, status=401
    )
