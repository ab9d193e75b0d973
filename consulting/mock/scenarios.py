"""Named states for the mock, built through the real services so they obey every rule.

Every scenario starts from an empty database with the tag catalogue; ids are therefore stable
from one reset to the next (SQLite restarts row ids in emptied tables), which is what a
frontend developer pointing at "post 1" wants.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consulting.core.actors import Actor, Role
from consulting.core.money import yuan_to_fen
from consulting.core.providers import FixedSms
from consulting.core.resources import Resources
from services import accounts, orders, payments, posts, sms

MOCK_ADDRESS = "mock"  # the client address the mock's own resends count under
DEMO_PASSWORD = "demo-password"  # noqa: S105 - published on purpose: the mock's demo accounts


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    username: str
    realname: str


DEMO_ACCOUNTS = [
    DemoAccount(Role.BUYER, "alice", "王丽"),
    DemoAccount(Role.BUYER, "bob", "李博"),
    DemoAccount(Role.CONSULTANT, "carol", "陈律师"),
    DemoAccount(Role.CONSULTANT, "dave", "杜会计"),
]


class Seeder:
    """Creates accounts, posts, payments and orders for one scenario."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.actors: dict[str, Actor] = {}
        self._numbers = iter(range(1, 10_000))

    def account(self, demo: DemoAccount) -> Actor:
        account_id = accounts.register(
            self.res,
            demo.role,
            username=demo.username,
            password=DEMO_PASSWORD,
            password_again=DEMO_PASSWORD,
            realname=demo.realname,
        )
        actor = Actor(role=demo.role, account_id=account_id, session_id=0)
        self.actors[demo.username] = actor
        return actor

    def all_accounts(self) -> None:
        for demo in DEMO_ACCOUNTS:
            self.account(demo)

    def post(self, buyer: str, title: str, details: str, price: str, tags: list[int]) -> int:
        actor = self.actors[buyer]
        return posts.publish(
            self.res,
            actor,
            buyer_id=actor.account_id,
            tag_ids=tags,
            title=title,
            details=details,
            price=price,
        )

    def paid_post(self, buyer: str, title: str, details: str, price: str, tags: list[int]) -> int:
        post_id = self.post(buyer, title, details, price, tags)
        payments.init(
            self.res,
            self.actors[buyer],
            post_id=post_id,
            out_trade_no=f"DEMO{next(self._numbers):04d}",
            amount_fen=yuan_to_fen(price),
            body=title,
            spbill_create_ip="127.0.0.1",
            attach=None,
            device_info=None,
        )
        return post_id

    def order(self, buyer: str, consultant: str, post_id: int, price: str) -> int:
        orders.accept(self.res, self.actors[consultant], post_id)
        return orders.add(
            self.res,
            self.actors[buyer],
            order_no=f"DEMO-ORDER-{next(self._numbers):04d}",
            client_create_time="2017-06-25 05:17:51",
            price=price,
            post_id=post_id,
            consultant_id=self.actors[consultant].account_id,
            status="in_progress",
        )


def _empty(_seed: Seeder) -> None:
    """Only the tag catalogue: sign up and build everything yourself."""


def _buyer_with_paid_post(seed: Seeder) -> None:
    """alice has one paid post waiting for a consultant; carol and dave can accept it."""
    seed.all_accounts()
    seed.paid_post("alice", "租房合同审查", "请帮忙审查一份租房合同，约10页。", "199.00", [1])


def _consultant_with_orders(seed: Seeder) -> None:
    """carol has an order in progress and a finished one; alice is her client."""
    seed.all_accounts()
    first = seed.paid_post(
        "alice", "公司注册咨询", "想在上海注册一家小公司，需要流程建议。", "300.00", [5]
    )
    orders.finish(seed.res, seed.actors["carol"], seed.order("alice", "carol", first, "300.00"))
    second = seed.paid_post(
        "alice", "劳动合同纠纷", "被公司拖欠工资，想咨询维权途径。", "150.00", [1]
    )
    seed.order("alice", "carol", second, "150.00")


def _demo(seed: Seeder) -> None:
    """A little of everything: posts in every state, orders in every state, a post a consultant
    holds with no order yet, a paid post nobody took."""
    _consultant_with_orders(seed)
    seed.post(
        "alice", "留学文书修改", "需要一位顾问帮忙修改个人陈述，约1500字。", "199.00", [3, 11]
    )
    seed.paid_post("alice", "个税汇算清缴", "第一次自己做个税汇算，想请人指导。", "88.00", [2])
    cancelled = seed.paid_post("alice", "商标注册", "想注册一个商标，需要流程建议。", "260.00", [1])
    orders.cancel(seed.res, seed.actors["alice"], seed.order("alice", "dave", cancelled, "260.00"))
    seed.post("bob", "职业规划", "工作三年，想转行做产品经理。", "120.50", [6])
    seed.post("bob", "免费问答：签证材料", "旅游签证需要准备哪些材料？", "0", [4])
    held = seed.paid_post("bob", "出国体检", "出国留学体检需要注意什么？", "50.00", [3, 9])
    orders.accept(seed.res, seed.actors["dave"], held)  # dave holds it; bob has no order yet


SCENARIOS: dict[str, Callable[[Seeder], None]] = {
    "empty": _empty,
    "demo": _demo,
    "buyer-with-paid-post": _buyer_with_paid_post,
    "consultant-with-orders": _consultant_with_orders,
}


class ScenarioStore:
    """Loads scenarios into the mock's database, remembering the last one.

    A load empties the database, SMS codes too; every phone the mock has sent a code to then
    gets it again, so that the fixed code signs in after a reset or a scenario switch as it
    did before (the mock's settings have no one-per-minute limit for these resends to meet).
    """

    def __init__(self, res: Resources, scenario: str) -> None:
        self.res = res
        self.current = scenario

    def load(self, name: str) -> None:
        if name not in SCENARIOS:
            raise KeyError(name)
        self.res.db.empty()
        SCENARIOS[name](Seeder(self.res))
        if isinstance(self.res.sms, FixedSms):
            for phone_number in list(self.res.sms.last_sent):
                sms.send(self.res, phone_number, MOCK_ADDRESS)
        self.current = name

    def reset(self) -> None:
        self.load(self.current)
