"""How every response of the auth routes leaves: never cached, never echoing what was sent.

Tokens, cookies and personal data must not be kept by a browser or proxy cache, so every answer
(success, refusal or validation error) carries `Cache-Control: no-store`. FastAPI's validation
errors quote each invalid value back (`input`): for these routes that would be a password, so
the errors are sent without it.
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
                errors = [{k: v for k, v in e.items() if k != "input"} for e in error.errors()]
                # The app's own handler renders it, as for any other route.
                render = request.app.exception_handlers[RequestValidationError]
                response = await render(request, RequestValidationError(errors))
            response.headers.update(NO_STORE)
            return response

        return no_store
