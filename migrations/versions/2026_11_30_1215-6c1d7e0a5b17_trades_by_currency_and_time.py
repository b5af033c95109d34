"""trades by currency and time: the `candles` query reads one currency's trades in a time range

Without it PostgreSQL reads every trade of the currency and filters them by time: EXPLAIN ANALYZE
over 500,000 trades read 100,000 rows for the 479 of the last two hours (65 ms); with it, the
479 (1 ms).

Revision ID: 6c1d7e0a5b17
Revises: 0b6143045b69
Create Date: 2026-11-30 12:15:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "6c1d7e0a5b17"
down_revision: str | None = "0b6143045b69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trades_currency_created_at", "trades", ["currency", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_trades_currency_created_at", table_name="trades")
