"""The app started in-process, lifespan and all, with an httpx client that talks to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from main import create_app
from settings import Settings


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
