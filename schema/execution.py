"""One execution per live event and selection, shared by every subscriber that asked the same.

graphql-core executes a subscription's selection once per event *per subscriber*: with a thousand
subscribers that is a thousand identical executions of the same trade (most of the server's CPU
in bench/live.py). Strawberry lets a schema name its executor class, so events go through this
one, and subscribers whose operation, variables and visibility are equal share one result.
Nothing comparable exists in Strawberry or graphql-core, hence this class.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Hashable
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    OperationType,
    print_ast,
    visit,
)
from graphql.language import Visitor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.types import Trade

# Fields whose value depends on who asks, beyond admin or not: a selection that reads one is
# shared only among subscriptions of the same viewer.
VIEWER_DEPENDENT_FIELDS = frozenset({"email"})
# Events x selections remembered; an event is fanned out within milliseconds of arriving.
RECENT_RESULTS = 4096


class _SharedResults:
    def __init__(self) -> None:
        self._recent: OrderedDict[Hashable, asyncio.Future[Any]] = OrderedDict()

    def get_or_run(self, key: Hashable, run: Any) -> tuple[Awaitable[Any], bool]:
        """The (shielded) result for `key`, running `run()` for the first asker only."""
        future = self._recent.get(key)
        shared = future is not None
        if future is None:
            result = run()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                future = asyncio.ensure_future(result)
            else:
                future = asyncio.get_running_loop().create_future()
                future.set_result(result)
            self._recent[key] = future
            if len(self._recent) > RECENT_RESULTS:
                self._recent.popitem(last=False)
        # One subscriber going away must not cancel the execution the others wait for.
        return asyncio.shield(future), shared


_results = _SharedResults()


class _FieldNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.names.add(node.name.value)


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    _selection_key: Hashable | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        if self._selection_key is None:
            self._selection_key = self._key_of_selection()
        return super().build_per_event_executor(payload)  # a copy: it keeps the key

    def execute_operation(self, serially: bool | None = None) -> Any:
        event_id = _event_id(self.root_value)
        if self._selection_key is None or event_id is None:
            return super().execute_operation(serially)
        counters = self.context_value.services.broadcaster.fanout.counters
        awaitable, shared = _results.get_or_run(
            (event_id, self._selection_key), lambda: self._execute_event(serially)
        )
        if shared:
            counters.shared_results += 1
        else:
            counters.executions += 1
        return awaitable

    def _execute_event(self, serially: bool | None) -> Any:
        # A socket lives long: nested fields of an event must not read what it loaded before.
        self.context_value.refresh_loaders()
        return super().execute_operation(serially)

    def _key_of_selection(self) -> Hashable | None:
        if self.operation.operation is not OperationType.SUBSCRIPTION:
            return None
        document = DocumentNode(definitions=(self.operation, *self.fragment_definitions.values()))
        names = _FieldNames()
        visit(document, names)
        viewer = self.context_value.viewer
        return (
            print_ast(document),
            json.dumps(self.variable_values.coerced, sort_keys=True, default=str),
            viewer is not None and viewer.is_admin,
            viewer.id if viewer is not None and names.names & VIEWER_DEPENDENT_FIELDS else None,
        )


def _event_id(root: Any) -> Hashable | None:
    return ("trade", root.id) if isinstance(root, Trade) else None
