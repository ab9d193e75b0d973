"""scale: indexes for every list's cursor and for housekeeping, and the leases table

- ``ix_orders_buyer_listing`` (buyer_id, id) and ``ix_posts_consultant_listing``
  (consultant_id, status, id): the buyer's order list and the consultant's held posts walk an
  index from the cursor, newest first, like the other lists (the held posts among the
  consultant's taken ones only, not their whole history).
- ``expires_at`` of sessions and SMS codes, ``window_start`` of rate counters: prune finds the
  spent rows without reading the live ones.
- ``leases``: one process at a time runs a periodic job (services.housekeeping).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_orders_buyer_listing", "orders", ["buyer_id", "id"]),
    ("ix_posts_consultant_listing", "posts", ["consultant_id", "status", "id"]),
    ("ix_auth_sessions_expires_at", "auth_sessions", ["expires_at"]),
    ("ix_sms_codes_expires_at", "sms_codes", ["expires_at"]),
    ("ix_rate_counters_window_start", "rate_counters", ["window_start"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        "leases",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    bind = op.get_bind()
    if bind.dialect.name == "mysql":
        # MariaDB drops the index it made for the foreign key posts.consultant_id when
        # ix_posts_consultant_listing can serve it, and then refuses to drop that one without
        # another: put its own back first, under the name it had (unless it is still there).
        others = [
            index["name"]
            for index in sa.inspect(bind).get_indexes("posts")
            if index["column_names"][:1] == ["consultant_id"]
            and index["name"] != "ix_posts_consultant_listing"
        ]
        if not others:
            op.create_index("consultant_id", "posts", ["consultant_id"])
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
