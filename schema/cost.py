"""The cost model: what an operation may cost, priced before it runs, for every operation type.

An operation's cost counts every field it may resolve, multiplying each list field's children
by how many items it can return: its `limit` argument (the literal, the variable, or the
argument's default), the length of the list argument it returns one item for (`addTrades`
returns one trade per input trade), what its declared price computes from its arguments (the
buckets a `candles` range spans), or UNBOUNDED_LIST_ITEMS. So `users(limit: 100) {
trades(limit: 100) { id } }` costs about 100 x 100; arguments that only narrow a page (the
`trades` filters, `before`) leave it priced at its limit. A subscription is priced per event.
Fields that cost more than their selection (a report request) say so where they are declared:
`@strawberry.mutation(metadata=Price(cost=...).metadata)`.

Strawberry has no cost analysis (graphql-armor's is for JavaScript servers), hence this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
    value_from_ast_untyped,
)

from compat.strawberry import strawberry_field
from schema.codes import ErrorCode
from schema.errors import BadUserInput
from schema.models import MAX_PAGE

QUERY_TOO_COMPLEX = ErrorCode.QUERY_TOO_COMPLEX
# Items assumed for list fields with neither a `limit` nor a list argument (a user's degrees).
UNBOUNDED_LIST_ITEMS = 10
_PRICE = "price"


@dataclass(frozen=True)
class Price:
    """A field's price beyond the default (1, plus its selection times its items)."""

    # The field's own cost: work it does whatever is selected.
    cost: int = 1
    # Its list result has one item per item of this list argument.
    items_from: str | None = None
    # Most items that argument takes; more are refused before the items are coerced.
    max_items: int | None = None
    # Its list result has at most this many items, given its arguments as sent (uncoerced:
    # enum values by name, scalars as their JSON); absent arguments are left out.
    items_of: Callable[[Mapping[str, Any]], int] | None = None

    @property
    def metadata(self) -> dict[str, Price]:
        """For `strawberry.field/mutation/subscription(metadata=...)`."""
        return {_PRICE: self}


DEFAULT_PRICE = Price()


def too_complex(
    cost: int, budget: int, node: Node | None = None, message: str | None = None
) -> GraphQLError:
    return GraphQLError(
        message
        or f"Operation cost {cost} exceeds the budget of {budget}: "
        "ask for smaller pages or fewer nested lists",
        node,
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "budget": budget},
    )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    max_cost: int,
) -> int:
    """What the operation may cost (counting stops soon after it passes `max_cost`).

    BadUserInput when a list argument has more items than its field takes: counted from the
    request's variables before they are coerced (200,000 trade inputs are not coerced to be
    told that 1,000 is the most).
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _Pricer(schema, fragments, operation, variables, max_cost).operation_cost()


def price_of(field: GraphQLField) -> Price:
    definition = strawberry_field(field)
    price = getattr(definition, "metadata", None) or {}
    found = price.get(_PRICE)
    return found if isinstance(found, Price) else DEFAULT_PRICE


class _Pricer:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        max_cost: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.operation = operation
        self.variables = variables
        self.max_cost = max_cost

    def operation_cost(self) -> int:
        root = self.schema.get_root_type(self.operation.operation)
        return self._selection_cost(self.operation.selection_set, root, frozenset()) if root else 0

    def _selection_cost(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> int:
        if not isinstance(parent, GraphQLObjectType):
            return 0
        cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost += self._field_cost(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                cost += self._selection_cost(selection.selection_set, parent, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are NoFragmentCycles' job
                    cost += self._selection_cost(fragment.selection_set, parent, seen | {name})
            if cost > self.max_cost:
                break  # enough to refuse; do not walk the rest of a huge document
        return cost

    def _field_cost(self, node: FieldNode, parent: GraphQLObjectType, seen: frozenset[str]) -> int:
        field = parent.fields.get(node.name.value)
        if field is None:
            return 1  # an unknown field, which validation reports anyway
        price = price_of(field)
        items_from = self._argument_items(node, price) if price.items_from else None
        if node.selection_set is None:
            return price.cost
        field_type = field.type.of_type if is_non_null_type(field.type) else field.type
        if not is_list_type(field_type):
            items = 1
        elif items_from is not None:
            items = items_from
        elif price.items_of is not None:
            items = price.items_of(self._argument_values(node))
        else:
            items = self._page_items(node, field.args)
        children = self._selection_cost(node.selection_set, get_named_type(field.type), seen)
        return price.cost + items * children

    def _argument_items(self, node: FieldNode, price: Price) -> int:
        """How many items the list argument `price.items_from` holds, as sent."""
        value = self._argument(node, price.items_from or "")
        if isinstance(value, VariableNode):
            sent = self.variables.get(value.name.value)
            items = len(sent) if isinstance(sent, list) else int(sent is not None)
        elif isinstance(value, ListValueNode):
            items = len(value.values)
        else:
            items = int(value is not None)  # one item coerces to a list of one
        if price.max_items is not None and items > price.max_items:
            raise BadUserInput(
                f"{price.items_from}: at most {price.max_items} {price.items_from} per call",
                argument=price.items_from,
            )
        return items

    def _page_items(self, node: FieldNode, args: Mapping[str, Any]) -> int:
        if "limit" not in args:
            return UNBOUNDED_LIST_ITEMS
        value = self._argument(node, "limit")
        if isinstance(value, IntValueNode):
            return _page_items(int(value.value))
        if isinstance(value, VariableNode):
            given = self.variables.get(value.name.value, self._declared_default(value))
            if isinstance(given, int) and not isinstance(given, bool):
                return _page_items(given)
            # A bad value is refused when variables are coerced; price the worst case here.
            return MAX_PAGE
        default = args["limit"].default_value
        return default if isinstance(default, int) else UNBOUNDED_LIST_ITEMS

    def _argument_values(self, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as sent: literals, and variables from the request (or their
        declared defaults)."""
        values: dict[str, Any] = {}
        for argument in node.arguments or ():
            value = argument.value
            if isinstance(value, VariableNode):
                name = value.name.value
                if name in self.variables:
                    values[argument.name.value] = self.variables[name]
                elif (default := self._declared_default_node(value)) is not None:
                    values[argument.name.value] = value_from_ast_untyped(default)
            else:
                values[argument.name.value] = value_from_ast_untyped(value, dict(self.variables))
        return values

    @staticmethod
    def _argument(node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return argument.value
        return None

    def _declared_default(self, variable: VariableNode) -> int | None:
        """`$n` in `query($n: Int = 50)` is 50 when the request sends no `n`."""
        default = self._declared_default_node(variable)
        return int(default.value) if isinstance(default, IntValueNode) else None

    def _declared_default_node(self, variable: VariableNode) -> ValueNode | None:
        for definition in self.operation.variable_definitions or ():
            if definition.variable.name.value == variable.name.value:
                return definition.default_value
        return None


def _page_items(limit: int) -> int:
    """A limit beyond MAX_PAGE is refused as BAD_USER_INPUT when the field runs: price the most
    it could return, so the client hears about the argument rather than the budget."""
    return min(max(limit, 0), MAX_PAGE)
