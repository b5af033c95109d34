"""Notifications: recorded once, then stamped as sent in the transaction that sends them."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import WELCOME, Notification
from db.types import utcnow


async def _welcome_of(session: AsyncSession, user_id: int) -> Notification | None:
    query = select(Notification).where(
        Notification.user_id == user_id, Notification.kind == WELCOME
    )
    return (await session.execute(query)).scalar_one_or_none()


async def add_welcome(
    session: AsyncSession, *, user_id: int, subject: str, body: str
) -> Notification:
    """The user's welcome: the one already recorded, or a new one.

    The unique index settles a race with a concurrent run of the same job: the loser reads the
    winner's row.
    """
    if (found := await _welcome_of(session, user_id)) is not None:
        return found
    notification = Notification(user_id=user_id, kind=WELCOME, subject=subject, body=body)
    try:
        async with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        if (found := await _welcome_of(session, user_id)) is not None:
            return found
        raise
    return notification


async def claim_unsent(session: AsyncSession, notification_id: int) -> bool:
    """Stamp it sent, unless it already is; False when it was.

    Call it in the transaction that sends it: a concurrent claim waits for that transaction to end
    and then finds it sent, and a failed send rolls the stamp back for the next try.
    """
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.sent_at.is_(None))
        .values(sent_at=utcnow())
        .returning(Notification.id)
    )
    return result.first() is not None
