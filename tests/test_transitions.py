"""The state machines as the contract's table has them (``x-state-machines``), tried in full.

For each machine, every state it has is built through the API, and every event a party can
ask for is tried from it: where the table allows the transition, it happens and leads where
the table says; where it does not, the request is refused (409, or 404 where the object is not
the caller's to act on) and nothing changes. Runs on every database CI has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from consulting.core.resources import Resources
from consulting.spec import state_machines
from models import LedgerEntry, Order, Payment, Post
from services.transitions import ORDER, PAYMENT, POST
from tests.api import Account, Api, assert_ledger_balances

PRICE_FEN = 10000


@dataclass
class World:
    api: Api
    res: Resources
    buyer: Account
    consultant: Account
    post_id: int = 0
    order_id: int = 0
    out_trade_no: str = ""


def _post_row(world: World) -> tuple[Any, ...]:
    with world.res.db.unit_of_work() as session:
        post = session.get(Post, world.post_id)
        assert post is not None
        ledger = len(session.exec(select(LedgerEntry)).all())
        return post.status, post.consultant_id, post.held_until, post.deleted_at, ledger


# ------------------------------------------------------------------------------- posts
def _post_in(world: World, state: str, free: bool, ordered: bool = False) -> None:
    api, buyer, consultant = world.api, world.buyer, world.consultant
    world.post_id = api.publish(buyer, price="0" if free else "100.00")
    if state == "deleted":
        api.ok("DELETE", "/api/user/post/delete", {"post_id": world.post_id}, token=buyer.token)
        return
    if state == "open":
        return
    if not free:
        api.pay(buyer, world.post_id)
    if state == "paid":
        return
    api.accept(consultant, world.post_id)
    if state == "taken" and not ordered:
        return
    world.order_id = api.add_order(
        buyer, world.post_id, consultant, price="0.00" if free else "100.00"
    )
    if state == "finished":
        data = {"order_id": world.order_id}
        api.ok("POST", "/api/consultant/order/finish", data, token=consultant.token)


POST_STATES = [
    # (state, free, ordered): every state the table names, in each variety its facts tell apart
    ("open", False, False),
    ("open", True, False),
    ("paid", False, False),
    ("taken", False, False),
    ("taken", True, False),
    ("taken", False, True),
    ("finished", False, True),
    ("deleted", False, False),
]


def _modify(world: World) -> dict[str, Any]:
    return {
        "post_id": world.post_id,
        "user_id": world.buyer.id,
        "tag_id": [2],
        "title": "改",
        "content": "c",
    }


# The events a party asks for, by the request that asks; the other events (payment_confirmed,
# hold_expired, order_finished, order_cancelled) come from the provider, the clock and the
# order's own machine, and are tried by the tests of those.
POST_REQUESTS: dict[str, Callable[[World], tuple[str, str, dict[str, Any], Account]]] = {
    "accept": lambda w: (
        "POST",
        "/api/consultant/order/accept",
        {"post_id": w.post_id},
        w.consultant,
    ),
    "release": lambda w: (
        "POST",
        "/api/consultant/order/release",
        {"post_id": w.post_id},
        w.consultant,
    ),
    "refund": lambda w: ("POST", "/api/user/post/refund", {"post_id": w.post_id}, w.buyer),
    "modify": lambda w: ("POST", "/api/user/post/modify", _modify(w), w.buyer),
    "delete": lambda w: ("DELETE", "/api/user/post/delete", {"post_id": w.post_id}, w.buyer),
}


def _refusal(state: str, event: str, world: World, holds: bool) -> int:
    """The code a refused request gets: 40900, but for what the table's prose says otherwise."""
    if event == "accept" and state in ("taken", "finished"):
        return 40902  # taken by another consultant (or finished)
    if event == "release" and not holds:
        return 40401  # not a post this consultant holds
    if state == "deleted":
        return 40401  # a deleted post is not found
    return 40900


def test_post_transitions(api: Api, res: Resources) -> None:
    buyer, consultant, other = api.buyer(), api.consultant(), api.consultant()
    tried = 0
    for state, free, ordered in POST_STATES:
        for event in sorted(POST_REQUESTS):
            world = World(api, res, buyer, consultant)
            _post_in(world, state, free, ordered)
            facts = {"free": free, "priced": not free, "held": state == "taken" and not ordered}
            method, path, data, caller = POST_REQUESTS[event](world)
            if event == "accept" and state == "taken":
                caller = other  # the holder's own accept is a retry, answered 0
            before = _post_row(world)
            case = f"post {state} (free={free}, ordered={ordered}) {event}"
            if POST.allows(state, event, **facts):
                api.ok(method, path, data, token=caller.token)
                status, _, _, deleted_at, _ = _post_row(world)
                assert ("deleted" if deleted_at else status) == POST.next(state, event, **facts), (
                    case
                )
            else:
                holds = state == "taken" and caller is consultant
                code = _refusal(state, event, world, holds)
                api.fails(code, method, path, data, token=caller.token)
                assert _post_row(world) == before, case
            tried += 1
    assert tried == len(POST_STATES) * len(POST_REQUESTS)
    assert_ledger_balances(res)


def test_every_post_request_event_is_tried() -> None:
    requests = set(POST_REQUESTS)
    others = {"payment_confirmed", "hold_expired", "order_finished", "order_cancelled"}
    assert requests | others == set(POST.events)
    assert {state for state, *_ in POST_STATES} == set(POST.states)


