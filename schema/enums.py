"""GraphQL enums; their values are the Pydantic enums', so a Side is a Side everywhere."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.models import CandleInterval, DegreeName, Side

strawberry.enum(Side)
strawberry.enum(CandleInterval)
strawberry.enum(DegreeName)


@strawberry.enum
class JobStatus(Enum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"
    NOT_FOUND = "not_found"


__all__ = ["CandleInterval", "DegreeName", "JobStatus", "Side"]
