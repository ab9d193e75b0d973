"""The one place where the engine and the session factory are made.

Services own their transactions through :meth:`Database.transaction`; nothing else opens a
session. SQLite gets WAL and a busy timeout so that readers never wait for the writer and a
writer waits a little instead of failing at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import Executable
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 5000
READ_ONLY = "consulting_read_only"
SINGLE_READS = "consulting_single_reads"


def create_db_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes can fail with "database is locked"
    # without waiting; BEGIN IMMEDIATE takes the write lock up front and honours busy_timeout.
    # Read-only units of work begin deferred, so WAL lets them run beside the writer.
    options = connection.get_execution_options()
    if options.get(SINGLE_READS):
        return  # each SELECT runs in its own implicit read transaction (Database.rows)
    if options.get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        self.url = url
        self.engine = create_db_engine(url, busy_timeout_ms)
        # An embedded SQLite read never waits on a network or, under WAL, on a lock: it is
        # pure CPU that holds the GIL in any thread, so it may run on the event loop itself
        # (consulting.web.read). A server database's reads wait on the network: threads.
        self.dialect = self.engine.dialect.name
        self.reads_inline = self.dialect == "sqlite"
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._row_engine = self.engine.execution_options(**{READ_ONLY: True, SINGLE_READS: True})
        self._read_sessions = sessionmaker(
            self._read_engine, class_=Session, expire_on_commit=False
        )
        self._dbapi_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        self._driver_sql: dict[int, tuple[Executable, str, Sequence[str] | None]] = {}
        self._readers = threading.local()
        self._all_readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        with self._turn_to_write(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One unit of work as Core statements, for a hot write that needs no ORM objects:
        committed when the block ends, rolled back if it raises (as :meth:`transaction`)."""
        with self._turn_to_write(), self.engine.begin() as connection:
            yield connection

    def write_at_once(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        """A write that is one statement, committed by itself; the rows it returns.

        Sent in autocommit: the statement is its own transaction, so no BEGIN and COMMIT
        round trips surround it. Only for one statement whose effect is all or nothing.
        """
        sql, args = self._driver_call(statement, params)
        with self._turn_to_write(), self.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            return connection.exec_driver_sql(sql, args).fetchall()

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """On SQLite, this process's writers take turns here, before BEGIN IMMEDIATE.

        SQLite admits one writer; the others sleep in its busy handler and retry, up to 100 ms
        apart, so a writer can lose many rounds in a row to ones that came later: with 32
        clients publishing, the p99 was 8-9 times the p50. Waiting on a lock in the process
        instead, a writer is woken as soon as the one before it commits. Other processes (a
        second worker, the CLI) still meet SQLite's own lock and busy timeout. Reentrant, so
        that a nested unit of work fails as it always did (SQLite's busy timeout) instead of
        hanging here. Server databases lock rows, not the database: nothing to do.
        """
        if self._writer is None:
            yield
            return
        with self._writer:
            yield

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit of work that only reads (on SQLite it does not take the write lock)."""
        with self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def rows(self) -> Iterator[Connection]:
        """A read-only Core connection, for the hot reads (lists, sessions).

        No ORM session around it: these reads want rows, not objects, and skipping the
        session's bookkeeping is a third of what a small read costs. On SQLite no BEGIN
        either: each statement reads its own consistent snapshot, which is all a one-query
        read needs (a second statement may see a later commit).

        On SQLite each thread (the event loop's, mostly: see ``reads_inline``) keeps one
        reader connection instead of taking one from the pool per read: checking a connection
        out and in was a third of what a page of acquire cost. Between reads it holds no
        transaction, so it pins no WAL snapshot and never delays a checkpoint.
        """
        reader = self._reader() if self.reads_inline else None
        if reader is None:
            with self._row_engine.begin() as connection:
                yield connection
            return
        with reader.begin():
            yield reader

    def fetch(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        """The rows of one hot read (see :meth:`rows`), as the driver returns them.

        The statement is compiled for this database once. On a server database it is sent
        with ``exec_driver_sql``: SQLAlchemy still checks the connection out, reports errors
        (a lost connection invalidates the pool) and fires its events, but neither looks the
        compiled form up nor converts the values on each call. On SQLite it goes straight to
        this thread's reader connection: SQLAlchemy's transaction, events and result object
        cost more than SQLite's own work for a page of acquire (measured: 526 -> 403 us a
        request in-process), and there is no network to lose. Its errors are still raised as
        SQLAlchemy's, so the envelope handlers treat them alike. Values come back as the
        driver gives them: times through :func:`driver_time`.
        """
        sql, args = self._driver_call(statement, params)
        reader = self._reader() if self.reads_inline else None
        if reader is not None:
            dbapi = reader.connection.dbapi_connection
            assert dbapi is not None
            try:
                return dbapi.execute(sql, args).fetchall()
            except self._dbapi_error as exc:
                raise DBAPIError.instance(sql, args, exc, self._dbapi_error) from exc
        with self.rows() as connection:
            return connection.exec_driver_sql(sql, args).fetchall()

    def _driver_call(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> tuple[str, tuple[Any, ...] | dict[str, Any]]:
        """The statement's SQL for this database and ``params`` in the driver's style."""
        sql, names = self._compiled(statement)
        args = tuple(params[name] for name in names) if names is not None else dict(params)
        return sql, args

    def _compiled(self, statement: Executable) -> tuple[str, Sequence[str] | None]:
        found = self._driver_sql.get(id(statement))
        if found is None:
            compiled = statement.compile(dialect=self.engine.dialect)  # type: ignore[attr-defined]
            names = list(compiled.positiontup) if compiled.positional else None
            found = self._driver_sql[id(statement)] = (statement, str(compiled), names)
        return found[1], found[2]

    def _reader(self) -> Connection | None:
        reader: Connection | None = getattr(self._readers, "connection", None)
        if reader is not None and reader.in_transaction():
            return None  # already reading on this thread (a nested read): use the pool
        if reader is None or reader.closed or reader.invalidated:
            reader = self._readers.connection = self._row_engine.connect()
            with self._readers_lock:
                self._all_readers.append(reader)
        return reader

    def dispose(self) -> None:
        with self._readers_lock:
            readers, self._all_readers = self._all_readers, []
        for reader in readers:
            reader.close()
        self.engine.dispose()


def driver_time(value: datetime | str) -> datetime:
    """A time column as :meth:`Database.fetch` returns it, as an aware UTC datetime.

    SQLite's driver gives the stored text, MariaDB's a naive datetime (both UTC, as written),
    PostgreSQL's an aware one.
    """
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