# ------------------------------------------------------------------------------- orders
ORDER_REQUESTS: dict[str, Callable[[World], tuple[str, dict[str, Any], Account]]] = {
    "finish": lambda w: ("/api/consultant/order/finish", {"order_id": w.order_id}, w.consultant),
    "cancel": lambda w: ("/api/user/order/cancel", {"order_id": w.order_id}, w.buyer),
    "delete": lambda w: ("/api/user/order/delete", {"order_id": w.order_id}, w.buyer),
}


def _order_in(world: World, state: str) -> None:
    _post_in(world, "taken", free=False, ordered=True)
    if state == "finished":
        data = {"order_id": world.order_id}
        world.api.ok("POST", "/api/consultant/order/finish", data, token=world.consultant.token)
    elif state == "cancelled":
        data = {"order_id": world.order_id}
        world.api.ok("POST", "/api/user/order/cancel", data, token=world.buyer.token)


def _order_row(world: World) -> tuple[Any, ...]:
    with world.res.db.unit_of_work() as session:
        order = session.get(Order, world.order_id)
        assert order is not None
        status, hidden = order.status, order.deleted_by_buyer_at
    return status, hidden, _post_row(world)


def test_order_transitions(api: Api, res: Resources) -> None:
    buyer, consultant = api.buyer(), api.consultant()
    for state in sorted(ORDER.states):
        for event in sorted(ORDER_REQUESTS):
            world = World(api, res, buyer, consultant)
            _order_in(world, state)
            path, data, caller = ORDER_REQUESTS[event](world)
            before = _order_row(world)
            case = f"order {state} {event}"
            if ORDER.allows(state, event):
                api.ok("POST", path, data, token=caller.token)
                assert _order_row(world)[0] == ORDER.next(state, event), case
            else:
                api.fails(40900, "POST", path, data, token=caller.token)
                assert _order_row(world) == before, case
    assert_ledger_balances(res)


def test_every_order_event_is_tried() -> None:
    assert set(ORDER_REQUESTS) == set(ORDER.events)


# ------------------------------------------------------------------------------- payments
def _payment_in(world: World, state: str) -> None:
    api, buyer = world.api, world.buyer
    world.post_id = api.publish(buyer)
    world.out_trade_no = api.pay_init(buyer, world.post_id, PRICE_FEN)
    if state == "paid":
        api.confirm(buyer, world.out_trade_no, PRICE_FEN)
    elif state == "failed":
        api.confirm(buyer, world.out_trade_no, PRICE_FEN, "FAIL")
    elif state == "refunded":
        api.confirm(buyer, world.out_trade_no, PRICE_FEN)
        api.ok("POST", "/api/user/post/refund", {"post_id": world.post_id}, token=buyer.token)


def _payment_status(world: World) -> str:
    with world.res.db.unit_of_work() as session:
        query = select(Payment).where(Payment.out_trade_no == world.out_trade_no)
        status: str = session.exec(query).one().status
        return status


# The events the provider and the buyer cause by a request; ``expire`` comes from the clock
# (tests/test_lifecycle.py). A notify repeating what is already so is answered 0 (providers
# retry), which the table does not list as a transition.
PAYMENT_REQUESTS = ("confirm", "fail", "refund")
ALREADY = {("confirm", "paid"), ("confirm", "refunded"), ("fail", "failed")}


def test_payment_transitions(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    for state in sorted(PAYMENT.states):
        for event in PAYMENT_REQUESTS:
            world = World(api, res, buyer, buyer)
            _payment_in(world, state)
            if event == "refund":
                path, data, token = "/api/user/post/refund", {"post_id": world.post_id}, buyer.token
            else:
                result = "SUCCESS" if event == "confirm" else "FAIL"
                trade_no = api.trade_no(buyer, world.out_trade_no)
                fields = api.notify_fields(trade_no, PRICE_FEN, result)
                path, data, token = "/api/pay/notify", fields, None
            case = f"payment {state} {event}"
            if PAYMENT.allows(state, event, expired=False):
                api.ok("POST", path, data, token=token)
                assert _payment_status(world) == PAYMENT.next(state, event), case
            elif (event, state) in ALREADY:
                api.ok("POST", path, data, token=token)
                assert _payment_status(world) == state, case
            else:
                api.fails(40900, "POST", path, data, token=token)
                assert _payment_status(world) == state, case
    assert_ledger_balances(res)


def test_every_payment_event_is_tried() -> None:
    assert set(PAYMENT_REQUESTS) | {"expire"} == set(PAYMENT.events)


# ------------------------------------------------------------------------------- the table
@pytest.mark.parametrize("name", ["post", "order", "payment"])
def test_every_state_has_a_way_to_an_end_state(name: str) -> None:
    machine = {"post": POST, "order": ORDER, "payment": PAYMENT}[name]
    assert machine.end <= machine.states
    for state in machine.states:
        reached, frontier = {state}, [state]
        while frontier:
            current = frontier.pop()
            for transition in machine.transitions:
                if transition.source == current and transition.target not in reached:
                    reached.add(transition.target)
                    frontier.append(transition.target)
        assert reached & machine.end, f"{name} {state} reaches no end state"
    assert set(state_machines()) == {"post", "order", "payment"}
