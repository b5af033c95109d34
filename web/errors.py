"""HTTP answers for failures outside GraphQL execution (REST routes, and the request's identity)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import exc

from db.engine import is_unavailable
from schema.errors import DATABASE_UNAVAILABLE

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


async def database_error(request: Request, error: Exception) -> JSONResponse:
    """503 with Retry-After when the database is unreachable; any other database error is a 500."""
    request_id = getattr(request.state, "request_id", None)
    if is_unavailable(error):
        logger.warning("database unavailable (request %s): %s", request_id, error)
        return JSONResponse(
            {"detail": DATABASE_UNAVAILABLE},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    logger.error("database error (request %s)", request_id, exc_info=error)
    return JSONResponse(
        {"detail": "Internal server error", "requestId": request_id},
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def add_database_error_handlers(app: FastAPI) -> None:
    for error_class in (OSError, exc.TimeoutError, exc.DBAPIError):
        app.add_exception_handler(error_class, database_error)
