"""The database, reached in two ways, each named for what it is for.

- :meth:`Database.unit_of_work`: every write. One transaction, committed when the block ends
  and rolled back if it raises (Cosmic Python's unit of work, as an SQLModel session). ORM
  objects and Core statements both go through it.
- :meth:`Database.read`: a hot read. One prepared :class:`Query`, its rows by column name.

This module is the only one that makes an engine or opens a session. SQLite gets WAL and a
busy timeout, so that readers never wait for the writer and a writer waits a little instead of
failing at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import delete, event, insert, select
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql import Select
from sqlmodel import Session, SQLModel, create_engine

from consulting.core.settings import ConfigurationError

SQLITE_BUSY_TIMEOUT_MS = 5000
_DEFERRED = "consulting_deferred"  # an SQLite read: no write lock (see _sqlite_begin)

RowT = TypeVar("RowT")


# The driver this project uses for each server database, and the package extra that brings it.
DRIVERS = {
    "postgresql": ("psycopg", "postgres"),
    "mysql": ("pymysql", "mysql"),
    "mariadb": ("pymysql", "mysql"),
}
URL_FORMS = "sqlite:///PATH, postgresql+psycopg://USER:PASSWORD@HOST/DB or mysql+pymysql://…"


def create_db_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """The engine for ``url``; a URL that cannot work is a :class:`ConfigurationError`."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"DATABASE_URL is not a database URL; use {URL_FORMS}") from None
    try:
        return _engine(url, parsed, busy_timeout_ms)
    except NoSuchModuleError:
        raise ConfigurationError(
            f"DATABASE_URL names no database known here ({parsed.drivername}); use {URL_FORMS}"
        ) from None
    except ImportError as exc:
        backend = parsed.get_backend_name()
        driver, extra = DRIVERS.get(backend, (exc.name, None))
        hint = f"pip install -e '.[{extra}]' and use {backend}+{driver}://" if extra else ""
        raise ConfigurationError(
            f"DATABASE_URL needs the driver {exc.name}, which is not installed; {hint}".rstrip("; ")
        ) from None


@contextmanager
def reaching(url: str) -> Iterator[None]:
    """Turns a database that cannot be reached (down, refused, wrong password) into a
    :class:`ConfigurationError` of one line, the URL's password hidden."""
    try:
        yield
    except DBAPIError as exc:
        parsed = make_url(url)
        reason = (str(exc.orig) or type(exc.orig).__name__).strip().splitlines()[0]
        if parsed.password:
            reason = reason.replace(str(parsed.password), "***")
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigurationError(
            f"cannot use the database at {shown}: {reason} (check DATABASE_URL and the server)"
        ) from None


def _engine(url: str, parsed: URL, busy_timeout_ms: int) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes can fail with "database is locked"
    # without waiting; BEGIN IMMEDIATE takes the write lock up front and honours busy_timeout.
    # The hot reads begin deferred, so that WAL lets them run beside the writer.
    deferred = connection.get_execution_options().get(_DEFERRED)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


class Query(Generic[RowT]):
    """One SELECT, built once, and the row type its columns fill, by name.

    ``row`` is a ``NamedTuple`` whose fields are the statement's column labels in order: this
    is checked here, once, so a column added to one and not the other fails at import instead
    of shifting every field after it. The SQL is compiled once per database.
    """

    def __init__(self, statement: Select[Any], row: type[RowT]) -> None:
        labels = tuple(statement.selected_columns.keys())
        fields = tuple(getattr(row, "_fields", ()))
        if labels != fields:
            raise TypeError(f"{row.__name__} has fields {fields}, the query selects {labels}")
        anonymous = [bind.key for bind in statement.compile().binds.values() if bind.unique]
        if anonymous:  # read() binds by name only: a literal must be SQL text or a named bind
            raise TypeError(f"the query for {row.__name__} binds values by no name: {anonymous}")
        self.statement = statement
        self.row: Callable[..., RowT] = row
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            names = list(compiled.positiontup or []) if compiled.positional else None
            # What SQLAlchemy would do to each value before the driver sees it (a time as
            # SQLite's text, say); most hot reads bind none that need it.
            processors = {
                name: process
                for name, process in compiled._bind_processors.items()
                if callable(process)  # a sequence only for tuples of values (IN): none here
            }
            found = self._compiled[dialect.name] = _Compiled(str(compiled), names, processors)
        return found


