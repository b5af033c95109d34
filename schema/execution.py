"""One execution per live event and selection, shared by every subscriber that asked the same.

graphql-core executes a subscription's selection once per event *per subscriber*: with a thousand
subscribers that is a thousand identical executions of the same trade (most of the server's CPU
in bench/live.py). Strawberry lets a schema name its executor class, so events go through this
one, and subscribers whose operation, variables and visibility are equal share one result,
held by the fan-out only while the event is being delivered (events/shared_results.py).
Nothing comparable exists in Strawberry or graphql-core, hence this class.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Hashable
from typing import Any, Self, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLSchema,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    get_named_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from compat.strawberry import StrawberryGraphQLCoreExecutionContext
from events.shared_results import SharedData
from rules.emails import VIEWER_DEPENDENT_FIELDS, sees_every_email
from schema.types import Trade


def reads_viewer_dependent_field(schema: GraphQLSchema, document: DocumentNode) -> bool:
    """Whether the document selects a field whose value depends on who asks beyond admin or
    not (rules.emails): such a selection is shared only among one viewer's subscriptions."""
    type_info = TypeInfo(schema)
    found = False

    class Fields(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            nonlocal found
            parent = type_info.get_parent_type()
            if parent is not None:
                found |= (get_named_type(parent).name, node.name.value) in VIEWER_DEPENDENT_FIELDS

    visit(document, TypeInfoVisitor(type_info, Fields()))
    return found


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    _selection_key: Hashable | None = None

    def __copy__(self) -> Self:
        # What copy.copy does for a plain object, in half its time: graphql-core copies the
        # executor for each event it executes.
        executor = object.__new__(type(self))
        executor.__dict__.update(self.__dict__)
        return executor

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._selection_key is None:
            self._selection_key = self._key_of_selection()
        event_id = _event_id(payload)
        if self._selection_key is None or event_id is None:
            return super().build_per_event_executor(payload)
        # Most subscribers take the result another one executed: no copy of the executor for them.
        return SharedEvent(self, payload, event_id, self._selection_key)

    def _execute_event(self, serially: bool | None) -> Any:
        # A socket lives long: nested fields of an event must not read what it loaded before.
        self.context_value.refresh_loaders()
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return _sharing_data(result)
        return _share_data(result)

    def _key_of_selection(self) -> Hashable | None:
        if self.operation.operation is not OperationType.SUBSCRIPTION:
            return None
        document = DocumentNode(definitions=(self.operation, *self.fragment_definitions.values()))
        viewer = self.context_value.viewer
        per_viewer = viewer is not None and reads_viewer_dependent_field(self.schema, document)
        return (
            print_ast(document),
            json.dumps(self.variable_values.coerced, sort_keys=True, default=str),
            sees_every_email(viewer),
            viewer.id if per_viewer else None,
        )


class SharedEvent:
    """A live event as graphql-core executes it for one subscriber (its per-event executor, of
    which it calls `execute_operation` only): the shared result of the subscriber's selection,
    executed by a copy of the subscription's executor for the first subscriber who asks."""

    __slots__ = ("event_id", "executor", "payload", "selection")

    def __init__(
        self, executor: SharedEventExecutor, payload: Trade, event_id: int, selection: Hashable
    ) -> None:
        self.executor = executor
        self.payload = payload
        self.event_id = event_id
        self.selection = selection

    def execute_operation(self, serially: bool | None = None) -> Any:
        return self.executor.context_value.services.broadcaster.shared_result(
            self.event_id, self.selection, lambda: self._execute(serially)
        )

    def _execute(self, serially: bool | None) -> Any:
        executor = super(SharedEventExecutor, self.executor).build_per_event_executor(self.payload)
        return cast("SharedEventExecutor", executor)._execute_event(serially)


def _share_data(result: Any) -> Any:
    """The result, its data a SharedData: what its subscribers are sent is encoded once."""
    if isinstance(result, ExecutionResult) and result.data is not None:
        result.data = SharedData(result.data)
    return result


async def _sharing_data(result: Awaitable[Any]) -> Any:
    return _share_data(await result)


def _event_id(root: Any) -> int | None:
    """The fan-out knows an event by its trade's id."""
    return root.id if isinstance(root, Trade) else None
