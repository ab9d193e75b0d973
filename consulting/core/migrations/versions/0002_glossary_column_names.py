"""column names from the glossary

The code calls the buyer ``buyer``, money in fen ``*_fen`` and a post's text ``details``
(docs/architecture.md, "Glossary"); the columns follow. The API keeps the source's names
(``user_id``, ``total_fee``, ``content``) at its edge. Renames only: no data changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old name, new name). RENAME COLUMN in place on all three databases (SQLite 3.25+,
# MariaDB 10.5+): no table is copied, so foreign keys that point at it stay satisfied, and
# SQLite updates the indexes that name the column.
RENAMES = [
    ("posts", "user_id", "buyer_id"),
    ("posts", "content", "details"),
    ("orders", "user_id", "buyer_id"),
    ("payments", "user_id", "buyer_id"),
    ("payments", "total_fee", "amount_fen"),
]


# Indexes named after the old columns; renamed in place (MariaDB refuses to drop the index a
# foreign key relies on). SQLite has no RENAME INDEX: dropped and made again.
INDEXES = [
    ("posts", "ix_posts_user_listing", "ix_posts_buyer_listing", ["buyer_id", "deleted_at", "id"]),
    ("orders", "ix_orders_user_id", "ix_orders_buyer_id", ["buyer_id"]),
]


def _rename_columns(reverse: bool) -> None:
    for table, old, new in RENAMES:
        source, target = (new, old) if reverse else (old, new)
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {source} TO {target}")


def _rename_indexes(reverse: bool) -> None:
    dialect = op.get_bind().dialect.name
    for table, old, new, columns in INDEXES:
        source, target = (new, old) if reverse else (old, new)
        if dialect == "postgresql":
            op.execute(f"ALTER INDEX {source} RENAME TO {target}")
        elif dialect in ("mysql", "mariadb"):
            op.execute(f"ALTER TABLE {table} RENAME INDEX {source} TO {target}")
        else:
            names = [c.replace("buyer_id", "user_id") for c in columns] if reverse else columns
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_index(source)
                batch_op.create_index(target, names, unique=False)


def _rename_foreign_key_indexes(reverse: bool) -> None:
    """MariaDB made an index of its own for each foreign key that had none when the table was
    created, named after the column: it follows the column's new name."""
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, old, new in RENAMES:
        source, target = (new, old) if reverse else (old, new)
        found = op.get_bind().exec_driver_sql(
            f"SHOW INDEX FROM {table} WHERE Key_name = %s", (source,)
        )
        if found.first() is not None:
            op.execute(f"ALTER TABLE {table} RENAME INDEX {source} TO {target}")


def upgrade() -> None:
    _rename_columns(reverse=False)
    _rename_indexes(reverse=False)
    _rename_foreign_key_indexes(reverse=False)


def downgrade() -> None:
    _rename_columns(reverse=True)
    _rename_indexes(reverse=True)
    _rename_foreign_key_indexes(reverse=True)
