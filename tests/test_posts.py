"""Posts: publish, modify, delete, check and acquire, with ownership and the listing rules."""

from sqlmodel import select

from consulting.core.resources import Resources
from models import Post
from tests.api import Api


def test_publish_validates_and_stores_the_price_in_fen(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer, price="0.1", tags=[3, 1])
    with res.db.unit_of_work() as session:
        post = session.get(Post, post_id)
    assert post is not None and post.price_fen == 10
    [listed] = api.ok(
        "GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token
    )
    assert listed["price"] == "0.10" and listed["tag_id"] == [1, 3]


def test_publish_writes_in_as_few_statements_as_the_database_allows(
    api: Api, res: Resources, statements: list[str]
) -> None:
    """PostgreSQL: the post and its tags in one statement, with no BEGIN or COMMIT around it
    (services.posts._publish_at_once); elsewhere two INSERTs in one transaction."""
    buyer = api.buyer()
    statements.clear()
    post_id = api.publish(buyer, tags=[2, 1])
    writes = [s.split()[0] for s in statements if not s.startswith("SELECT")]  # not the session
    if res.db.dialect == "postgresql":
        assert writes == ["WITH"]
    else:
        inserts = [s.split()[2] for s in statements if s.startswith("INSERT")]
        assert inserts == ["posts", "post_tags"]
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert (post["post_id"], post["tag_id"]) == (post_id, [1, 2])


def test_publish_refusals(api: Api) -> None:
    buyer, other = api.buyer(), api.buyer()
    base = {"user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c", "price": "1"}

    def publish(status: int, token: str | None = buyer.token, **changes: object) -> int:
        return api.call(
            "POST", "/api/user/post/publish", {**base, **changes}, token=token, status=status
        )["code"]

    assert publish(401, token=None) == 40100
    assert publish(403, user_id=other.id) == 40300
    assert publish(404, tag_id=[999]) == 40403
    assert publish(404, tag_id=[1, 999, 2]) == 40403
    assert "999" in api.last_response.json()["msg"]
    for bad in (
        {"price": "-1"},
        {"price": "1.001"},
        {"price": "abc"},
        {"title": ""},
        {"tag_id": []},
        {"tag_id": [1, 2, 3, 4, 5, 6]},
        {"content": "x" * 5001},
        {"user_id": 2**40},
    ):
        assert publish(400, **bad) == 40000, bad
    consultant = api.consultant()
    assert publish(403, token=consultant.token, user_id=consultant.id) == 40301
    # every refusal left nothing behind: not even the post row inserted before the tags
    assert (
        api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token) == []
    )


def test_modify_replaces_fields_and_tags_only_for_the_owner(api: Api) -> None:
    buyer, other = api.buyer(), api.buyer()
    post_id = api.publish(buyer, tags=[1, 2])
    change = {
        "post_id": post_id,
        "user_id": buyer.id,
        "tag_id": [4],
        "title": "新标题",
        "content": "新内容",
    }
    api.ok("POST", "/api/user/post/modify", change, token=buyer.token)
    [post] = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert (post["title"], post["summary"], post["tag_id"]) == ("新标题", "新内容", [4])

    theirs = {**change, "user_id": other.id}
    api.fails(40401, "POST", "/api/user/post/modify", theirs, token=other.token)
    missing = {**change, "post_id": 99999}
    api.fails(40401, "POST", "/api/user/post/modify", missing, token=buyer.token)
    single_tag = {**change, "tag_id": 2}  # the source documents a single number
    api.ok("POST", "/api/user/post/modify", single_tag, token=buyer.token)
    not_me = {**change, "user_id": other.id}
    api.fails(40300, "POST", "/api/user/post/modify", not_me, token=buyer.token)
    unknown_tag = {**change, "tag_id": [999]}
    api.fails(40403, "POST", "/api/user/post/modify", unknown_tag, token=buyer.token)


