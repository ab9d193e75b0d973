"""Pages: the cursor walks every list to its end, each item once, while new items arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.paging import MAX_CURSOR_ID, MAX_PAGE, Page, cursor_after, id_of_cursor
from tests.api import Account, Api

# (path, id field, the query besides the page, who reads, what one new item is)
Setup = Callable[[Api], tuple[str, str, dict[str, Any], Account, Callable[[], int]]]


def _acquire(api: Api) -> tuple[str, str, dict[str, Any], Account, Callable[[], int]]:
    buyer, consultant = api.buyer(), api.consultant()
    return (
        "/api/user/post/acquire",
        "post_id",
        {"tag_id": 4},
        consultant,
        lambda: api.publish(buyer, tags=[4]),
    )


def _check(api: Api) -> tuple[str, str, dict[str, Any], Account, Callable[[], int]]:
    buyer = api.buyer()
    return (
        "/api/user/post/check",
        "post_id",
        {"user_id": buyer.id},
        buyer,
        lambda: api.publish(buyer),
    )


def _orders(role: str) -> Setup:
    def setup(api: Api) -> tuple[str, str, dict[str, Any], Account, Callable[[], int]]:
        buyer, consultant = api.buyer(), api.consultant()

        def new_order() -> int:
            post_id = api.publish(buyer, price="0")
            api.accept(consultant, post_id)
            return api.add_order(buyer, post_id, consultant, price="0")

        if role == "buyer":
            return "/api/user/order/list", "order_id", {}, buyer, new_order
        return "/api/consultant/order/list", "order_id", {}, consultant, new_order

    return setup


def _held(api: Api) -> tuple[str, str, dict[str, Any], Account, Callable[[], int]]:
    buyer, consultant = api.buyer(), api.consultant()

    def new_hold() -> int:
        post_id = api.publish(buyer, price="0")
        api.accept(consultant, post_id)
        return post_id

    return "/api/consultant/order/held", "post_id", {}, consultant, new_hold


LISTS: dict[str, Setup] = {
    "acquire": _acquire,
    "check": _check,
    "buyer orders": _orders("buyer"),
    "consultant orders": _orders("consultant"),
    "held posts": _held,
}


@pytest.mark.parametrize("name", LISTS)
def test_the_cursor_shows_every_item_once_while_new_ones_arrive(api: Api, name: str) -> None:
    path, key, query, reader, new_item = LISTS[name](api)
    existing = [new_item() for _ in range(7)]
    seen: list[int] = []
    arrived: list[int] = []
    params: dict[str, Any] = {**query, "page_size": 3}
    pages = 0
    while True:
        items = api.ok("GET", path, params=params, token=reader.token)
        seen += [item[key] for item in items]
        pages += 1
        headers = api.last_response.headers
        if "X-Next-Cursor" not in headers:
            assert "Link" not in headers
            break
        cursor = headers["X-Next-Cursor"]
        # The Link header is this request again, with the next page's cursor.
        link = headers["Link"]
        assert link.startswith(f"<{path}?") and link.endswith('>; rel="next"'), link
        linked = parse_qs(urlsplit(link[1 : link.index(">")]).query)
        assert linked["cursor"] == [cursor] and linked["page_size"] == ["3"]
        params = {**query, "page_size": 3, "cursor": cursor}
        arrived.append(new_item())  # newer than every page so far: it comes before page 1
        assert pages < 10, "the walk does not end"
    assert seen == sorted(existing, reverse=True)
    assert pages == 3  # 3 + 3 + 1
    first = api.ok("GET", path, params={**query, "page_size": 3}, token=reader.token)
    assert [item[key] for item in first] == sorted(arrived + existing, reverse=True)[:3]
    assert len(arrived) == 2


def test_a_list_that_ends_on_a_full_page_has_no_next_one(api: Api) -> None:
    buyer = api.buyer()
    for _ in range(4):
        api.publish(buyer)
    params = {"user_id": buyer.id, "page_size": 2}
    api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
    cursor = api.last_response.headers["X-Next-Cursor"]
    last = api.ok(
        "GET", "/api/user/post/check", params={**params, "cursor": cursor}, token=buyer.token
    )
    assert len(last) == 2 and "X-Next-Cursor" not in api.last_response.headers


def test_pages_by_number_stop_at_the_documented_maximum_and_name_the_cursor(api: Api) -> None:
    buyer = api.buyer()
    base = {"user_id": buyer.id, "page_size": 100}
    assert (
        api.ok("GET", "/api/user/post/check", params={**base, "page": MAX_PAGE}, token=buyer.token)
        == []
    )
    body = api.call(
        "GET",
        "/api/user/post/check",
        params={**base, "page": MAX_PAGE + 1},
        token=buyer.token,
        status=400,
    )
    assert body["code"] == 40000 and "cursor" in body["msg"], body


def test_page_numbers_and_cursors_agree(api: Api) -> None:
    buyer = api.buyer()
    posts = sorted((api.publish(buyer) for _ in range(5)), reverse=True)
    base = {"user_id": buyer.id, "page_size": 2}
    second = api.ok("GET", "/api/user/post/check", params={**base, "page": 2}, token=buyer.token)
    assert [p["post_id"] for p in second] == posts[2:4]
    # A page by number also says where the cursor goes on; the cursor wins over page.
    cursor = api.last_response.headers["X-Next-Cursor"]
    third = api.ok(
        "GET",
        "/api/user/post/check",
        params={**base, "page": 2, "cursor": cursor},
        token=buyer.token,
    )
    assert [p["post_id"] for p in third] == posts[4:]


@pytest.mark.parametrize("cursor", ["x12", "c", "C1", "c1-", "c" + "1" * 14])
def test_what_is_not_a_cursor_is_refused(api: Api, cursor: str) -> None:
    buyer = api.buyer()
    params = {"user_id": buyer.id, "cursor": cursor}
    api.fails(40000, "GET", "/api/user/post/check", params=params, token=buyer.token)


def test_a_cursor_above_every_id_starts_from_the_top(api: Api) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    params = {"user_id": buyer.id, "cursor": "c" + "z" * 13}
    [post] = api.ok("GET", "/api/user/post/check", params=params, token=buyer.token)
    assert post["post_id"] == post_id


@pytest.mark.parametrize("last_id", [0, 1, 35, 36, 123_456_789, MAX_CURSOR_ID])
def test_a_cursor_names_the_id_it_was_made_from(last_id: int) -> None:
    cursor = cursor_after(last_id)
    assert len(cursor) <= 14 and id_of_cursor(cursor) == last_id


def test_a_page_reads_one_row_more_than_it_shows_and_the_cursor_skips_nothing() -> None:
    assert Page(3, 20).bounds == {"before": MAX_CURSOR_ID, "offset": 40, "limit": 21}
    assert Page(3, 20, cursor_after(500)).bounds == {"before": 500, "offset": 0, "limit": 21}
