"""data versions: how often each table's data changed, bumped in the writing transaction, for
cache keys

Revision ID: da7a0e5a0013
Revises: 0e13f00d0001
Create Date: 2026-11-30 00:10:00.000000+00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "da7a0e5a0013"
down_revision: str | None = "0e13f00d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tags as of this revision (db/data_versions.py TAGS).
TAGS = ("degrees", "trades", "users")


def upgrade() -> None:
    table = op.create_table(
        "data_versions",
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("tag", "shard", name=op.f("pk_data_versions")),
    )
    # Each database starts its versions at a random point: a new database next to a Redis that
    # still holds another one's entries builds none of their keys.
    op.bulk_insert(
        table,
        [{"tag": tag, "shard": 0, "version": secrets.randbelow(2**40)} for tag in TAGS],
    )


def downgrade() -> None:
    op.drop_table("data_versions")
