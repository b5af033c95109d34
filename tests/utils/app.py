"""The app started in-process, lifespan and all, with an httpx client that talks to it; several
such apps on one database and Redis play the API processes of a deployment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from fastapi import FastAPI

from main import create_app
from services import Services
from settings import Settings
from tests.utils.api import Api


@asynccontextmanager
async def serve(
    settings: Settings, base_url: str = "http://testserver"
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """An app started (lifespan and all) with a client that talks to it in-process."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base_url) as client,
    ):
        yield client, app


Process = Callable[[], AbstractAsyncContextManager[tuple[Api, Services]]]


def process_factory(settings: Settings) -> Process:
    """An API 'process': its own app, engine and cache client, sharing the database and Redis."""

    @asynccontextmanager
    async def process() -> AsyncIterator[tuple[Api, Services]]:
        async with serve(settings) as (client, app):
            yield Api(client), app.state.services

    return process