class _Compiled(NamedTuple):
    sql: str
    names: Sequence[str] | None  # the parameters in the driver's order; None: by name
    processors: Mapping[str, Callable[[Any], Any]]

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self.processors:
            processed = {n: p(params[n]) for n, p in self.processors.items() if n in params}
            params = {**params, **processed}
        if self.names is not None:
            return tuple(params[name] for name in self.names)
        return dict(params)


class Database:
    """An engine, its sessions, and the hot-read path."""

    def __init__(self, url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        self.url = url
        self.engine = create_db_engine(url, busy_timeout_ms)
        self.dialect = self.engine.dialect.name
        # An embedded SQLite read never waits on a network or, under WAL, on a lock: it is
        # CPU work that holds the GIL in any thread, so it may run on the event loop itself
        # (handlers._common.read). A server database's reads wait on the network: threads.
        self.reads_inline = self.dialect == "sqlite"
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reads = self.engine.execution_options(**{_DEFERRED: True})
        self._dbapi_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        self._readers = threading.local()
        self._all_readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def unit_of_work(self, *, single_statement: bool = False) -> Iterator[Session]:
        """One transaction for a write: committed when the block ends, rolled back if it raises.

        ``single_statement``: the unit of work is one statement that is all or nothing on its
        own; on a server database it is then sent in autocommit, without the round trips of
        BEGIN and COMMIT around it. Only for exactly one statement.
        """
        if single_statement and self.dialect != "sqlite":
            with Session(self._autocommit) as session:
                yield session
            return
        with self._turn_to_write(), self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """On SQLite, this process's writers take turns here, before BEGIN IMMEDIATE.

        SQLite admits one writer; the others sleep in its busy handler and retry, so a writer
        can lose many rounds in a row to ones that came later, and the slowest writes wait
        many times longer than the typical one. Waiting on a lock in the process instead, a
        writer is woken as soon as the one before it commits. Other processes (a second
        worker, the CLI) still meet SQLite's own lock and busy timeout. Reentrant, so that a
        nested unit of work fails as it always did (SQLite's busy timeout) instead of hanging
        here. Server databases lock rows, not the database: nothing to do.
        """
        if self._writer is None:
            yield
            return
        with self._writer:
            yield

    def read(self, query: Query[RowT], params: Mapping[str, Any] | None = None) -> list[RowT]:
        """The rows of one hot read, each a ``query.row`` (values as the driver gives them:
        times through :func:`driver_time`).

        No ORM session and no SQLAlchemy result object: these reads want rows, and the
        statement is compiled once. On SQLite each thread (the event loop's, mostly: see
        ``reads_inline``) keeps one reader connection and the statement goes straight to its
        driver connection, in autocommit: one consistent snapshot per statement, no WAL
        snapshot pinned between reads. Errors are raised as SQLAlchemy's either way, so the
        envelope's handlers treat them alike.
        """
        compiled = query.compiled(self.engine.dialect)
        sql, args = compiled.sql, compiled.arguments(params or {})
        reader = self._reader() if self.reads_inline else None
        if reader is not None:
            dbapi = reader.connection.dbapi_connection
            assert dbapi is not None
            try:
                rows = dbapi.execute(sql, args).fetchall()
            except self._dbapi_error as exc:
                raise DBAPIError.instance(sql, args, exc, self._dbapi_error) from exc
        else:
            with self._reads.begin() as connection:
                rows = connection.exec_driver_sql(sql, args).fetchall()
        make = query.row
        return [make(*row) for row in rows]

    def _reader(self) -> Connection | None:
        reader: Connection | None = getattr(self._readers, "connection", None)
        if reader is None or reader.closed or reader.invalidated:
            reader = self._readers.connection = self._reads.connect()
            with self._readers_lock:
                self._all_readers.append(reader)
        return reader

    def empty(self) -> None:
        """Every table emptied but the tag catalogue, which is as it was (the mock's scenarios
        and the tests on a server database start from this)."""
        tags = SQLModel.metadata.tables["tags"]
        with self.unit_of_work() as session:
            catalogue = [dict(row._mapping) for row in session.execute(select(tags))]
            for table in reversed(SQLModel.metadata.sorted_tables):
                session.execute(delete(table))
            session.execute(insert(tags), catalogue)

    def dispose(self) -> None:
        with self._readers_lock:
            readers, self._all_readers = self._all_readers, []
        for reader in readers:
            reader.close()
        self.engine.dispose()


def driver_time(value: datetime | str) -> datetime:
    """A time column as :meth:`Database.read` returns it, as an aware UTC datetime.

    SQLite's driver gives the stored text, MariaDB's a naive datetime (both UTC, as written),
    PostgreSQL's an aware one.
    """
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
