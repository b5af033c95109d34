"""Assembles the strawberry.Schema served at /graphql."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.errors import ErrorCodes, log_unexpected
from schema.execution import SharedEventExecutor
from schema.scalars import SCALAR_OVERRIDES


class TradingSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (bad input, permissions) are answers, not incidents: log the rest.
        context: Any = execution_context.context if execution_context else None
        log_unexpected(errors, getattr(context, "request_id", None))


schema = TradingSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[ErrorCodes],
    scalar_overrides=SCALAR_OVERRIDES,
    execution_context_class=SharedEventExecutor,
)
