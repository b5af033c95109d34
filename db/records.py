"""Plain rows the data layer hands upward: no ORM identity map on the read paths."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str | None  # None in records cached for viewers who may not see it
    name: str
    role: str
    is_active: bool
    registered_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class TradeRecord:
    id: int
    user_id: int
    currency: str
    side: str
    price: Decimal
    amount: Decimal
    created_at: datetime
    # Its place in the live feed; None until the feed's relay has given it one (db/feed.py).
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class DegreeRecord:
    id: int
    user_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JobSummary:
    """A job's record without its result: what the admins' job list shows."""

    id: str
    kind: str
    user_id: int
    status: str
    tries: int
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
