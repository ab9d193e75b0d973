"""The migrations build exactly the schema the models describe, with the tag catalogue."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from consulting.core.migrate import pending
from consulting.core.resources import Resources
from services import tags


def test_migrated_schema_matches_the_models(res: Resources) -> None:
    with res.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert not pending(res.db.engine)


def test_first_migration_creates_the_tag_catalogue(res: Resources) -> None:
    catalogue = tags.list_all(res)
    assert len(catalogue) >= 10
    assert {"tag_id": 4, "name": "移民咨询", "name_en": "Immigration"} in catalogue
