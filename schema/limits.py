"""Limits on what one operation may ask for, refused before anything runs.

Depth, aliases and tokens use Strawberry's extensions. The cost budget is ours: Strawberry has
no cost analysis; it is checked after validation because it depends on the variables. An
operation's cost counts every field it may resolve, multiplying each list field's children by
how many items it can return (its `limit` argument, from the literal or the variables, else the
argument's default), so `users(limit: 100) { trades(limit: 100) { id } }` costs about 100 x 100.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_list_type,
    is_non_null_type,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from schema.models import MAX_PAGE
from settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
# Items assumed for list fields without a `limit` argument (a user's degrees, a batch's trades).
UNBOUNDED_LIST_ITEMS = 10
# Distinct documents whose parse and validation results are kept.
DOCUMENT_CACHE_SIZE = 1_000


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """Factories (one extension per request) for the limits the settings ask for, with parsing
    and validation cached per document (Strawberry's ParserCache and ValidationCache).

    Validation results are cached by (document, rules), so the rules must be the same objects
    on every request: the depth, alias and introspection rules are built once, here. The cost
    depends on the variables too, so it is checked after validation, per request.
    """
    return [
        partial(MaxTokensLimiter, max_token_count=settings.graphql_max_tokens),
        partial(ParserCache, maxsize=DOCUMENT_CACHE_SIZE),
        partial(AddValidationRules, static_validation_rules(settings)),
        partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE),
        partial(CostLimiter, max_cost=settings.graphql_max_cost),
    ]


def static_validation_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The depth, alias and (in production) introspection rules, added to GraphQL's own."""
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if not settings.graphql_introspection_enabled:
        rules += DisableIntrospection().validation_rules
    return rules


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    max_cost: int,
) -> int:
    """What the operation may cost (counting stops soon after it passes `max_cost`)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _Pricer(schema, fragments, operation, variables, max_cost).operation_cost()


class CostLimiter(SchemaExtension):
    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document, schema = context.graphql_document, context.schema._schema
        if document is not None and context.result is None:
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None:
                variables = context.variables or {}
                cost = operation_cost(schema, document, operation, variables, self.max_cost)
                if cost > self.max_cost:
                    # Strawberry skips execution when an extension has set the result.
                    context.result = GraphQLExecutionResult(
                        data=None, errors=[_too_complex(cost, self.max_cost, operation)]
                    )
        yield


def _too_complex(cost: int, budget: int, node: OperationDefinitionNode) -> GraphQLError:
    return GraphQLError(
        f"Operation cost {cost} exceeds the budget of {budget}: "
        "ask for smaller pages or fewer nested lists",
        node,
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "budget": budget},
    )


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
        if field is None or node.selection_set is None:
            return 1  # a leaf, or an unknown field that validation reports anyway
        field_type = field.type.of_type if is_non_null_type(field.type) else field.type
        items = self._list_items(node, field.args) if is_list_type(field_type) else 1
        children = self._selection_cost(node.selection_set, get_named_type(field.type), seen)
        return 1 + items * children

    def _list_items(self, node: FieldNode, args: Mapping[str, Any]) -> int:
        if "limit" not in args:
            return UNBOUNDED_LIST_ITEMS
        for argument in node.arguments or ():
            if argument.name.value != "limit":
                continue
            value = argument.value
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

    def _declared_default(self, variable: VariableNode) -> int | None:
        """`$n` in `query($n: Int = 50)` is 50 when the request sends no `n`."""
        for definition in self.operation.variable_definitions or ():
            if definition.variable.name.value == variable.name.value:
                default = definition.default_value
                return int(default.value) if isinstance(default, IntValueNode) else None
        return None


def _page_items(limit: int) -> int:
    """A limit beyond MAX_PAGE is refused as BAD_USER_INPUT when the field runs: price the most
    it could return, so the client hears about the argument rather than the budget."""
    return min(max(limit, 0), MAX_PAGE)
