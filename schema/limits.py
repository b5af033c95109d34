"""Limits on what one operation may ask for, refused before anything runs.

Parsing, the document's shape (depth, aliases, repeated fields) and validation are checked once
per document and cached (schema/documents.py). The cost budget (schema/cost.py) depends on the
variables too, so it is checked per request, after validation and before the variables are
coerced: for queries and mutations, and for subscriptions per event, where the live
subscriptions of one user together share a budget of their own. A refusal is a request error,
like a validation error: nothing runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from graphql import DocumentNode, GraphQLError, Node, OperationType, get_operation_ast
from strawberry.extensions import SchemaExtension

from compat.strawberry import graphql_core_schema
from schema.cost import operation_cost, too_complex
from schema.documents import CheckedDocuments, DocumentCache
from settings import Settings


class LiveBudget:
    """What each user's live subscriptions cost per event, together, in this process.

    A subscription runs its selection for every trade, for as long as it lives, at a rate no
    client chooses: a budget per operation would let ten of them cost ten times as much.
    """

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._spent: dict[int, int] = {}

    def reserve(self, user_id: int, cost: int, node: Node | None = None) -> None:
        spent = self._spent.get(user_id, 0)
        if spent + cost > self.per_user:
            raise too_complex(
                spent + cost,
                self.per_user,
                node,
                f"Live subscriptions would cost {spent + cost} per event, beyond the budget of "
                f"{self.per_user} per user: subscribe to fewer or smaller selections",
            )
        self._spent[user_id] = spent + cost

    def release(self, user_id: int, cost: int) -> None:
        left = self._spent.get(user_id, 0) - cost
        if left > 0:
            self._spent[user_id] = left
        else:
            self._spent.pop(user_id, None)


def limit_extensions(
    settings: Settings, documents: DocumentCache, live: LiveBudget
) -> list[Callable[[], SchemaExtension]]:
    """Factories (one extension per request) for the documents cache and the cost budget."""
    return [
        partial(CheckedDocuments, documents),
        partial(CostLimiter, settings.graphql_max_cost, live),
    ]


class CostLimiter(SchemaExtension):
    """Refuses an operation over budget as a request error, before it runs: for every operation
    type and transport (over WebSocket a refused subscribe gets graphql-ws's `error`)."""

    def __init__(self, max_cost: int, live: LiveBudget) -> None:
        self.max_cost = max_cost
        self.live = live
        self.reserved: tuple[int, int] | None = None  # (user id, cost) while a subscription lives

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:
            # The whole life of a subscription runs inside the operation.
            if self.reserved is not None:
                self.live.release(*self.reserved)
                self.reserved = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Listed after CheckedDocuments, whose errors are set by now: price valid documents only.
        if document is not None and not context.pre_execution_errors:
            try:
                self._price(document)
            except GraphQLError as error:
                context.pre_execution_errors = [error]
        yield

    def _price(self, document: DocumentNode) -> None:
        context = self.execution_context
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return  # Strawberry says which operation is missing
        schema = graphql_core_schema(context.schema)
        variables = context.variables or {}
        cost = operation_cost(schema, document, operation, variables, self.max_cost)
        if cost > self.max_cost:
            raise too_complex(cost, self.max_cost, operation)
        viewer = getattr(context.context, "viewer", None)
        if operation.operation is OperationType.SUBSCRIPTION and viewer is not None:
            self.live.reserve(viewer.id, cost, operation)
            self.reserved = (viewer.id, cost)
