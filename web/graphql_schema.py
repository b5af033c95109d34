"""Assembles the strawberry.Schema served at /graphql, with the limits the settings ask for."""

from __future__ import annotations

import re
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from compat.strawberry import graphql_core_schema
from observability.graphql import Observe
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.context import FreshReadsInMutations
from schema.documents import DocumentCache
from schema.errors import ErrorCodes, add_code, is_unexpected, log_unexpected
from schema.execution import SharedEventExecutor
from schema.limits import LiveBudget, limit_extensions
from schema.scalars import SCALAR_OVERRIDES
from settings import Settings

# graphql-core's hints name fields, arguments, types and enum values a client did not ask about.
SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


class TradingSchema(strawberry.Schema):
    hide_suggestions = False
    # Set by create_schema: parsed and checked documents, shared with the compiled path.
    documents: DocumentCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        for error in errors:
            if self.hide_suggestions:
                error.message = SUGGESTION.sub("", error.message)
            if not is_unexpected(error):
                # Also for errors raised inside an extension (a cached parse), which skip
                # ErrorCodes' hook.
                add_code(error)
        # Expected errors (bad input, permissions) are answers, not incidents: log the rest.
        context: Any = execution_context.context if execution_context else None
        log_unexpected(errors, getattr(context, "request_id", None))


def create_schema(settings: Settings) -> TradingSchema:
    documents = DocumentCache(settings)
    live = LiveBudget(settings.graphql_max_live_cost)
    built = TradingSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            Observe,
            ErrorCodes,
            FreshReadsInMutations,
            *limit_extensions(settings, documents, live),
        ],
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=SharedEventExecutor,
        config=StrawberryConfig(disable_field_suggestions=settings.is_production),
    )
    built.hide_suggestions = settings.is_production
    # Documents are validated against the schema graphql-core builds for Strawberry.
    documents.schema = graphql_core_schema(built)
    built.documents = documents
    return built
