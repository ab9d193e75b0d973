"""security findings of issue 14

- ``order_no`` and ``out_trade_no`` are unique per buyer, not across buyers; a payment gets a
  merchant trade number of the server's own (``trade_no``, unique), which the provider is given
  and its notify names. Existing payments keep their ``out_trade_no`` as that number, so a
  notify for a payment made before this migration still finds it.
- The phone ticket of signin: ``sms_codes.ticket_hash``, ``ticket_role``, ``ticket_used_at``.
- ``rate_counters.last_at``: when the last hit was taken (the growing login delay, the SMS
  resend interval).

SQLite cannot drop a table's own UNIQUE constraint: ``orders`` and ``payments`` are copied
(alembic's batch mode). Dropping the old ``payments`` would orphan the ledger entries that point
at it (foreign keys are on, and a deferred check is not undone by the copy's rename), so on
SQLite the ledger's rows are set aside in a temporary table while payments is copied.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00.000000
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite reflects the old UNIQUE constraints without a name: batch mode names them by this.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}

# (table, client key column, the constraint per buyer)
CLIENT_KEYS = [
    ("orders", "order_no", "uq_orders_buyer_order_no"),
    ("payments", "out_trade_no", "uq_payments_buyer_out_trade_no"),
]


def _unique_named(table: str, columns: list[str]) -> str | None:
    """The database's own name for the UNIQUE constraint on exactly ``columns`` (None: unnamed)."""
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if constraint["column_names"] == columns:
            name: str | None = constraint["name"]
            return name
    raise LookupError(f"no unique constraint on {table}({', '.join(columns)})")


@contextmanager
def _copying(table: str) -> Iterator[None]:
    """Around a batch block that may copy ``table``: on SQLite, the ledger's rows (which point at
    payments) wait in a temporary table, so that dropping the old copy orphans none."""
    if table != "payments" or op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute("CREATE TEMPORARY TABLE ledger_aside AS SELECT * FROM ledger_entries")
    op.execute("DELETE FROM ledger_entries")
    yield
    op.execute("INSERT INTO ledger_entries SELECT * FROM ledger_aside")
    op.execute("DROP TABLE ledger_aside")


def upgrade() -> None:
    with op.batch_alter_table("payments", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("trade_no", sa.String(length=32), nullable=True))
    op.execute("UPDATE payments SET trade_no = out_trade_no")
    for table, column, per_buyer in CLIENT_KEYS:
        old = _unique_named(table, [column]) or f"uq_{table}_{column}"
        with _copying(table), op.batch_alter_table(table, naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint(old, type_="unique")
            batch_op.create_unique_constraint(per_buyer, ["buyer_id", column])
            if table == "payments":
                batch_op.alter_column("trade_no", existing_type=sa.String(32), nullable=False)
                batch_op.create_unique_constraint("uq_payments_trade_no", ["trade_no"])
    with op.batch_alter_table("sms_codes") as batch_op:
        batch_op.add_column(sa.Column("ticket_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ticket_role", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("ticket_used_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("rate_counters") as batch_op:
        batch_op.add_column(sa.Column("last_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Back to keys unique across buyers: fails if two buyers now share one, as it should."""
    with op.batch_alter_table("rate_counters") as batch_op:
        batch_op.drop_column("last_at")
    with op.batch_alter_table("sms_codes") as batch_op:
        batch_op.drop_column("ticket_used_at")
        batch_op.drop_column("ticket_role")
        batch_op.drop_column("ticket_hash")
    for table, column, per_buyer in CLIENT_KEYS:
        with _copying(table), op.batch_alter_table(table, naming_convention=NAMING) as batch_op:
            batch_op.drop_constraint(per_buyer, type_="unique")
            if table == "payments":
                batch_op.drop_constraint("uq_payments_trade_no", type_="unique")
                batch_op.drop_column("trade_no")
            batch_op.create_unique_constraint(f"uq_{table}_{column}", [column])
