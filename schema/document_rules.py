"""Checks of a document's shape that run before GraphQL's own validation, in time linear in the
document: depth, aliases, and a bound on the work of the overlapping-fields rule.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread, so
fragments that spread one another ten times over cost time exponential in their nesting (six
levels took 0.3 s, each level ten times more). graphql-core's OverlappingFieldsCanBeMerged
compares every pair of fields that share a response name, through their sub-selections:
`me { name }` 1,200 times is 720,000 comparisons (1-2 s). Here each fragment is measured once,
and a document whose fields would need too many comparisons is refused before the rule runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True)
class ShapeLimits:
    # Levels of nested fields: `{ me { id } }` has two. Introspection fields do not count.
    max_depth: int
    # Aliased fields, a fragment's counted at each of its spreads.
    max_aliases: int
    # Pairs of same-named fields the overlapping-fields rule may compare (see overlap_pairs).
    max_overlap_pairs: int


def shape_errors(document: DocumentNode, limits: ShapeLimits) -> list[GraphQLError]:
    """Errors for a document beyond the limits; none means GraphQL's validation may run."""
    try:
        return _shape_errors(_Shape(document), limits)
    except RecursionError:
        # Fragments spreading one another hundreds deep: no operation needs that.
        return [GraphQLError("The document nests fragments too deeply")]


def _shape_errors(shape: _Shape, limits: ShapeLimits) -> list[GraphQLError]:
    errors = []
    for operation in shape.operations:
        name = operation.name.value if operation.name else "anonymous"
        if shape.depth(operation.selection_set) > limits.max_depth:
            errors.append(
                GraphQLError(
                    f"'{name}' exceeds maximum operation depth of {limits.max_depth}", operation
                )
            )
            continue  # and what lies below the limit is not walked
        aliases = shape.aliases(operation.selection_set)
        if aliases > limits.max_aliases:
            errors.append(
                GraphQLError(f"{aliases} aliases found. Allowed: {limits.max_aliases}", operation)
            )
    if not errors:
        pairs = shape.overlap_pairs(limits.max_overlap_pairs)
        if pairs > limits.max_overlap_pairs:
            errors.append(
                GraphQLError(
                    "The document repeats fields too often to be checked (more than "
                    f"{limits.max_overlap_pairs} comparisons of same-named fields): "
                    "select each field once"
                )
            )
    return errors


class _Shape:
    def __init__(self, document: DocumentNode) -> None:
        self.operations = [
            d for d in document.definitions if isinstance(d, OperationDefinitionNode)
        ]
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # Memoized per fragment; a fragment met again while it is being measured is a cycle,
        # which GraphQL's NoFragmentCyclesRule reports: it counts as nothing here.
        self._depths: dict[str, int] = {}
        self._aliases: dict[str, int] = {}

    def depth(self, selection_set: SelectionSetNode) -> int:
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue  # introspection: GraphiQL's own query is deeper than any limit
                below = self.depth(selection.selection_set) if selection.selection_set else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment(selection, self._depths, self.depth))
        return deepest

    def aliases(self, selection_set: SelectionSetNode) -> int:
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += selection.alias is not None
                if selection.selection_set:
                    count += self.aliases(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.aliases(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self._fragment(selection, self._aliases, self.aliases)
        return count

    def _fragment(
        self,
        spread: FragmentSpreadNode,
        memo: dict[str, int],
        measure: Callable[[SelectionSetNode], int],
    ) -> int:
        name = spread.name.value
        if name in memo:
            return memo[name]
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0  # KnownFragmentNamesRule reports it
        memo[name] = 0  # in progress: a cycle stops here
        memo[name] = measure(fragment.selection_set)
        return memo[name]

    def overlap_pairs(self, budget: int) -> int:
        """About as many field comparisons as the overlapping-fields rule would make: fields
        that share a response name are merged level by level (their sub-selections together,
        fragments expanded once per level), and each group of n costs n squared. The walk stops
        once past `budget`, so it costs at most about `budget` steps whatever the document."""
        roots = [d.selection_set for d in (*self.operations, *self.fragments.values())]
        pending: list[list[SelectionSetNode]] = [[root] for root in roots]
        pairs = 0
        while pending:
            groups = self._merged_groups(pending.pop())
            for members in groups.values():
                pairs += len(members) ** 2
                if pairs > budget:
                    return pairs
                children = [m.selection_set for m in members if m.selection_set]
                if children:
                    pending.append(children)
        return pairs

    def _merged_groups(self, selection_sets: list[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        groups: defaultdict[str, list[FieldNode]] = defaultdict(list)
        spread: set[str] = set()
        stack = list(selection_sets)
        while stack:
            for selection in stack.pop().selections:
                if isinstance(selection, FieldNode):
                    response_name = (selection.alias or selection.name).value
                    groups[response_name].append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    stack.append(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment is not None and fragment.name.value not in spread:
                        spread.add(fragment.name.value)
                        stack.append(fragment.selection_set)
        return groups
