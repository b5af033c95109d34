"""The Prometheus metrics every process updates; /metrics (web/metrics.py) serves them.

With PROMETHEUS_MULTIPROC_DIR set (several uvicorn workers), prometheus-client keeps each
process's values in files there and the scrape adds them up; gauges of live things count the
live processes only ("livesum").
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "trading_api"

REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests by route (GraphQL: by operation name and type) and status.",
    ["route", "operation", "operation_type", "status"],
)
LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "HTTP request latency by route (GraphQL: by operation name and type).",
    ["route", "operation", "operation_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_ERRORS = Counter(
    f"{PREFIX}_graphql_errors", "GraphQL errors returned, by extensions.code.", ["code"]
)
CACHE = Counter(
    f"{PREFIX}_cache_requests",
    "Query cache lookups by result: hit, miss, error, bypassed, undecodable.",
    ["result"],
)
WS_CONNECTIONS = Gauge(
    f"{PREFIX}_websocket_connections", "Open GraphQL WebSockets.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS = Gauge(
    f"{PREFIX}_subscriptions",
    "Active subscriptions (local subscribers).",
    multiprocess_mode="livesum",
)
EVENTS_PUBLISHED = Counter(f"{PREFIX}_events_published", "Trade events published.")
EVENTS_DELIVERED = Counter(
    f"{PREFIX}_events_delivered", "Trade events handed to local subscribers."
)
JOBS_QUEUED = Counter(f"{PREFIX}_jobs_enqueued", "Background jobs enqueued, by kind.", ["kind"])
JOBS = Gauge(
    f"{PREFIX}_jobs",
    "Background jobs by status (queued, in_progress, failed, complete), read at scrape time.",
    ["status"],
    multiprocess_mode="mostrecent",
)
DB_CONNECTIONS_IN_USE = Gauge(
    f"{PREFIX}_db_connections_in_use",
    "Database connections checked out of the pools.",
    multiprocess_mode="livesum",
)
