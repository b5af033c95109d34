"""Pydantic validation errors turned into BAD_USER_INPUT errors that name the argument."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schema.errors import BadUserInput

M = TypeVar("M", bound=BaseModel)


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def describe(error: ErrorDetails) -> tuple[str, str]:
    """(field as the client spells it, message) of one Pydantic error."""
    field = ".".join(to_camel(str(part)) for part in error["loc"])
    return field, error["msg"]


def validated(model: type[M], **arguments: Any) -> M:
    try:
        return model(**arguments)
    except ValidationError as error:
        field, message = describe(error.errors()[0])
        raise BadUserInput(f"{field}: {message}", argument=field) from None
