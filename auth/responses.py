"""How every response of the auth routes leaves: never cached.

Tokens, cookies and personal data must not be kept by a browser or proxy cache, so every answer
(success, refusal or validation error) carries `Cache-Control: no-store`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

NO_STORE = {"Cache-Control": "no-store"}


class AuthRoute(APIRoute):
    """The route class of the auth router (FastAPI's custom APIRoute hook)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def no_store(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as error:
                error.headers = {**(error.headers or {}), **NO_STORE}
                raise
            except RequestValidationError as error:
                # The app's own handler renders it, as for any other route.
                render = request.app.exception_handlers[RequestValidationError]
                response = await render(request, error)
            response.headers.update(NO_STORE)
            return response

        return no_store
