"""The version of each table's data, kept in the database next to the data it versions.

A write bumps the tags of the tables it changes inside its own transaction, as its last
statement before commit. Readers get every tag's version in a statement they send anyway (the
session check) and build cache keys from them: a reader that can see a commit builds keys that
no entry made before that commit has, on every process, whatever Redis did meanwhile.

Versions only grow, and a statement sees one snapshot, in which the commits it sees are a prefix
of all commits: so equal versions mean no write of that table between the two snapshots.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Dialect, Label, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DataVersion, Degree, Trade, User

# A tag is the name of the table whose rows it versions (compiled queries know those names).
DEGREES, TRADES, USERS = Degree.__tablename__, Trade.__tablename__, User.__tablename__
TAGS = (DEGREES, TRADES, USERS)
# Rows per tag. A writer holds the row it bumped until it commits: with one row per tag, every
# `addTrades` would wait for the commit of the one before it. (Taking a row no one holds, with
# FOR UPDATE SKIP LOCKED, measured slower than a random one: the lock is one more write.)
SHARDS = 32

Versions = Mapping[str, int]


async def bump(session: AsyncSession, *tags: str) -> None:
    """Add 1 to the version of each tag in this transaction. Call it once per transaction, as the
    last statement before commit: the row it takes stays locked until then. Rows are taken in
    one order (tags sorted, one shard), so two writers never wait for each other in opposite
    orders."""
    # Spreads writers over the shards; not a secret.
    shard = random.randrange(SHARDS)  # noqa: S311
    upsert = _insert_for(session.get_bind().dialect)
    for tag in sorted(set(tags)):
        statement = upsert(DataVersion).values(tag=tag, shard=shard, version=1)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[DataVersion.tag, DataVersion.shard],
                set_={"version": DataVersion.version + 1},
            )
        )


def columns() -> list[Label[int]]:
    """Every tag's version (in TAGS order) as columns to add to a statement sent anyway."""
    return [
        select(cast(func.coalesce(func.sum(DataVersion.version), 0), BigInteger))
        .where(DataVersion.tag == tag)
        .scalar_subquery()
        .label(f"version_{tag}")
        for tag in TAGS
    ]


def from_mapping(row: Mapping[Any, Any]) -> dict[str, int]:
    """The versions a row read with `columns()` holds, by tag."""
    return {tag: int(row[f"version_{tag}"]) for tag in TAGS}


def _insert_for(dialect: Dialect) -> Any:
    """INSERT with ON CONFLICT DO UPDATE, which each database spells through its own dialect."""
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert
