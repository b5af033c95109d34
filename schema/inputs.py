"""GraphQL inputs, declared by the Pydantic models they are validated with.

Strawberry's Pydantic integration builds `TradeInput` from `TradeCreate`'s fields (names, types,
defaults, descriptions), so an input field is declared once, in schema/models.py. The resolver
still validates with `TradeCreate` itself (`to_pydantic`), where each problem gets its path.
"""

from __future__ import annotations

import strawberry

import schema.enums  # noqa: F401 - registers Side as a GraphQL enum before the input uses it
from schema.models import TradeCreate


@strawberry.experimental.pydantic.input(model=TradeCreate, all_fields=True)
class TradeInput:
    pass
