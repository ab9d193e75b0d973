"""A small driver for the HTTP tests: calls operations the way a client would, and builds the
states (accounts, posts, payments, orders) that tests start from."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlmodel import select
from starlette.testclient import TestClient

from consulting.core.resources import Resources
from models import Payment
from services.payments import sign

PHONES = (f"138{n:08d}" for n in itertools.count(1))
NUMBERS = itertools.count(1)


def order_form(
    order_no: str, post_id: int, consultant_id: int, price: str = "100.00"
) -> dict[str, Any]:
    """The fields of order/add (1.3.1), as a buyer sends them."""
    return {
        "order_no": order_no,
        "create_time": "2017-06-25 05:17:51",
        "price": price,
        "post_id": post_id,
        "consultant_id": consultant_id,
        "status": "in_progress",
    }


@dataclass
class Account:
    id: int
    token: str
    username: str
    password: str


class Api:
    def __init__(self, client: TestClient, res: Resources) -> None:
        self.client = client
        self.res = res

    def call(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        params: dict[str, Any] | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        """Send a form request; assert the status and the envelope; return the body."""
        self.client.cookies.clear()  # only the token given here speaks for the caller
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.client.request(method, path, data=data, params=params, headers=headers)
        self.last_response = response
        body: dict[str, Any] = response.json()
        assert response.status_code == status, (response.status_code, body)
        assert set(body) == {"code", "msg", "content"}, body
        assert (body["code"] == 0) == (200 <= response.status_code < 300), body
        if body["code"]:
            assert body["code"] // 100 == response.status_code and body["msg"], body
        return body

    def fails(
        self, code: int, method: str, path: str, data: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        """Assert the request is refused with business ``code`` (and the status it implies)."""
        body = self.call(method, path, data, status=code // 100, **kw)
        assert body["code"] == code, body

    def ok(
        self, method: str, path: str, data: dict[str, Any] | None = None, **kw: Any
    ) -> list[Any]:
        content: list[Any] = self.call(method, path, data, **kw)["content"]
        return content

    # accounts -------------------------------------------------------------------------------
    def account(self, role: str = "user", username: str | None = None) -> Account:
        username = username or f"{role}{next(NUMBERS)}"
        password = "correct horse battery"
        data = {"username": username, "password": password, "password_again": password}
        self.ok("POST", f"/api/{role}/register", data)
        [account_id] = self.ok(
            "POST", f"/api/{role}/login", {"username": username, "password": password}
        )
        token = self.last_response.headers["X-Session-Token"]
        return Account(account_id, token, username, password)

    def buyer(self, username: str | None = None) -> Account:
        return self.account("user", username)

    def consultant(self, username: str | None = None) -> Account:
        return self.account("consultant", username)

    # posts ----------------------------------------------------------------------------------
    def publish(
        self,
        buyer: Account,
        *,
        tags: list[int] | None = None,
        price: str = "100.00",
        title: str = "咨询",
    ) -> int:
        data = {
            "user_id": buyer.id,
            "tag_id": tags or [1],
            "title": title,
            "content": "需要一位顾问 / need a consultant",
            "price": price,
        }
        [post_id] = self.ok("POST", "/api/user/post/publish", data, token=buyer.token)
        return int(post_id)

    # payments -------------------------------------------------------------------------------
    def pay_init(
        self, buyer: Account, post_id: int, total_fee: int, out_trade_no: str | None = None
    ) -> str:
        out_trade_no = out_trade_no or f"T{next(NUMBERS)}"
        data = {
            "body": "咨询费",
            "out_trade_no": out_trade_no,
            "total_fee": str(total_fee),
            "spbill_create_ip": "127.0.0.1",
            "post_id": post_id,
        }
        self.ok("POST", "/api/pay/init", data, token=buyer.token)
        return out_trade_no

    def trade_no(self, buyer: Account, out_trade_no: str) -> str:
        """The merchant trade number the provider was given for the buyer's payment: what its
        notify names (the buyer's out_trade_no is the buyer's own key)."""
        with self.res.db.unit_of_work() as session:
            query = select(Payment).where(
                Payment.buyer_id == buyer.id, Payment.out_trade_no == out_trade_no
            )
            return session.exec(query).one().trade_no

    def notify_fields(
        self, trade_no: str, total_fee: int, result_code: str = "SUCCESS"
    ) -> dict[str, str]:
        """The provider's notify for the payment it knows as ``trade_no``, signed."""
        key = self.res.settings.payment_notify_key
        assert key is not None
        fields = {
            "out_trade_no": trade_no,
            "transaction_id": f"wxtx{trade_no}"[:32],
            "total_fee": str(total_fee),
            "result_code": result_code,
        }
        fields["sign"] = sign(fields, key.get_secret_value())
        return fields

    def pay(self, buyer: Account, post_id: int, total_fee: int = 10000) -> str:
        """pay/init then the provider's SUCCESS notify: the post becomes paid; returns the
        buyer's out_trade_no (what pay/query takes)."""
        out_trade_no = self.pay_init(buyer, post_id, total_fee)
        self.confirm(buyer, out_trade_no, total_fee)
        return out_trade_no

    def confirm(
        self, buyer: Account, out_trade_no: str, total_fee: int, result_code: str = "SUCCESS"
    ) -> dict[str, str]:
        """The provider's notify for the buyer's payment ``out_trade_no``, sent; its fields."""
        fields = self.notify_fields(self.trade_no(buyer, out_trade_no), total_fee, result_code)
        self.ok("POST", "/api/pay/notify", fields)
        return fields

    # orders ---------------------------------------------------------------------------------
    def accept(self, consultant: Account, post_id: int) -> None:
        self.ok(
            "POST", "/api/consultant/order/accept", {"post_id": post_id}, token=consultant.token
        )

    def add_order(
        self,
        buyer: Account,
        post_id: int,
        consultant: Account,
        price: str = "100.00",
        order_no: str | None = None,
    ) -> int:
        data = order_form(order_no or f"O{next(NUMBERS)}", post_id, consultant.id, price)
        [order_id] = self.ok("POST", "/api/user/order/add", data, token=buyer.token)
        return int(order_id)

    def in_progress_order(self) -> tuple[Account, Account, int, int]:
        """A buyer, a consultant, a paid and taken post, and its order in progress."""
        buyer, consultant = self.buyer(), self.consultant()
        post_id = self.publish(buyer)
        self.pay(buyer, post_id)
        self.accept(consultant, post_id)
        return buyer, consultant, post_id, self.add_order(buyer, post_id, consultant)


def assert_ledger_balances(res: Resources) -> None:
    """For every post, money paid minus money refunded is exactly one price while the post is
    paid, taken or finished, and nothing otherwise: never both refunded and kept."""
    from sqlmodel import select

    from models import LedgerEntry, Payment, Post

    with res.db.unit_of_work() as session:
        posts = session.exec(select(Post)).all()
        entries = session.exec(
            select(Payment.post_id, LedgerEntry.kind, LedgerEntry.amount_fen).join(
                LedgerEntry, LedgerEntry.payment_id == Payment.id
            )
        ).all()
    held: dict[int, int] = {}
    for post_id, kind, amount in entries:
        held[post_id] = held.get(post_id, 0) + (amount if kind == "paid" else -amount)
    for post in posts:
        keeps_money = post.deleted_at is None and post.status in ("paid", "taken", "finished")
        expected = post.price_fen if keeps_money else 0
        assert held.get(post.id or 0, 0) == expected, (post, held.get(post.id or 0, 0))
