"""GET /metrics: Prometheus text format, for allowed networks or a bearer token only."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from sqlalchemy import func, select

from db.models import Job
from observability import metrics
from services import Services
from settings import Settings
from web.deps import ServicesDep

router = APIRouter(tags=["observability"])
logger = logging.getLogger(__name__)
JOB_STATUSES = ("queued", "in_progress", "complete", "failed")


@router.get("/metrics", include_in_schema=False)
async def serve_metrics(request: Request, services: ServicesDep) -> Response:
    settings = services.settings
    if not allowed(request, settings):
        # Like an unknown route: outsiders learn nothing about what is served here.
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    await _update_jobs(services)
    return Response(_exposition(settings), media_type=CONTENT_TYPE_LATEST)


def allowed(request: Request, settings: Settings) -> bool:
    """A client on one of METRICS_ALLOWED_NETWORKS, or one presenting METRICS_TOKEN."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer":
        return hmac.compare_digest(credentials.strip().encode(), token.encode())
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allowed_networks)


def _exposition(settings: Settings) -> bytes:
    if settings.prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=settings.prometheus_multiproc_dir
        )
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def _update_jobs(services: Services) -> None:
    """Jobs by status from the `jobs` table, which every process and worker shares."""
    try:
        async with services.sessions() as session:
            counts = dict(
                (await session.execute(select(Job.status, func.count()).group_by(Job.status))).all()
            )
    except Exception:  # metrics must still answer while the database does not
        logger.warning("could not count jobs for /metrics", exc_info=True)
        return
    for job_status in JOB_STATUSES:
        metrics.JOBS.labels(job_status).set(counts.get(job_status, 0))
