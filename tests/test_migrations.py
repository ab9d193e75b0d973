"""The migrations build exactly the schema the models describe, with the tag catalogue."""

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from consulting.core.migrate import alembic_config, pending, upgrade
from consulting.core.resources import Resources
from models import LedgerEntry, Order, Payment, Post, RateCounter, SmsCode
from services import tags

AWARE_T0 = datetime(2026, 1, 1, tzinfo=UTC)
T0 = AWARE_T0.replace(tzinfo=None)


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


def test_0004_keeps_every_row_and_scopes_client_keys_per_buyer(res: Resources) -> None:
    """0004 drops the keys unique across buyers (SQLite copies orders and payments, which
    ledger_entries points at); rows written under 0003 are all there after it, an old payment's
    trade number is its out_trade_no, and two buyers may then share a key."""
    engine = res.db.engine
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    rows = [
        "INSERT INTO users (id, username, username_key, password_hash, created_at)"
        " VALUES (7, 'ann', 'ann', 'x', :now), (8, 'bob', 'bob', 'x', :now)",
        "INSERT INTO consultants (id, username, username_key, password_hash, created_at)"
        " VALUES (4, 'cid', 'cid', 'x', :now)",
        "INSERT INTO posts (id, buyer_id, title, details, price_fen, status, consultant_id,"
        " created_at, updated_at) VALUES (3, 7, 't', '内容', 19900, 'taken', 4, :now, :now)",
        "INSERT INTO payments (id, out_trade_no, post_id, buyer_id, amount_fen, body,"
        " spbill_create_ip, prepay_id, status, created_at, updated_at)"
        " VALUES (5, 'T5', 3, 7, 19900, 'b', '127.0.0.1', 'wx1', 'paid', :now, :now)",
        "INSERT INTO ledger_entries (id, payment_id, kind, amount_fen, reference, created_at)"
        " VALUES (9, 5, 'paid', 19900, 'wx1', :now)",
        "INSERT INTO orders (id, order_no, post_id, buyer_id, consultant_id, price_fen, status,"
        " client_create_time, created_at, updated_at)"
        " VALUES (6, 'O6', 3, 7, 4, 19900, 'in_progress', '2017-06-25 05:17:51', :now, :now)",
        "INSERT INTO sms_codes (id, phone_number, code_hash, created_at, expires_at,"
        " failed_attempts) VALUES (2, '13800000000', 'h', :now, :now, 0)",
    ]
    with engine.begin() as connection:
        for statement in rows:
            connection.execute(text(statement), {"now": T0})
        # "key" is quoted differently by each database: through the table's own insert
        counters = RateCounter.__table__  # type: ignore[attr-defined]
        connection.execute(counters.insert().values(key="k", window_start=AWARE_T0, count=3))
    upgrade(engine)
    with res.db.unit_of_work() as session:
        payment = session.get(Payment, 5)
        order = session.get(Order, 6)
        assert payment is not None and (payment.out_trade_no, payment.trade_no) == ("T5", "T5")
        assert order is not None and (order.order_no, order.buyer_id) == ("O6", 7)
        entry = session.get(LedgerEntry, 9)
        assert entry is not None and entry.payment_id == 5
        code = session.get(SmsCode, 2)
        assert code is not None and code.ticket_hash is None
        counter = session.get(RateCounter, "k")
        assert counter is not None and (counter.count, counter.last_at) == (3, None)
    with engine.begin() as connection:  # the same keys for another buyer
        connection.execute(
            text(
                "INSERT INTO payments (id, out_trade_no, trade_no, post_id, buyer_id, amount_fen,"
                " body, spbill_create_ip, prepay_id, status, created_at, updated_at) VALUES"
                " (10, 'T5', 'other', 3, 8, 19900, 'b', '127.0.0.1', 'wx2', 'pending', :now, :now)"
            ),
            {"now": T0},
        )
        connection.execute(
            text(
                "INSERT INTO orders (id, order_no, post_id, buyer_id, consultant_id, price_fen,"
                " status, client_create_time, created_at, updated_at) VALUES (11, 'O6', 3, 8, 4,"
                " 19900, 'cancelled', '2017-06-25 05:17:51', :now, :now)"
            ),
            {"now": T0},
        )
    assert not pending(engine)
    with res.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
