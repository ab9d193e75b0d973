"""Competing requests fired at once (threads released by a barrier) against the database under
test (SQLite by default, PostgreSQL or MariaDB with TEST_DATABASE_URL); the database is checked
afterwards. Each race runs the service functions that the handlers call, 20 at a time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from sqlmodel import col, select

from consulting.core.actors import Actor, Role
from consulting.core.clock import utcnow
from consulting.core.errors import ApiError, ErrorCode
from consulting.core.resources import Resources
from models import LedgerEntry, Order, Payment, Post, PostTag
from services import orders, payments, posts
from tests.api import Api, assert_ledger_balances, order_form

RACERS = 20
T = TypeVar("T")


def race(calls: list[Callable[[], T]]) -> list[T | ApiError]:
    """Run every call at the same moment; return results, with refusals as the ApiError."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | ApiError:
        barrier.wait()
        try:
            return call()
        except ApiError as refused:
            return refused

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def actor(role: Role, account_id: int) -> Actor:
    return Actor(role=role, account_id=account_id, session_id=0)


def paid_post(api: Api) -> tuple[Any, int]:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    api.pay(buyer, post_id)
    return buyer, post_id


def test_many_consultants_accept_one_paid_post_exactly_one_wins(api: Api, res: Resources) -> None:
    _, post_id = paid_post(api)
    consultants = [api.consultant() for _ in range(RACERS)]
    results = race(
        [lambda c=c: orders.accept(res, actor(Role.CONSULTANT, c.id), post_id) for c in consultants]
    )
    winners = [r for r in results if r == post_id]
    losers = [r for r in results if isinstance(r, ApiError)]
    assert len(winners) == 1 and len(losers) == RACERS - 1
    assert {loser.code for loser in losers} == {ErrorCode.POST_ALREADY_TAKEN}
    with res.db.unit_of_work() as session:
        post = session.get(Post, post_id)
    assert post is not None and post.status == "taken"
    winner = consultants[results.index(post_id)]
    assert post.consultant_id == winner.id


def test_the_same_order_no_at_once_makes_one_order(api: Api, res: Resources) -> None:
    buyer, post_id = paid_post(api)
    consultant = api.consultant()
    api.accept(consultant, post_id)
    form = order_form("RACE-1", post_id, consultant.id)
    fields = {"client_create_time": form.pop("create_time"), **form}
    results = race([lambda: orders.add(res, actor(Role.BUYER, buyer.id), **fields)] * RACERS)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    with res.db.unit_of_work() as session:
        assert len(session.exec(select(Order).where(Order.order_no == "RACE-1")).all()) == 1
    # A later retry with identical fields answers the same id.
    assert orders.add(res, actor(Role.BUYER, buyer.id), **fields) == results[0]


def test_one_notify_delivered_many_times_at_once_moves_money_once(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer)
    out_trade_no = api.pay_init(buyer, post_id, 10000)
    fields = api.notify_fields(api.trade_no(buyer, out_trade_no), 10000)
    results = race([lambda: payments.notify(res, fields)] * RACERS)
    assert results == [None] * RACERS
    race([lambda: payments.notify(res, fields)] * RACERS)  # and again, later
    with res.db.unit_of_work() as session:
        [payment] = session.exec(select(Payment)).all()
        entries = session.exec(select(LedgerEntry)).all()
        post = session.get(Post, post_id)
    assert payment.status == "paid" and len(entries) == 1
    assert post is not None and post.status == "paid"


def test_concurrent_modifies_leave_one_whole_version(api: Api, res: Resources) -> None:
    buyer = api.buyer()
    post_id = api.publish(buyer, tags=[1])
    buyer_actor = actor(Role.BUYER, buyer.id)

    def modify(n: int) -> None:
        tags = [1 + n % 12, 1 + (n + 1) % 12]
        posts.modify(
            res,
            buyer_actor,
            post_id=post_id,
            buyer_id=buyer.id,
            tag_ids=tags,
            title=f"title {n}",
            details=f"content {n}",
        )

    results = race([lambda n=n: modify(n) for n in range(RACERS)])
    assert results == [None] * RACERS
    with res.db.unit_of_work() as session:
        post = session.get(Post, post_id)
        tags = sorted(
            session.exec(select(PostTag.tag_id).where(col(PostTag.post_id) == post_id)).all()
        )
    assert post is not None
    n = int(post.title.split()[-1])
    assert post.details == f"content {n}"
    assert tags == sorted({1 + n % 12, 1 + (n + 1) % 12})


def test_concurrent_registrations_of_one_username_make_one_account(
    api: Api, res: Resources
) -> None:
    from services import accounts

    def register() -> int:
        return accounts.register(
            res,
            Role.BUYER,
            username="Racer",
            password="racing-password-9",
            password_again="racing-password-9",
        )

    results = race([register] * RACERS)
    created = [r for r in results if isinstance(r, int)]
    refused = Counter(r.code for r in results if isinstance(r, ApiError))
    assert len(created) == 1 and refused == {ErrorCode.USERNAME_TAKEN: RACERS - 1}


# ---------------------------------------------------------------- the lifecycle's races (issue 13)
ROUNDS = 3
HALF = RACERS // 2


def _held(api: Api) -> tuple[Any, Any, int]:
    """A buyer, a consultant and a paid post the consultant holds without an order."""
    buyer, post_id = paid_post(api)
    consultant = api.consultant()
    api.accept(consultant, post_id)
    return buyer, consultant, post_id


