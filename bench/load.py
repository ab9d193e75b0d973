"""Load: buyers and consultants walk the whole story against several workers, then the
database is checked for every acknowledged write, and for nothing written twice.

    python -m bench.load [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/consulting_load]
                         [--workers 2] [--pairs 16] [--duration 60]

It starts ``consulting serve`` itself on 127.0.0.1 (a fresh database: the schema is dropped and
migrated), sends traffic only there, stops after ``--duration`` seconds or ``--max-requests``,
and exits non-zero if any 5xx was answered or any acknowledged row is missing or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
from sqlalchemy import func, select

NOTIFY_KEY = "load-test-notify-key-not-a-secret-of-anyone"
PASSWORD = "load-test-password"  # noqa: S105 - throw-away accounts of the load test


@dataclass
class Tally:
    """What the server acknowledged, and how every request went."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    posts: dict[int, int] = field(default_factory=dict)  # post_id -> buyer id
    payments: set[str] = field(default_factory=set)  # confirmed out_trade_no
    orders: dict[int, str] = field(default_factory=dict)  # order_id -> order_no
    requests: int = 0


class Client:
    def __init__(self, http: httpx.AsyncClient, tally: Tally, token: str = "") -> None:
        self.http, self.tally, self.token = http, tally, token

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError:
            self.tally.statuses[0] += 1  # transport failure: counted as an error
            return 0, {}
        self.tally.latencies.append(time.perf_counter() - started)
        self.tally.statuses[response.status_code] += 1
        self.tally.requests += 1
        return response.status_code, response.json()


def sign(fields: dict[str, str]) -> str:
    from services.payments import sign as provider_sign

    return provider_sign(fields, NOTIFY_KEY)


async def account(http: httpx.AsyncClient, tally: Tally, role: str) -> tuple[int, Client]:
    username = f"ld{secrets.token_hex(6)}"
    data = {"username": username, "password": PASSWORD, "password_again": PASSWORD}
    # A registration is refused at once while the worker hashes another (42903): as a client
    # should, wait the Retry-After and try again.
    while (answer := await http.post(f"/api/{role}/register", data=data)).status_code == 429:
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    response = await http.post(
        f"/api/{role}/login", data={"username": username, "password": PASSWORD}
    )
    return response.json()["content"][0], Client(http, tally, response.headers["X-Session-Token"])


def provider_trade_numbers(database_url: str) -> Any:
    """What the payment provider was told (the merchant trade number of each payment, the
    server's own), as the provider would know it: read from the database, by buyer and key."""
    from consulting.core.database import create_db_engine
    from models import Payment

    engine = create_db_engine(database_url)

    def trade_no(buyer_id: int, out_trade_no: str) -> str:
        query = select(Payment.trade_no).where(
            Payment.buyer_id == buyer_id, Payment.out_trade_no == out_trade_no
        )
        with engine.connect() as db:
            found: str = db.execute(query).scalar_one()
        return found

    return trade_no


async def story(
    http: httpx.AsyncClient,
    tally: Tally,
    deadline: float,
    cap: int,
    numbers: itertools.count[int],
    trade_no: Any,
) -> None:
    """One buyer and one consultant, round after round, until the deadline."""
    buyer_id, buyer = await account(http, tally, "user")
    consultant_id, consultant = await account(http, tally, "consultant")
    provider = Client(http, tally)
    while time.monotonic() < deadline and tally.requests < cap:
        n = next(numbers)
        tag = 1 + n % 12
        post = {
            "user_id": buyer_id,
            "tag_id": [tag],
            "title": f"load {n}",
            "content": "load test",
            "price": "12.34",
        }
        status, body = await buyer.call("POST", "/api/user/post/publish", data=post)
        if status != 200:
            continue
        post_id = body["content"][0]
        tally.posts[post_id] = buyer_id
        await buyer.call("GET", "/api/user/post/check", params={"user_id": buyer_id})
        await consultant.call("GET", "/api/user/post/acquire", params={"tag_id": tag})
        trade = f"LD{n}"
        pay = {
            "body": "load",
            "out_trade_no": trade,
            "total_fee": "1234",
            "spbill_create_ip": "127.0.0.1",
            "post_id": post_id,
        }
        if (await buyer.call("POST", "/api/pay/init", data=pay))[0] != 200:
            continue
        notify = {
            "out_trade_no": await asyncio.to_thread(trade_no, buyer_id, trade),
            "transaction_id": f"wx{trade}",
            "total_fee": "1234",
            "result_code": "SUCCESS",
        }
        if (await provider.call("POST", "/api/pay/notify", data={**notify, "sign": sign(notify)}))[
            0
        ] != 200:
            continue
        tally.payments.add(trade)
        if (
            await consultant.call("POST", "/api/consultant/order/accept", data={"post_id": post_id})
        )[0] != 200:
            continue
        order = {
            "order_no": f"LO{n}",
            "create_time": "2026-11-29 10:00:00",
            "price": "12.34",
            "post_id": post_id,
            "consultant_id": consultant_id,
            "status": "in_progress",
        }
        status, body = await buyer.call("POST", "/api/user/order/add", data=order)
        if status != 200:
            continue
        order_id = body["content"][0]
        tally.orders[order_id] = f"LO{n}"
        if n % 2:
            await consultant.call(
                "POST", "/api/consultant/order/finish", data={"order_id": order_id}
            )
        else:
            await buyer.call("POST", "/api/user/order/cancel", data={"post_id": order_id})


