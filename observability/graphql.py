"""Strawberry's side of the request record: which operation ran, and its errors by code."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from observability import metrics, record


class Observe(SchemaExtension):
    """Listed before ErrorCodes, so it sees the errors after they got their codes."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        try:
            operation_type: str | None = context.operation_type.value
        except Exception:  # no document (a parse error): there is no operation to name
            operation_type = None
        record.set_operation(context.operation_name, operation_type)
        result = context.result
        for error in (result.errors if result is not None else None) or []:
            code = (error.extensions or {}).get("code", "INTERNAL_SERVER_ERROR")
            metrics.GRAPHQL_ERRORS.labels(str(code)).inc()
