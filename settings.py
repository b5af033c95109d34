"""The one settings object, read from the environment and a `.env` file; nothing else reads them."""

from __future__ import annotations

import os
import secrets
import time
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    SettingsConfigDict,
)

# Development keeps its generated signing key here (git-ignored), so restarts and several
# processes started from the same checkout agree on it.
DEV_SECRET_FILE = Path(__file__).with_name(".jwt_secret")
# HS256 keys shorter than the hash (32 bytes) are weak, and pyjwt warns about them.
MIN_SECRET_LENGTH = 32
# A production key must look random, not like "aaaa...": this many distinct characters at least.
MIN_DISTINCT_CHARACTERS = 12
# Where Vite (and many dev servers after it) serves a page by default, on either name of this
# machine: the origins development allows when CORS_ORIGINS is not set.
DEVELOPMENT_CORS_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")
_LOOPBACK: list[IPv4Network | IPv6Network] = [IPv4Network("127.0.0.0/8"), IPv6Network("::1/128")]
# The drivers installed: DATABASE_URL names one of them, REDIS_URL one of redis-py's schemes.
DATABASE_SCHEMES = ("postgresql+asyncpg", "sqlite+aiosqlite")
REDIS_SCHEMES = ("redis", "rediss", "unix")
# The display name of the account FIRST_ADMIN_EMAIL creates.
FIRST_ADMIN_NAME = "Admin"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class PersistedQueries(StrEnum):
    OFF = "off"
    AUTOMATIC = "automatic"
    REGISTERED = "registered"


