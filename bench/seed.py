"""The data the benchmark reads: two accounts and a tag with 1,000 posts, written before any
server starts, through the project's own services against the same database.

Through the services rather than the API because 1,000 publishes over HTTP would take longer
than the measurement itself, and the rows are the same either way. The accounts are hashed
with the production argon2 costs, so that ``login`` measures what production pays.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bench.servers import clean_environment, consulting_argv
from consulting.core.actors import Actor, Role
from consulting.core.clock import utcnow
from consulting.core.database import Database, create_db_engine
from consulting.core.envelope import envelope
from consulting.core.migrate import upgrade
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from models import PostStatus
from services import accounts, posts
from services.paging import Page
from services.posts import POST_TAGS, POSTS

PASSWORD = "bench-password-not-secret"  # noqa: S105 - throw-away accounts of the benchmark
ACQUIRE_TAG = 1  # holds the seeded posts: acquire reads its first page
PUBLISH_TAG = 2  # publish writes here, so acquire's tag keeps exactly the seeded posts


@dataclass(frozen=True)
class Account:
    id: int
    role: Role
    username: str
    password: str = PASSWORD


@dataclass(frozen=True)
class Fixture:
    """What was written, and the envelope ``acquire`` answers with it (for the baseline)."""

    database_url: str
    buyer: Account
    consultant: Account
    posts: int
    acquire_envelope: dict[str, Any]


def prepare(database_url: str, post_count: int) -> Fixture:
    """Accounts and posts in a migrated, empty database; returns what the servers will see."""
    settings = Settings(database_url=database_url)
    res = Resources.from_settings(settings)
    try:
        if settings.is_sqlite:
            upgrade(res.db.engine)  # serve migrates SQLite on start too: then a no-op
        buyer = register(res, Role.BUYER, "bench-buyer")
        consultant = register(res, Role.CONSULTANT, "bench-consultant")
        _publish_many(res, buyer, post_count)
        page = posts.acquire(
            res, Actor(Role.CONSULTANT, consultant.id, 0), tag_id=ACQUIRE_TAG, page=Page()
        ).items
    finally:
        res.db.dispose()
    return Fixture(database_url, buyer, consultant, post_count, envelope(0, "", page))


def register(res: Resources, role: Role, username: str) -> Account:
    account_id = accounts.register(
        res, role, username=username, password=PASSWORD, password_again=PASSWORD
    )
    return Account(account_id, role, username)


def _publish_many(res: Resources, buyer: Account, count: int) -> None:
    actor = Actor(Role.BUYER, buyer.id, 0)
    for n in range(count):
        posts.publish(
            res,
            actor,
            buyer_id=buyer.id,
            tag_ids=[ACQUIRE_TAG],
            title=f"bench post {n}",
            details="A post written by the benchmark's seed: one page of these is read back.",
            price="99.00",
        )


BULK_BATCH = 10_000


def bulk_posts(
    db: Database, count: int, buyer_id: int, tag_id: int, *, consultant_id: int | None = None
) -> None:
    """``count`` open posts of ``buyer_id`` under ``tag_id``, straight into the tables.

    For the scale rows (``bench.scale``) and the query-plan test: a million posts through the
    services would take an hour; the rows are the ones publish writes (the same columns and
    defaults), only without its checks. PostgreSQL takes them by COPY, the others by batched
    INSERTs.
    """
    now = utcnow()
    row = {
        "buyer_id": buyer_id,
        "title": "bulk post",
        "details": "A post written by the benchmark's bulk seed.",
        "price_fen": 9900,
        "status": PostStatus.OPEN.value,
        "consultant_id": consultant_id,
        "created_at": now,
        "updated_at": now,
    }
    with db.unit_of_work() as session:
        before = session.execute(sa.select(sa.func.max(POSTS.c.id))).scalar() or 0
        if db.dialect == "postgresql":
            raw = session.connection().connection.driver_connection
            assert raw is not None
            columns = ", ".join(row)
            with raw.cursor() as cursor, cursor.copy(f"COPY posts ({columns}) FROM STDIN") as copy:
                values = tuple(row.values())
                for _ in range(count):
                    copy.write_row(values)
        else:
            for start in range(0, count, BULK_BATCH):
                session.execute(sa.insert(POSTS), [row] * min(BULK_BATCH, count - start))
        session.execute(
            sa.insert(POST_TAGS).from_select(
                ["post_id", "tag_id"],
                sa.select(POSTS.c.id, sa.literal(tag_id, sa.Integer)).where(POSTS.c.id > before),
            )
        )


def settle(url: str) -> None:
    """What a database that grew to its size over time has, after a bulk write: fresh
    statistics, and on SQLite the write-ahead log folded into the file (a bulk write leaves it
    hundreds of MB long, which every later write and read would pay for until a checkpoint)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # The standard library's own connection: no transaction around the checkpoint.
        connection = sqlite3.connect(parsed.database or "", isolation_level=None)
        try:
            connection.execute("ANALYZE")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        return
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("ANALYZE")
            else:  # MariaDB analyzes one named table at a time
                for table in SQLModel.metadata.sorted_tables:
                    connection.exec_driver_sql(f"ANALYZE TABLE {table.name}")
    finally:
        engine.dispose()


def login(base_url: str, account: Account) -> str:
    """A session token through the API, as a client gets it (``X-Session-Token``)."""
    response = httpx.post(
        f"{base_url}/api/{account.role.value}/login",
        data={"username": account.username, "password": account.password},
        timeout=60,
    )
    response.raise_for_status()
    return response.headers["X-Session-Token"]


# PostgreSQL --------------------------------------------------------------------------------


def recreate_postgres(database_url: str) -> None:
    """Drop and create the benchmark's database with psql, then ``consulting db upgrade``.

    Raises ``RuntimeError`` (with psql's words) when psql is missing or the server does not
    answer: the caller reports PostgreSQL as skipped.
    """
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql is not installed")
    url = make_url(database_url)
    name = url.database or "consulting_bench"
    admin = [
        psql,
        *("-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)),
        *("-U", url.username or "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"),
    ]
    _run([*admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
    _run([*admin, "-c", f'CREATE DATABASE "{name}"'])
    _run(consulting_argv("db", "upgrade", "--database-url", database_url))


def _run(argv: list[str]) -> None:
    env = clean_environment({"PGCONNECT_TIMEOUT": "5"})
    done = subprocess.run(  # noqa: S603 - psql and our own CLI, fixed arguments
        argv, capture_output=True, text=True, env=env, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])}: {(done.stderr or done.stdout).strip()}")
