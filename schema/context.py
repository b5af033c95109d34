"""The per-request GraphQL context: who is asking, sessions, and this request's DataLoaders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from strawberry.extensions import SchemaExtension
from strawberry.fastapi import BaseContext
from strawberry.types.graphql import OperationType

from auth.tokens import Claims
from cache.reads import CachedReads
from db.models import UserRecord
from rules.emails import sees_every_email
from schema.dataloaders import Loaders
from schema.errors import Unauthenticated
from services import Services


@dataclass
class Context(BaseContext):
    services: Services
    viewer: UserRecord | None
    # This request's reads: cached as of the data versions its session check read, if any.
    reads: CachedReads
    loaders: Loaders
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    claims: Claims | None = None  # the viewer's token: which session, for logout
    # A token was sent and refused: the operation is refused too (GraphQLView), not anonymous.
    token_refused: bool = False

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def sees_all_emails(self) -> bool:
        return sees_every_email(self.viewer)

    def refresh_loaders(self) -> None:
        """Forget what this context loaded: a socket lives long, its events must not read stale."""
        self.loaders = loaders_for(self.reads, self.viewer)

    def read_from_database(self) -> None:
        """From now on every read of this request goes to the database, not the cache."""
        self.reads = self.services.reads
        self.refresh_loaders()

    def require_viewer(self) -> UserRecord:
        """The signed-in user; UNAUTHENTICATED otherwise (permission classes check it first)."""
        if self.viewer is None:
            raise Unauthenticated("Sign in first")
        return self.viewer


def loaders_for(reads: CachedReads, viewer: UserRecord | None) -> Loaders:
    loaders = Loaders(reads, see_emails=sees_every_email(viewer))
    if viewer is not None:
        loaders.user_by_id.prime(viewer.id, viewer)
    return loaders


class FreshReadsInMutations(SchemaExtension):
    """A mutation's reads (the fields of its result) go to the database: the versions its
    session check read are older than its own commit, which its answer must show."""

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_type is OperationType.MUTATION:
            context = self.execution_context.context
            if isinstance(context, Context):
                context.read_from_database()
        yield
