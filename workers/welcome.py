"""The welcome notification job, and the pluggable sender that delivers notifications."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import notifications, users
from workers.retries import retry_for

MAX_TRIES = 5
# Mail servers answer within seconds or not at all: a slow one is a transient failure, retried.
TIMEOUT_SECONDS = 30
SUBJECT = "Welcome to the Trading API"
BODY = (
    "Hello {name},\n\n"
    "your account is ready: sign in, add your trades, and ask for a trade report any time.\n"
)


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


class Sender(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver one message; raise OSError (ConnectionError, TimeoutError) to be retried."""


class DatabaseSender:
    """The default: the notifications row is the message, read in the app, so nothing more
    leaves the database and no mail server is needed."""

    async def send(self, message: Message) -> None:
        """Nothing to do: recording the row was the delivery."""


async def send_welcome(ctx: dict[str, Any], user_id: int) -> None:
    """Job: record the user's welcome and deliver it through ctx['sender'].

    Safe to run twice, even at once: the welcome is recorded once per user (a unique index) and
    sent once (claimed in the transaction that sends it). Transient failures are retried.
    """
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    sender: Sender = ctx["sender"]
    try:
        async with sessions.begin() as session:
            found = await users.users_by_ids(session, [user_id])
            user = found[0] if found else None
            if user is None or user.email is None:
                return  # the account is gone: nobody to greet
            welcome = await notifications.add_welcome(
                session, user_id=user_id, subject=SUBJECT, body=BODY.format(name=user.name)
            )
        # Recorded above in a transaction of its own, so a welcome never sent still shows. Claimed
        # and sent in this one (on SQLite under the write lock: the default sender is instant).
        async with sessions.begin() as session:
            if not await notifications.claim_unsent(session, welcome.id):
                return
            message = Message(to=user.email, subject=welcome.subject, body=welcome.body)
            async with asyncio.timeout(TIMEOUT_SECONDS):
                await sender.send(message)
    except Exception as error:
        if (retry := retry_for(ctx, error, max_tries=MAX_TRIES)) is not None:
            raise retry from error
        raise
