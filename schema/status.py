"""The admins' `systemStatus`: what runs, whether it is migrated, what it depends on."""

from __future__ import annotations

import strawberry


@strawberry.type(description="Versions of the running API process.")
class SystemVersions:
    app: str = strawberry.field(description="This API's version (pyproject.toml).")
    python: str
    strawberry: str
    sqlalchemy: str


@strawberry.type(description="Alembic: the newest migration in the code and the database's.")
class MigrationStatus:
    head: str | None = strawberry.field(description="The newest revision this code ships.")
    current: str | None = strawberry.field(
        description="The revision the database is at; null when it cannot be read."
    )
    up_to_date: bool = strawberry.field(description="The database is at the head revision.")


@strawberry.type(description="Whether a dependency answered this process, and how fast.")
class DependencyStatus:
    reachable: bool
    latency_ms: float | None = strawberry.field(description="One round trip, in milliseconds.")
    error: str | None = strawberry.field(description="The kind of failure, when unreachable.")


@strawberry.type(description="Background jobs: who runs them, how many wait, whether workers live.")
class JobRunnerStatus:
    runner: str = strawberry.field(
        description="'arq' (workers, with REDIS_URL) or 'in-process' (tasks of the API process)."
    )
    queue_depth: int | None = strawberry.field(
        description="Jobs waiting in arq's queue; in-process: jobs this process runs now. Null "
        "when Redis does not answer."
    )
    workers: int | None = strawberry.field(
        description="arq workers whose heartbeat is recent; 0: no worker runs jobs, they wait in "
        "the queue. Null in-process or when Redis does not answer."
    )
    heartbeat_age_seconds: float | None = strawberry.field(
        description="Seconds since the freshest arq worker heartbeat; null when none is alive "
        "or the jobs run in-process."
    )
    lost_workers: int | None = strawberry.field(
        description="arq workers that went silent without shutting down (killed, crashed or cut "
        "off from Redis) in the last hour; live workers run their jobs again. Null in-process or "
        "when Redis does not answer."
    )


@strawberry.type(description="Health and versions of the system, as this process sees it.")
class SystemStatus:
    versions: SystemVersions
    migrations: MigrationStatus
    database: DependencyStatus
    redis: DependencyStatus | None = strawberry.field(
        description="Null when the API runs without REDIS_URL."
    )
    jobs: JobRunnerStatus
