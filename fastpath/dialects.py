"""How each database spells the JSON the compiled path asks it to build.

The output must be byte-for-byte what the general path's scalars print: DateTime is Python's
`isoformat()` of a UTC datetime (no fraction when the microseconds are 0), Decimal is fixed
point with 8 places, enums are their upper-case GraphQL names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class JSONDialect:
    name: str
    # JSON objects nested in one statement, the query's own included. SQLite's parser has a
    # fixed stack: seven levels of the compiled path's subqueries overflow it ("parser stack
    # overflow"), so deeper documents are left to the general path.
    max_object_depth: int | None = None

    def placeholder(self, position: int) -> str:
        return f"${position}" if self.name == "postgresql" else "?"

    def object(self, pairs: Sequence[tuple[str, str]]) -> str:
        function = "json_build_object" if self.name == "postgresql" else "json_object"
        arguments = ", ".join(f"'{key}', {value}" for key, value in pairs)
        return f"{function}({arguments})"

    def nested(self, subquery: str) -> str:
        """A JSON value from a scalar subquery; SQLite forgets it is JSON unless told again."""
        return f"({subquery})" if self.name == "postgresql" else f"json(({subquery}))"

    def array(self, element: str, source: str, order: str) -> str:
        """A JSON array of `element` over the rows of `source`, in `order`; [] when empty."""
        if self.name == "postgresql":
            return f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) {source})"
        # SQLite 3.40 has no ORDER BY inside aggregates: it keeps the order of `source`,
        # whose subquery is ordered.
        return f"json((SELECT json_group_array(json({element})) {source}))"

    def timestamp(self, column: str) -> str:
        # Microseconds always, then a zero fraction dropped as isoformat() drops it.
        if self.name == "postgresql":
            text = f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        else:  # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC) in SQLite
            text = f"replace({column}, ' ', 'T')"
        return f"replace({text} || '+00:00', '.000000+', '+')"

    def money(self, column: str) -> str:
        # NUMERIC(20, 8) prints 8 places; SQLite stores the same canonical text.
        return f"{column}::text" if self.name == "postgresql" else column

    def as_text(self, expression: str) -> str:
        return f"{expression}::text" if self.name == "postgresql" else expression


POSTGRESQL = JSONDialect("postgresql")
SQLITE = JSONDialect("sqlite", max_object_depth=6)
