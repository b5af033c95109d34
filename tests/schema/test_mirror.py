"""The Strawberry types that mirror a Pydantic model agree with it field by field (inputs are
built from their models: schema/inputs.py)."""

from __future__ import annotations

import typing
from decimal import Decimal

import pytest
from pydantic import BaseModel
from strawberry.types import get_object_definition

from schema import models, types

SCALARS = {int, str, Decimal, bool}


def _pydantic_fields(model: type[BaseModel]) -> dict[str, tuple[object, bool]]:
    fields = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        optional = type(None) in typing.get_args(annotation)
        base = next((a for a in typing.get_args(annotation) if a is not type(None)), annotation)
        fields[name] = (typing.get_origin(base) or base, optional)
    return fields


def _strawberry_fields(cls: type, skip: set[str]) -> dict[str, tuple[object, bool]]:
    definition = get_object_definition(cls, strict=True)
    fields = {}
    for field in definition.fields:
        if field.python_name in skip:
            continue
        annotation = field.type
        optional = False
        of_type = getattr(annotation, "of_type", None)
        if of_type is not None and type(annotation).__name__ == "StrawberryOptional":
            annotation, optional = of_type, True
        enum_def = getattr(annotation, "wrapped_cls", None)
        fields[field.python_name] = (enum_def or annotation, optional)
    return fields


@pytest.mark.parametrize(
    ("strawberry_cls", "model", "skip"),
    [
        (types.User, models.UserRead, {"degrees", "trades", "private_email"}),
    ],
)
def test_fields_agree(strawberry_cls: type, model: type[BaseModel], skip: set[str]) -> None:
    assert _strawberry_fields(strawberry_cls, skip) == _pydantic_fields(model)
