"""Fixtures: a fresh database per test, the resources, the ASGI app and an in-process client.

SQLite by default: the schema is migrated once per run into a template file that each test
copies. With TEST_DATABASE_URL (PostgreSQL or MariaDB) the schema is migrated once and every
table is emptied after each test, with the tag catalogue put back as the migration left it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import SQLModel
from starlette.testclient import TestClient

from consulting.core.database import Database, Query, create_db_engine
from consulting.core.migrate import upgrade
from consulting.core.resources import Resources
from consulting.core.settings import Settings
from consulting.web.app import create_app
from tests.api import Api
from tests.settings import make_settings

EXTERNAL_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a template file for SQLite, or the external database itself."""
    if EXTERNAL_URL:
        engine = create_db_engine(EXTERNAL_URL)
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(engine)
        engine.dispose()
        yield EXTERNAL_URL
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    yield str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    if not EXTERNAL_URL:
        target = tmp_path / "test.db"
        shutil.copyfile(database_template, target)
        yield f"sqlite:///{target}"
        return
    yield EXTERNAL_URL
    database = Database(EXTERNAL_URL)
    database.empty()
    database.dispose()


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The test settings; ``@pytest.mark.settings(name=value, ...)`` overrides some."""
    marker = request.node.get_closest_marker("settings")
    return make_settings(database_url, **(marker.kwargs if marker else {}))


@pytest.fixture
def res(settings: Settings) -> Iterator[Resources]:
    resources = Resources.from_settings(settings)
    yield resources
    resources.db.dispose()


@pytest.fixture
def app(res: Resources) -> Any:
    return create_app(resources=res)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient, res: Resources) -> Api:
    return Api(client, res)


@pytest.fixture
def statements(res: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent: through the engine, and the hot reads (on SQLite ``fetch`` sends
    them to the driver itself, where the engine's events do not see them)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    read = res.db.read

    def recorded_read(query: Query[Any], params: Mapping[str, Any] | None = None) -> list[Any]:
        seen.append(str(query.statement))
        return read(query, params)

    monkeypatch.setattr(res.db, "read", recorded_read)
    event.listen(res.db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(res.db.engine, "before_cursor_execute", record)
