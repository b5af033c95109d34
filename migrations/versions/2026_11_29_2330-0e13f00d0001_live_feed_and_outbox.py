"""live feed and outbox: trades get their place in the feed after commit; an outbox for jobs and
ended sessions

Revision ID: 0e13f00d0001
Revises: c5c19b59b27d
Create Date: 2026-11-29 23:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0e13f00d0001"
down_revision: str | None = "c5c19b59b27d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_trades_seq"), ["seq"])
    # Trades committed before the feed had positions keep their order: by id.
    op.execute("UPDATE trades SET seq = id")
    op.create_index(
        "ix_trades_unsequenced",
        "trades",
        ["id"],
        unique=False,
        sqlite_where=sa.text("seq IS NULL"),
        postgresql_where=sa.text("seq IS NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_index("ix_trades_unsequenced", table_name="trades")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_trades_seq"), type_="unique")
        batch_op.drop_column("seq")
