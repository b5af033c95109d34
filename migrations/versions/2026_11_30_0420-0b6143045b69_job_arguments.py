"""job arguments: a job's record keeps the keyword arguments it is called with, and the outbox
hands jobs on by name

Revision ID: 0b6143045b69
Revises: da7a0e5a0013
Create Date: 2026-11-30 04:20:00.000000+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0b6143045b69"
down_revision: str | None = "da7a0e5a0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision: the tables' columns this migration reads and writes.
jobs = sa.table(
    "jobs",
    sa.column("id", sa.String),
    sa.column("user_id", sa.Integer),
    sa.column("arguments", sa.JSON),
)
outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("topic", sa.String),
    sa.column("payload", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arguments", sa.JSON(), nullable=True))
    # Every recorded job so far was a report, called with its user.
    build = "json_build_object" if op.get_bind().dialect.name == "postgresql" else "json_object"
    op.execute(f"UPDATE jobs SET arguments = {build}('user_id', user_id)")  # noqa: S608 - a name
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("arguments", existing_type=sa.JSON(), nullable=False)
    # Jobs still waiting in the outbox: {"argument": the record's id, or a welcome's user id}
    # becomes {"arguments": the call's keyword arguments}.
    for message_id, payload in _jobs_waiting():
        if "argument" not in payload:
            continue
        argument = payload.pop("argument")
        if argument != payload["job_id"]:
            payload["arguments"] = {"user_id": argument}
        elif (arguments := _recorded_arguments(argument)) is not None:
            payload["arguments"] = arguments
        else:  # the record went with its user's account: nothing left to run
            op.get_bind().execute(outbox.delete().where(outbox.c.id == message_id))
            continue
        _rewrite(message_id, payload)


def downgrade() -> None:
    for message_id, payload in _jobs_waiting():
        arguments = payload.pop("arguments", None)
        if arguments is None:
            continue
        recorded = _recorded_arguments(payload["job_id"]) is not None
        payload["argument"] = payload["job_id"] if recorded else arguments["user_id"]
        _rewrite(message_id, payload)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("arguments")


def _jobs_waiting() -> list[tuple[int, dict[str, Any]]]:
    query = sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.topic == "job")
    return [(row.id, dict(row.payload)) for row in op.get_bind().execute(query)]


def _recorded_arguments(job_id: str) -> dict[str, Any] | None:
    query = sa.select(jobs.c.arguments).where(jobs.c.id == job_id)
    arguments: dict[str, Any] | None = op.get_bind().execute(query).scalar_one_or_none()
    return arguments


def _rewrite(message_id: int, payload: dict[str, Any]) -> None:
    op.get_bind().execute(outbox.update().where(outbox.c.id == message_id).values(payload=payload))
