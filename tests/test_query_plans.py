"""The hot reads walk their indexes at scale: no full scan of posts, orders or sessions.

20,000 posts under one tag, all one buyer's, each with an order of one consultant; 20,000
sessions. Each hot read is explained by the database itself, as the services send it (the same
compiled SQL and arguments as ``Database.read``), for a first page and for a cursor deep in the
list. On PostgreSQL the plan is also run (EXPLAIN ANALYZE): the rows each table gives up must
be a page's worth, not the table's. A query that has to scan is explained too, so that the test
is known to see a scan when there is one.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa

from bench.seed import bulk_posts, settle
from consulting.core.actors import Role
from consulting.core.clock import utcnow
from consulting.core.database import Query
from consulting.core.resources import Resources
from models import AuthSession, Consultant, Order, User
from services import orders, posts, sessions
from services.paging import Page, cursor_after
from tests.conftest import EXTERNAL_URL
from tests.settings import make_settings

ROWS = 20_000
WATCHED = {"posts", "post_tags", "orders", "auth_sessions"}
ORDERS = Order.__table__  # type: ignore[attr-defined]
SESSIONS = AuthSession.__table__  # type: ignore[attr-defined]


class TitleRow(NamedTuple):
    title: str


@pytest.fixture(scope="module")
def seeded(database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One database for the module (seeding it per test would cost more than every test)."""
    if EXTERNAL_URL:
        url = EXTERNAL_URL
    else:
        path = tmp_path_factory.mktemp("plans") / "plans.db"
        shutil.copyfile(database_template, path)
        url = f"sqlite:///{path}"
    res = Resources.from_settings(make_settings(url))
    try:
        with res.db.unit_of_work() as session:
            buyer = User(username="planner", username_key="planner", password_hash="-")
            consultant = Consultant(username="planned", username_key="planned", password_hash="-")
            session.add_all([buyer, consultant])
            session.flush()
            assert buyer.id is not None and consultant.id is not None
            ids = (buyer.id, consultant.id)
        bulk_posts(res.db, ROWS, ids[0], tag_id=1, consultant_id=ids[1])
        now = utcnow()
        with res.db.unit_of_work() as session:
            post_ids = session.execute(sa.select(posts.POSTS.c.id)).scalars().all()
            session.execute(
                sa.insert(ORDERS),
                [
                    {
                        "order_no": f"O{post_id}",
                        "post_id": post_id,
                        "buyer_id": ids[0],
                        "consultant_id": ids[1],
                        "price_fen": 9900,
                        "status": "in_progress",
                        "client_create_time": "2017-06-25 05:17:18",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for post_id in post_ids
                ],
            )
            session.execute(
                sa.insert(SESSIONS),
                [
                    {
                        "token_hash": f"{n:064d}",
                        "role": "user",
                        "account_id": ids[0],
                        "created_at": now,
                        "expires_at": now,
                    }
                    for n in range(ROWS)
                ],
            )
        settle(url)  # fresh statistics, as a database that has lived with these rows has
        yield res, ids, max(post_ids)
    finally:
        if EXTERNAL_URL:
            res.db.empty()
        res.db.dispose()


def _plan(res: Resources, query: Query[Any], params: dict[str, Any]) -> list[str]:
    """The scans of the plan, one line each: 'SCAN <table>' for a full one, else 'INDEX ...'."""
    compiled = query.compiled(res.db.engine.dialect)
    arguments = compiled.arguments(params)
    dialect = res.db.dialect
    with res.db.engine.connect() as connection:
        if dialect == "sqlite":
            found = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + compiled.sql, arguments)
            return [_sqlite_step(row[-1]) for row in found]
        if dialect == "postgresql":
            sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + compiled.sql
            [[document]] = connection.exec_driver_sql(sql, arguments).all()
            plan = document if isinstance(document, list) else json.loads(document)
            return list(_postgres_steps(plan[0]["Plan"]))
        found = connection.exec_driver_sql("EXPLAIN " + compiled.sql, arguments).mappings()
        return [_mariadb_step(row) for row in found]


def _sqlite_step(detail: str) -> str:
    # "SCAN posts" is a full scan; "SCAN t USING INDEX i" walks a whole index: as bad here.
    words = detail.split()
    if words[0] == "SCAN" and words[1] in WATCHED:
        return f"SCAN {words[1]}: {detail}"
    return f"INDEX {detail}"


def _postgres_steps(node: dict[str, Any]) -> Iterator[str]:
    relation = node.get("Relation Name")
    if relation in WATCHED:
        # Every row the scan read: those it gave up and those its filter threw away.
        read = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
        rows = read * node.get("Actual Loops", 1)
        kind = "SCAN" if node["Node Type"] == "Seq Scan" or rows > 500 else "INDEX"
        yield f"{kind} {relation}: {node['Node Type']}, {rows} rows"
    for child in node.get("Plans", []):
        yield from _postgres_steps(child)


def _mariadb_step(row: Any) -> str:
    table = row["table"]
    if table in WATCHED and row["type"] in ("ALL", "index"):
        return f"SCAN {table}: type {row['type']}, key {row['key']}"
    return f"INDEX {table}: type {row['type']}, key {row['key']}"


def _hot_reads(ids: tuple[int, int], top: int) -> dict[str, tuple[Query[Any], dict[str, Any]]]:
    buyer, consultant = ids
    now = utcnow()
    reads: dict[str, tuple[Query[Any], dict[str, Any]]] = {}
    for depth, page in (
        ("first page", Page()),
        ("deep cursor", Page(cursor=cursor_after(top // 20))),
    ):
        bounds = page.bounds
        reads[f"acquire, {depth}"] = (posts._OPEN_PAGE, {"tag_id": 1, "now": now, **bounds})
        reads[f"check, {depth}"] = (posts._OWN_PAGE, {"buyer": buyer, "now": now, **bounds})
        reads[f"buyer's orders, {depth}"] = (
            orders._PAGES[Role.BUYER, False],
            {"account": buyer, **bounds},
        )
        reads[f"consultant's orders, {depth}"] = (
            orders._PAGES[Role.CONSULTANT, False],
            {"account": consultant, **bounds},
        )
        reads[f"held posts, {depth}"] = (
            orders._HELD,
            {"consultant": consultant, "now": now, **bounds},
        )
    reads["session lookup"] = (sessions._BY_DIGEST, {"digest": f"{ROWS // 2:064d}"})
    return reads


READS = list(_hot_reads((1, 1), 1))


@pytest.mark.parametrize("name", READS)
def test_a_hot_read_scans_no_big_table(seeded: Any, name: str) -> None:
    res, ids, top = seeded
    query, params = _hot_reads(ids, top)[name]
    steps = _plan(res, query, params)
    assert steps and not [step for step in steps if step.startswith("SCAN")], steps


def test_the_plan_check_sees_a_scan_when_there_is_one(seeded: Any) -> None:
    res, _ids, _top = seeded
    scanning = Query(
        sa.select(posts.POSTS.c.title).where(posts.POSTS.c.title == sa.bindparam("title")),
        TitleRow,
    )
    steps = _plan(res, scanning, {"title": "bulk post"})
    assert any(step.startswith("SCAN posts") for step in steps), steps
