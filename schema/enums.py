"""GraphQL enums; their values are the Pydantic enums', so a Side is a Side everywhere."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema import models

Side = strawberry.enum(models.Side, name="Side")
DegreeName = strawberry.enum(models.DegreeName, name="DegreeName")


@strawberry.enum
class JobStatus(Enum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"
    NOT_FOUND = "not_found"
