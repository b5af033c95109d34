"""The per-request GraphQL context: who is asking, sessions, and this request's DataLoaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection
from strawberry.fastapi import BaseContext

from auth.identity import signed_in, token_from
from auth.tokens import Claims
from db.records import UserRecord
from resolvers.dataloaders import Loaders
from schema.errors import Unauthenticated
from services import Services


@dataclass
class Context(BaseContext):
    services: Services
    viewer: UserRecord | None
    loaders: Loaders
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    claims: Claims | None = None  # the viewer's token: which session, for logout

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def sees_all_emails(self) -> bool:
        return self.viewer is not None and self.viewer.is_admin

    def refresh_loaders(self) -> None:
        """Forget what this context loaded: a socket lives long, its events must not read stale."""
        self.loaders = loaders_for(self.services, self.viewer)

    def require_viewer(self) -> UserRecord:
        """The signed-in user; UNAUTHENTICATED otherwise (permission classes check it first)."""
        if self.viewer is None:
            raise Unauthenticated("Sign in first")
        return self.viewer


async def get_context(connection: HTTPConnection) -> Context:
    """Strawberry's `context_getter`: a FastAPI dependency, for HTTP requests and WebSockets."""
    services: Services = connection.app.state.services
    session = await signed_in(services, token_from(connection))
    viewer = session.user if session else None
    request_id = getattr(connection.state, "request_id", None) or uuid.uuid4().hex
    return Context(
        services=services,
        viewer=viewer,
        loaders=loaders_for(services, viewer),
        request_id=request_id,
        claims=session.claims if session else None,
    )


def loaders_for(services: Services, viewer: UserRecord | None) -> Loaders:
    loaders = Loaders(services.reads, see_emails=viewer is not None and viewer.is_admin)
    if viewer is not None:
        loaders.user_by_id.prime(viewer.id, viewer)
    return loaders