class Settings(BaseSettings):
    # An error's text leaves out the input: pydantic would print every setting given, secrets
    # included, under a rule on several fields (and tracebacks are logged).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    database_url: str = "sqlite+aiosqlite:///./trading.db"
    redis_url: str | None = None
    # Database connections: how many, and how long to wait before failing instead of hanging.
    db_pool_size: int = Field(default=10, gt=0)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=2, gt=0)
    db_connect_timeout_seconds: float = Field(default=3, gt=0)
    db_statement_timeout_seconds: float = Field(default=30, gt=0)
    # Query result cache: Redis when REDIS_URL is set, else an in-process LRU. 0 turns it off.
    cache_ttl_seconds: int = Field(default=60, ge=0)
    # The in-process LRU's bound; with Redis, the bound of the first level in front of it.
    cache_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # Redis must answer within this, or the cache steps aside and the database answers.
    cache_timeout_ms: int = Field(default=50, gt=0)
    environment: Environment = Environment.DEVELOPMENT
    jwt_secret: SecretStr | None = None
    # The key before the last rotation: its tokens stay valid until they expire.
    jwt_previous_secret: SecretStr | None = None
    jwt_lifetime_minutes: int = Field(default=60 * 12, gt=0)
    jwt_audience: str = "trading-api"
    jwt_issuer: str = "trading-api"
    # Pages on other origins that may call the API with the user's cookie. Unset: none in
    # production, Vite's dev server (DEVELOPMENT_CORS_ORIGINS) in development.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None
    # Demo accounts and trades are loaded by `make run` in development only.
    demo_data: bool = True
    # Background jobs: arq workers when REDIS_URL is set, else tasks of the API process.
    # Longest a trade report may run; a try that times out is retried like a lost connection.
    job_timeout_seconds: float = Field(default=300, gt=0)
    # First wait before retrying a transient failure; it doubles with every try.
    job_retry_delay_seconds: float = Field(default=1, gt=0)
    # Each arq worker writes a heartbeat into Redis this often. One silent for
    # worker_stale_seconds is dead (killed, crashed, or cut off from Redis): /readyz and
    # systemStatus say so, and live workers run the jobs it was running again.
    worker_heartbeat_seconds: float = Field(default=3, gt=0)
    worker_stale_seconds: float = Field(default=10, gt=0)
    # The hourly purge deletes rows older than these.
    idempotency_ttl_hours: int = Field(default=24, gt=0)
    notification_retention_days: int = Field(default=30, gt=0)
    job_retention_days: int = Field(default=30, gt=0)

    # Live trades over WebSocket (graphql-transport-ws). The legacy graphql-ws protocol of
    # subscriptions-transport-ws stays off unless enabled: it has a history of auth bypasses.
    ws_legacy_protocol: bool = False
    # A socket that has not sent connection_init by then is closed with 4408.
    ws_init_timeout_seconds: float = Field(default=10, gt=0)
    # Operations at once on one socket; more are answered with an error.
    ws_max_subscriptions: int = Field(default=20, gt=0)
    # Signed-in sockets one user may hold open on one API process (counted per process: with
    # N processes a user may hold up to N times this); more are closed with 1013 at init.
    ws_max_sockets_per_user: int = Field(default=10, gt=0)
    # New sockets one user may open per minute, on every process together (a reconnect loop).
    ws_max_new_sockets_per_minute: int = Field(default=60, gt=0)
    # Trades a subscriber may fall behind before its socket is closed with 1013 (try again
    # later); keep it above the largest batch (1,000 trades) a subscriber should absorb.
    ws_subscriber_queue: int = Field(default=5_000, gt=0)
    # permessage-deflate, which browsers offer on every socket: a trade's `next` is a few hundred
    # bytes, and compressing it costs each socket tens of kB for its compressor and each delivery
    # a large share of its CPU (bench/RESULTS.md). On for clients on thin links that select
    # large payloads.
    ws_per_message_deflate: bool = False
    # The live feed (events/feed.py, events/relay.py): how often each process looks in the
    # database for trades it did not hear of through Redis and for undelivered outbox messages,
    # and how many trades `tradeAdded(after:)` may replay before the client is told to refetch.
    feed_poll_seconds: float = Field(default=1.0, gt=0)
    feed_max_replay: int = Field(default=10_000, gt=0)

    # Failed sign-ins (and those being verified) allowed per account and per client address in
    # a window; then 429 without verifying.
    login_max_failures_per_account: int = Field(default=5, gt=0)
    login_max_failures_per_address: int = Field(default=20, gt=0)
    login_failure_window_seconds: int = Field(default=900, gt=0)
    # Registrations allowed per client address in a window (each costs an argon2 hash); then 429.
    register_max_per_address: int = Field(default=10, gt=0)
    register_window_seconds: int = Field(default=3600, gt=0)
    # argon2 hashes and verifications running at once (64 MiB and most of a core each); more
    # wait their turn. Half the machine's cores by default, leaving the rest to requests.
    password_hash_concurrency: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 1) // 2), gt=0
    )
    # Trade reports a user may request in a window; then the RATE_LIMITED error.
    report_max_requests_per_user: int = Field(default=10, gt=0)
    report_window_seconds: int = Field(default=3600, gt=0)
    # Query limits: operations beyond them are refused before they run (docs/security.md).
    graphql_max_depth: int = Field(default=10, gt=0)
    graphql_max_aliases: int = Field(default=30, gt=0)
    # Parsing stops beyond this many tokens; large trade batches belong in variables.
    graphql_max_tokens: int = Field(default=5_000, gt=0)
    # Documents (the `query` text) beyond this are refused unparsed: parsing costs about a
    # microsecond per character, comments included.
    graphql_max_document_bytes: int = Field(default=65_536, gt=0)
    # Comparisons of same-named fields GraphQL's overlapping-fields rule may make (it compares
    # every pair): `me { name }` a hundred times is 10,000.
    graphql_max_overlap_pairs: int = Field(default=10_000, gt=0)
    # Memory for parsed and checked documents, and for the compiled path's statements, each.
    graphql_document_cache_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    # Fields an operation may resolve, list limits multiplied through nesting.
    graphql_max_cost: int = Field(default=10_000, gt=0)
    # What one user's live subscriptions may cost together per event, in one process: they run
    # for every trade, as long as they live.
    graphql_max_live_cost: int = Field(default=500, gt=0)
    # Request bodies beyond this are refused with 413 before they are read whole; WebSocket
    # messages beyond it close the socket (`python -m web.server` passes it to uvicorn).
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # Connections (web/server.py): one idle this long after a response is closed; a request's
    # headers and body must arrive within the read timeout (slowloris).
    http_idle_timeout_seconds: int = Field(default=5, gt=0)
    http_read_timeout_seconds: float = Field(default=10, gt=0)
    # Requests in flight per process (web/load_shedding.py); more are answered 503 with
    # Retry-After at once. One process's goodput peaks at 8-16 cheap requests in flight on a
    # 2-core machine (python -m bench.overload); twice that leaves room for requests that wait
    # on the database rather than the CPU. 0 turns the limit off.
    max_concurrent_requests: int = Field(default=32, ge=0)
    # Introspection, GraphiQL and "Did you mean" suggestions: on in development, off in
    # production unless set.
    graphql_introspection: bool | None = None
    graphql_ide: bool | None = None
    # Plain-data queries answered by one SQL statement whose JSON the database builds
    # (fastpath/); off, every request goes through Strawberry's executor.
    graphql_compiled_queries: bool = True
    # Apollo's persisted queries (web/persisted_queries.py): `automatic` stores documents by
    # their sha256 as clients send them (APQ), `registered` runs only the operations of
    # PERSISTED_QUERY_MANIFEST (the file Apollo's generate-persisted-query-manifest writes),
    # `off` answers PersistedQueryNotSupported.
    persisted_queries: PersistedQueries = PersistedQueries.AUTOMATIC
    persisted_query_manifest: Path | None = None
    # Memory for automatic persisted queries' documents: in Redis with REDIS_URL (shared by
    # every process), else in-process; the oldest are forgotten first.
    persisted_queries_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    # How long a CDN or browser may reuse an anonymous answer to a persisted query sent by GET.
    persisted_queries_max_age_seconds: int = Field(default=60, ge=0)
    # The live trades page at `/` (web/live/): on in development, off in production unless set.
    live_page: bool | None = None
    # /docs, /redoc and /openapi.json: on in development, off in production unless set.
    rest_docs: bool | None = None

    # Observability (docs/operations.md). Log lines as JSON objects or text; JSON in
    # production unless set.
    log_format: Literal["json", "text"] | None = None
    # The root logger's level; `debug` also prints the traceback under a start-up problem
    # (startup.py), which is otherwise told in one line.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # /metrics answers clients on these networks, or presenting this bearer token.
    metrics_token: SecretStr | None = None
    metrics_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: _LOOPBACK.copy()
    )
    # prometheus-client's multiprocess mode (several uvicorn workers): a directory of its own,
    # emptied before the processes start; prometheus-client reads the variable itself too.
    prometheus_multiproc_dir: str | None = None

    @field_validator("cors_origins", "metrics_allowed_networks", mode="before")
    @classmethod
    def _split_origins(cls, origins: object) -> object:
        if isinstance(origins, str):
            return [o.strip() for o in origins.split(",") if o.strip()]
        return origins

    @field_validator("database_url", mode="after")
    @classmethod
    def _installed_driver(cls, url: str) -> str:
        if urlsplit(url).scheme not in DATABASE_SCHEMES:
            raise ValueError(
                "must look like postgresql+asyncpg://user:password@host:5432/dbname or"
                " sqlite+aiosqlite:///./trading.db"
            )
        return url

    @field_validator("redis_url", mode="after")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        if url and urlsplit(url).scheme not in REDIS_SCHEMES:
            raise ValueError("must look like redis://host:6379/0 (rediss:// for TLS)")
        return url

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, level: object) -> object:
        return level.lower() if isinstance(level, str) else level

    @field_validator("cors_origins", mode="after")
    @classmethod
    def _normalize_origins(cls, origins: list[str]) -> list[str]:
        return [_origin(o) for o in origins]

    @model_validator(mode="after")
    def _development_origins(self) -> Settings:
        # Set (even empty), CORS_ORIGINS is taken as it is, in every environment.
        if "cors_origins" not in self.model_fields_set and not self.is_production:
            self.cors_origins = list(DEVELOPMENT_CORS_ORIGINS)
        return self

    @model_validator(mode="after")
    def _registered_needs_a_manifest(self) -> Settings:
        registered = self.persisted_queries is PersistedQueries.REGISTERED
        if registered and self.persisted_query_manifest is None:
            raise ValueError(
                "PERSISTED_QUERIES=registered needs PERSISTED_QUERY_MANIFEST: the path of the"
                " manifest the frontend's build wrote (generate-persisted-query-manifest)"
            )
        return self

    @model_validator(mode="after")
    def _stale_after_missed_beats(self) -> Settings:
        # A beat may come late (a busy worker, a slow Redis): one missed beat is not a death.
        if self.worker_stale_seconds < 2 * self.worker_heartbeat_seconds:
            raise ValueError("WORKER_STALE_SECONDS must be at least twice WORKER_HEARTBEAT_SECONDS")
        return self

    @model_validator(mode="after")
    def _require_strong_secret(self) -> Settings:
        if self.jwt_secret is None or not self.jwt_secret.get_secret_value():
            if self.is_production:
                raise ValueError("JWT_SECRET is required in production")
            self.jwt_secret = SecretStr(_development_secret())
        secret = self.jwt_secret.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH or (
            self.is_production and len(set(secret)) < MIN_DISTINCT_CHARACTERS
        ):
            raise ValueError(f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} random characters")
        if any(len(key) < MIN_SECRET_LENGTH for key in self.previous_signing_keys):
            raise ValueError(f"JWT_PREVIOUS_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        if bool(self.first_admin_email) != bool(self.first_admin_password):
            raise ValueError("FIRST_ADMIN_EMAIL and FIRST_ADMIN_PASSWORD go together")
        return self

    @model_validator(mode="after")
    def _first_admin_can_sign_up(self) -> Settings:
        # Start-up creates this account under the rules of every sign-up: checked with the other
        # settings, a reserved domain or a weak password is a bad setting, not a crash of start-up.
        if not (self.first_admin_email and self.first_admin_password):
            return self
        # The rules live with the API's models; imported only when there is an admin to check,
        # so that the settings alone load no part of the API (a worker process runs without it).
        from schema.models import UserCreate

        try:
            UserCreate(
                email=self.first_admin_email,
                password=self.first_admin_password.get_secret_value(),
                name=FIRST_ADMIN_NAME,
            )
        except ValidationError as error:
            raise ValueError("; ".join(problems(error, prefix="FIRST_ADMIN_"))) from None
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def graphql_introspection_enabled(self) -> bool:
        return (
            not self.is_production
            if self.graphql_introspection is None
            else self.graphql_introspection
        )

    @property
    def graphql_ide_enabled(self) -> bool:
        return not self.is_production if self.graphql_ide is None else self.graphql_ide

    @property
    def live_page_enabled(self) -> bool:
        return not self.is_production if self.live_page is None else self.live_page

    @property
    def rest_docs_enabled(self) -> bool:
        return not self.is_production if self.rest_docs is None else self.rest_docs

    @property
    def log_format_effective(self) -> str:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "text"

    @property
    def previous_signing_keys(self) -> list[str]:
        previous = self.jwt_previous_secret
        return [previous.get_secret_value()] if previous and previous.get_secret_value() else []

    @property
    def signing_key(self) -> str:
        if self.jwt_secret is None:  # the validator sets it; this narrows the type
            raise RuntimeError("no signing key")
        return self.jwt_secret.get_secret_value()


def _origin(value: str) -> str:
    """`scheme://host[:port]`, the form browsers send in the Origin header."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"CORS origin must look like https://app.example.com, not {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _development_secret() -> str:
    """Read the development key, creating it once; O_EXCL makes concurrent first starts agree."""
    try:
        fd = os.open(DEV_SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process may have created the file and not written it yet.
        for _ in range(50):
            if secret := DEV_SECRET_FILE.read_text().strip():
                return secret
            time.sleep(0.02)
        raise RuntimeError(f"{DEV_SECRET_FILE} is empty: delete it to generate a new key") from None
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48))
    return DEV_SECRET_FILE.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def problems(error: ValidationError, prefix: str = "") -> list[str]:
    """One line per error of a validation: `NAME: what is wrong`, NAME the upper-cased field
    (after `prefix`), or the message alone for a rule on several fields. The input is never
    repeated: it may be a secret."""
    lines = []
    for e in error.errors(include_input=False, include_url=False):
        message = e["msg"].removeprefix("Value error, ")
        name = str(e["loc"][0]).upper() if e["loc"] else ""  # CORS_ORIGINS, not CORS_ORIGINS.0
        lines.append(f"{prefix}{name}: {message}" if name else message)
    return lines


def given_settings() -> dict[str, object]:
    """The settings set in the environment or in .env, by field name, as given (unvalidated):
    what was asked for even when the settings are not valid."""
    return {**DotEnvSettingsSource(Settings)(), **EnvSettingsSource(Settings)()}
