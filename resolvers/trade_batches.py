"""`addTrades`: validate the whole batch, authorize it, write it at once; the relay places the
committed trades in the live feed."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from db import data_versions, idempotency, trades, users
from db.models import TradeRecord, UserRecord
from db.types import utcnow
from schema.errors import BadUserInput, Conflict, Forbidden
from schema.inputs import TradeInput
from schema.models import TradeCreate
from schema.validation import describe
from services import Services

MAX_KEY_LENGTH = 255


def validate_batch(inputs: list[TradeInput], viewer: UserRecord) -> list[TradeCreate]:
    """Every trade is checked before any is written; all problems are reported at once.

    How many trades a call may carry is checked before they are coerced (the mutation's Price).
    """
    batch: list[TradeCreate] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(inputs):
        try:
            trade = item.to_pydantic()
        except ValidationError as error:
            for detail in error.errors():
                field, message = describe(detail)
                problems.append({"index": index, "field": field, "message": message})
            continue
        # No userId: the signed-in user's own trade.
        batch.append(
            trade if trade.user_id is not None else trade.model_copy(update={"user_id": viewer.id})
        )
    if problems:
        first = problems[0]
        raise BadUserInput(
            f"trades[{first['index']}].{first['field']}: {first['message']}",
            argument="trades",
            errors=problems,
        )
    for index, trade in enumerate(batch):
        if trade.user_id != viewer.id and not viewer.is_admin:
            raise Forbidden(
                f"trades[{index}].userId: only admins may add trades for another user",
                argument="trades",
            )
    return batch


def _request_hash(batch: list[TradeCreate]) -> str:
    canonical = json.dumps([t.model_dump(mode="json") for t in batch], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def add_trades(
    services: Services, viewer: UserRecord, batch: list[TradeCreate], key: str | None
) -> list[TradeRecord]:
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise BadUserInput(
            f"idempotencyKey: 1 to {MAX_KEY_LENGTH} characters", argument="idempotencyKey"
        )
    request_hash = _request_hash(batch)
    ttl = timedelta(hours=services.settings.idempotency_ttl_hours)
    try:
        async with services.sessions() as session:
            if key is not None and (
                previous := await _replay(session, viewer, key, request_hash, ttl)
            ):
                return previous
            await _check_traders(session, batch)
            # Columns by the inputs' names (Side is a str enum: stored as its value); columns
            # that are not inputs take their defaults.
            added = await trades.insert_trades(session, [t.model_dump() for t in batch])
            if key is not None:
                await idempotency.record(
                    session,
                    user_id=viewer.id,
                    key=key,
                    request_hash=request_hash,
                    trade_ids=[t.id for t in added],
                )
            await data_versions.bump(session, data_versions.TRADES)
            # The trades are their own outbox entries: the relay places them once committed.
            await session.commit()
        services.relay.trades_committed()
    except IntegrityError:
        if key is None:
            raise
        # A concurrent call with the same key committed first; this one rolled back whole.
        async with services.sessions() as session:
            previous = await _replay(session, viewer, key, request_hash, ttl)
        if previous is None:
            raise
        return previous
    return added


async def _replay(
    session: Any, viewer: UserRecord, key: str, request_hash: str, ttl: timedelta
) -> list[TradeRecord] | None:
    found = await idempotency.find(session, viewer.id, key, not_before=utcnow() - ttl)
    if found is None:
        return None
    if found.request_hash != request_hash:
        raise Conflict(
            "idempotencyKey was already used with different trades", argument="idempotencyKey"
        )
    by_id = {t.id: t for t in await trades.trades_by_ids(session, found.trade_ids)}
    return [by_id[trade_id] for trade_id in found.trade_ids if trade_id in by_id]


async def _check_traders(session: Any, batch: list[TradeCreate]) -> None:
    """BAD_USER_INPUT for a trade whose user id has no user."""
    wanted = {t.user_id for t in batch if t.user_id is not None}
    found = {u.id: u for u in await users.users_by_ids(session, list(wanted))}
    for index, trade in enumerate(batch):
        if trade.user_id not in found:
            raise BadUserInput(
                f"trades[{index}].userId: there is no user {trade.user_id}", argument="trades"
            )
