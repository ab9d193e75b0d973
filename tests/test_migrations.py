"""The migrations build exactly the schema the models describe, with the tag catalogue."""

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from consulting.core.migrate import alembic_config, pending, upgrade
from consulting.core.resources import Resources
from models import Payment, Post
from services import tags

T0 = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)


def test_migrated_schema_matches_the_models(res: Resources) -> None:
    with res.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert not pending(res.db.engine)


def test_first_migration_creates_the_tag_catalogue(res: Resources) -> None:
    catalogue = tags.list_all(res)
    assert len(catalogue) >= 10
    assert {"tag_id": 4, "name": "移民咨询", "name_en": "Immigration"} in catalogue


def test_the_glossary_renames_keep_every_row(res: Resources) -> None:
    """0002 renames columns (user_id -> buyer_id, content -> details, total_fee -> amount_fen);
    SQLite does it by copying each table. Rows written under 0001 are all there after it."""
    engine = res.db.engine
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, username_key, password_hash, created_at)"
                " VALUES (7, 'ann', 'ann', 'x', :now)"
            ),
            {"now": T0},
        )
        connection.execute(
            text(
                "INSERT INTO posts (id, user_id, title, content, price_fen, status, created_at,"
                " updated_at) VALUES (3, 7, 't', '内容', 19900, 'open', :now, :now)"
            ),
            {"now": T0},
        )
        connection.execute(
            text(
                "INSERT INTO payments (id, out_trade_no, post_id, user_id, total_fee, body,"
                " spbill_create_ip, prepay_id, status, created_at, updated_at)"
                " VALUES (5, 'T5', 3, 7, 19900, 'b', '127.0.0.1', 'wx1', 'pending', :now, :now)"
            ),
            {"now": T0},
        )
    upgrade(engine)
    with res.db.unit_of_work() as session:
        post = session.get(Post, 3)
        payment = session.get(Payment, 5)
    assert post is not None and (post.buyer_id, post.details, post.price_fen) == (7, "内容", 19900)
    assert payment is not None and (payment.buyer_id, payment.amount_fen) == (7, 19900)
    assert not pending(engine)