def test_modify_is_refused_once_taken(api: Api) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    post_id = api.publish(buyer)
    api.pay(buyer, post_id)
    change = {"post_id": post_id, "user_id": buyer.id, "tag_id": [1], "title": "t", "content": "c"}
    api.ok("POST", "/api/user/post/modify", change, token=buyer.token)  # paid is still editable
    api.accept(consultant, post_id)
    api.fails(40900, "POST", "/api/user/post/modify", change, token=buyer.token)


def test_delete_is_soft_and_takes_the_id_from_body_or_query(api: Api, res: Resources) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    first, second = api.publish(buyer), api.publish(buyer)
    api.ok("DELETE", "/api/user/post/delete", {"post_id": first}, token=buyer.token)
    api.ok("DELETE", "/api/user/post/delete", params={"post_id": second}, token=buyer.token)
    assert (
        api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token) == []
    )
    assert (
        api.ok("GET", "/api/user/post/acquire", params={"tag_id": 1}, token=consultant.token) == []
    )
    with res.db.unit_of_work() as session:
        rows = session.exec(select(Post)).all()
    assert len(rows) == 2 and all(row.deleted_at is not None for row in rows)
    # Deleting again, or without an id, or someone else's post.
    api.fails(40401, "DELETE", "/api/user/post/delete", {"post_id": first}, token=buyer.token)
    api.fails(40000, "DELETE", "/api/user/post/delete", token=buyer.token)
    third = api.publish(buyer)
    other = api.buyer()
    api.call("DELETE", "/api/user/post/delete", {"post_id": third}, token=other.token, status=404)


def test_a_paid_post_cannot_be_deleted(api: Api) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    api.pay(buyer, post_id)
    api.fails(40900, "DELETE", "/api/user/post/delete", {"post_id": post_id}, token=buyer.token)


def test_check_lists_only_my_posts_newest_first_and_pages(api: Api) -> None:
    buyer, other = api.buyer(), api.buyer()
    mine = [api.publish(buyer, title=f"p{n}") for n in range(5)]
    api.publish(other)
    listed = api.ok("GET", "/api/user/post/check", params={"user_id": buyer.id}, token=buyer.token)
    assert [p["post_id"] for p in listed] == mine[::-1]
    page2 = api.ok(
        "GET",
        "/api/user/post/check",
        params={"user_id": buyer.id, "page": 2, "page_size": 2},
        token=buyer.token,
    )
    assert [p["post_id"] for p in page2] == mine[::-1][2:4]
    api.fails(40300, "GET", "/api/user/post/check", params={"user_id": other.id}, token=buyer.token)
    too_big = {"user_id": buyer.id, "page_size": 101}
    api.fails(40000, "GET", "/api/user/post/check", params=too_big, token=buyer.token)


def test_acquire_is_for_consultants_and_lists_open_and_paid_posts_of_a_tag(api: Api) -> None:
    buyer, consultant, rival = api.buyer(), api.consultant(), api.consultant()
    open_post = api.publish(buyer, tags=[5])
    paid_post = api.publish(buyer, tags=[5])
    taken_post = api.publish(buyer, tags=[5])
    api.publish(buyer, tags=[6])
    api.pay(buyer, paid_post)
    api.pay(buyer, taken_post)
    api.accept(rival, taken_post)
    listed = api.ok("GET", "/api/user/post/acquire", params={"tag_id": 5}, token=consultant.token)
    assert [(p["post_id"], p["status"]) for p in listed] == [
        (paid_post, "paid"),
        (open_post, "open"),
    ]
    assert set(listed[0]) == {
        "post_id",
        "user_id",
        "tag_id",
        "title",
        "summary",
        "create_time",
        "price",
        "status",
    }
    api.fails(40301, "GET", "/api/user/post/acquire", params={"tag_id": 5}, token=buyer.token)
    api.fails(
        40403, "GET", "/api/user/post/acquire", params={"tag_id": 999}, token=consultant.token
    )
