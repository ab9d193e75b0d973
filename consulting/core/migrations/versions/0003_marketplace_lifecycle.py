"""marketplace lifecycle: holds that expire, payments that expire

``posts.held_until``: while a consultant holds a post and its buyer has not recorded the order,
when it goes back to the others. ``payments.expires_at``: when a payment still pending has
failed. Both nullable: the rows written before this migration neither expire nor are held (a
post taken before it keeps its consultant until an order is recorded, cancelled or finished,
or the consultant releases it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COLUMNS = [("posts", "held_until"), ("payments", "expires_at")]


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # In place on every database (SQLite 3.35+): copying posts would break the foreign keys of
    # the rows that point at it.
    for table, column in reversed(COLUMNS):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