def verify(database_url: str, tally: Tally) -> list[str]:
    """Every acknowledged write is in the database exactly once."""
    from consulting.core.database import create_db_engine
    from models import LedgerEntry, Order, Payment, Post

    problems = []
    engine = create_db_engine(database_url)
    with engine.connect() as db:
        posts = dict(db.execute(select(Post.id, Post.buyer_id)).all())
        missing = [p for p, owner in tally.posts.items() if posts.get(p) != owner]
        if missing:
            problems.append(f"{len(missing)} acknowledged posts missing or with the wrong owner")
        trades = Counter(db.execute(select(Payment.out_trade_no)).scalars())
        if [t for t, count in trades.items() if count > 1]:
            problems.append("a payment was stored twice")
        lost = [t for t in tally.payments if t not in trades]
        if lost:
            problems.append(f"{len(lost)} confirmed payments missing")
        doubled = db.execute(
            select(LedgerEntry.payment_id, LedgerEntry.kind)
            .group_by(LedgerEntry.payment_id, LedgerEntry.kind)
            .having(func.count() > 1)
        ).all()
        if doubled:
            problems.append(f"{len(doubled)} ledger entries doubled")
        orders = dict(db.execute(select(Order.id, Order.order_no)).all())
        lost_orders = [o for o, number in tally.orders.items() if orders.get(o) != number]
        if lost_orders:
            problems.append(f"{len(lost_orders)} acknowledged orders missing")
        live_per_post = db.execute(
            select(Order.post_id)
            .where(Order.status != "cancelled")
            .group_by(Order.post_id)
            .having(func.count() > 1)
        ).all()
        if live_per_post:
            problems.append(f"{len(live_per_post)} posts with two live orders")
    engine.dispose()
    return problems


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000 if ordered else 0.0


def fresh_database(url: str) -> None:
    from sqlmodel import SQLModel

    import models  # noqa: F401 - registers the tables
    from consulting.core.database import create_db_engine

    engine = create_db_engine(url)
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


async def drive(base: str, pairs: int, duration: float, cap: int, database_url: str) -> Tally:
    tally = Tally()
    trade_no = provider_trade_numbers(database_url)
    numbers = itertools.count(1)
    limits = httpx.Limits(max_connections=pairs * 2)
    # Bearer tokens only: a shared cookie jar would make every request speak for the last login.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        base_url=base, timeout=30, limits=limits, cookies=no_cookies
    ) as http:
        deadline = time.monotonic() + duration
        await asyncio.gather(
            *(story(http, tally, deadline, cap, numbers, trade_no) for _ in range(pairs))
        )
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/consulting_load"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pairs", type=int, default=16, help="buyer/consultant pairs running at once"
    )
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()

    fresh_database(args.database_url)
    port = args.port or free_port()
    env = {
        **os.environ,
        "CONSULTING_PAYMENT_NOTIFY_KEY": NOTIFY_KEY,
        # Every account of the run registers from loopback: the per-address limit (10 an hour)
        # is not what this test measures.
        "CONSULTING_REGISTER_MAX_PER_ADDRESS": "1000",
        "CONSULTING_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [
            sys.executable,
            "-m",
            "consulting.cli",
            "serve",
            "--migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--database-url",
            args.database_url,
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if server.poll() is not None:
                raise SystemExit("consulting serve did not start")
            try:
                httpx.get(base + "/api/tag/list", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        started = time.monotonic()
        tally = asyncio.run(
            drive(base, args.pairs, args.duration, args.max_requests, args.database_url)
        )
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    problems = verify(args.database_url, tally)
    errors = {
        status: count for status, count in tally.statuses.items() if status >= 500 or status == 0
    }
    report = {
        "workers": args.workers,
        "pairs": args.pairs,
        "seconds": round(elapsed, 1),
        "requests": tally.requests,
        "requests_per_second": round(tally.requests / elapsed, 1),
        "p50_ms": round(percentile(tally.latencies, 0.50), 1),
        "p99_ms": round(percentile(tally.latencies, 0.99), 1),
        "statuses": dict(sorted(tally.statuses.items())),
        "acknowledged": {
            "posts": len(tally.posts),
            "payments": len(tally.payments),
            "orders": len(tally.orders),
        },
        "problems": problems,
    }
    print(json.dumps(report, indent=2))
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