def _post(res: Resources, post_id: int) -> Post:
    with res.db.unit_of_work() as session:
        post = session.get(Post, post_id)
    assert post is not None
    return post


def _refused(results: list[Any]) -> set[int]:
    return {r.code for r in results if isinstance(r, ApiError)}


def test_release_against_order_add_exactly_one_wins(api: Api, res: Resources) -> None:
    for n in range(ROUNDS):
        buyer, consultant, post_id = _held(api)
        form = order_form(f"RR-{n}", post_id, consultant.id)
        fields = {"client_create_time": form.pop("create_time"), **form}
        release = partial(orders.release, res, actor(Role.CONSULTANT, consultant.id), post_id)
        add = partial(orders.add, res, actor(Role.BUYER, buyer.id), **fields)
        results = race([release, add] * HALF)
        added = {r for r in results if isinstance(r, int)}
        released = [r for r in results if r is None]
        post = _post(res, post_id)
        if added:  # the order won: every release was refused, one order exists
            assert not released and len(added) == 1 and post.status == "taken"
        else:  # the release won, once; every order/add was refused
            assert len(released) == 1 and post.status == "paid" and post.consultant_id is None
        assert _refused(results) <= {40401, 40900}
    assert_ledger_balances(res)


def test_release_against_the_deadline_releases_once(api: Api, res: Resources) -> None:
    _, consultant, post_id = _held(api)
    with res.db.unit_of_work() as session:  # the deadline passes: no write has let it go yet
        post = session.get(Post, post_id)
        assert post is not None and post.held_until is not None
        post.held_until = utcnow() - timedelta(seconds=1)
    others = [api.consultant() for _ in range(HALF)]
    release = partial(orders.release, res, actor(Role.CONSULTANT, consultant.id), post_id)
    accepts = [partial(orders.accept, res, actor(Role.CONSULTANT, c.id), post_id) for c in others]
    results = race([release] * HALF + accepts)
    assert results.count(post_id) == 1  # it went back once, and one other consultant took it
    assert _refused(results) <= {40401, 40902}
    post = _post(res, post_id)
    assert post.status == "taken" and post.consultant_id in {c.id for c in others}
    assert_ledger_balances(res)


def test_refund_against_accept_exactly_one_wins(api: Api, res: Resources) -> None:
    for _ in range(ROUNDS):
        buyer, post_id = paid_post(api)
        consultants = [api.consultant() for _ in range(HALF)]
        refund = partial(payments.refund, res, actor(Role.BUYER, buyer.id), post_id)
        accepts = [
            partial(orders.accept, res, actor(Role.CONSULTANT, c.id), post_id) for c in consultants
        ]
        results = race([refund] * HALF + accepts)
        refunds = [r for r in results[:HALF] if r is None]
        accepted = [r for r in results[HALF:] if r == post_id]
        assert len(refunds) + len(accepted) == 1, results
        assert _post(res, post_id).status == ("open" if refunds else "taken")
        assert_ledger_balances(res)


def test_refund_against_a_late_notify_moves_money_once(api: Api, res: Resources) -> None:
    """The post is paid by one payment while a second one's SUCCESS arrives as the buyer asks for
    the refund: whichever wins, no money is both refunded and kept."""
    for _ in range(ROUNDS):
        buyer = api.buyer()
        post_id = api.publish(buyer)
        first, second = api.pay_init(buyer, post_id, 10000), api.pay_init(buyer, post_id, 10000)
        api.confirm(buyer, first, 10000)
        notify = partial(
            payments.notify, res, api.notify_fields(api.trade_no(buyer, second), 10000)
        )
        refund = partial(payments.refund, res, actor(Role.BUYER, buyer.id), post_id)
        results = race([notify] * HALF + [refund] * HALF)
        assert results[:HALF] == [None] * HALF  # every notify answered 0
        assert None in results[HALF:] and _refused(results[HALF:]) <= {40900}
        assert_ledger_balances(res)


def test_finish_against_cancel_exactly_one_wins(api: Api, res: Resources) -> None:
    for _ in range(ROUNDS):
        buyer, consultant, post_id, order_id = api.in_progress_order()
        finish = partial(orders.finish, res, actor(Role.CONSULTANT, consultant.id), order_id)
        cancel = partial(orders.cancel, res, actor(Role.BUYER, buyer.id), order_id)
        results = race([finish, cancel] * HALF)
        won = [i for i, r in enumerate(results) if r is None]
        assert len(won) == 1, results
        assert _post(res, post_id).status == ("finished" if won[0] % 2 == 0 else "open")
        assert _refused(results) == {40900}
        assert_ledger_balances(res)


def test_codes_sent_at_once_to_a_new_phone_make_one(res: Resources) -> None:
    """The per-phone limit holds for a phone that has no counter yet: the counter's upsert
    creates and locks the row, so exactly one of the racers sends (issue 14, finding 8)."""
    from models import SmsCode
    from services import sms

    results = race(
        [lambda n=n: sms.send(res, "13912349999", f"198.51.100.{n}") for n in range(RACERS)]
    )
    refused = Counter(r.code for r in results if isinstance(r, ApiError))
    assert results.count(None) == 1 and refused == {ErrorCode.SMS_TOO_FREQUENT: RACERS - 1}
    with res.db.unit_of_work() as session:
        assert len(session.exec(select(SmsCode)).all()) == 1
