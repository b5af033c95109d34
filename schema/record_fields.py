"""GraphQL types built from db records by name: a new column needs no edit in `from_record`."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


_SHARED: dict[tuple[type[Any], type[DataclassInstance]], tuple[str, ...]] = {}


def _shared(type_: type[Any], record: type[DataclassInstance]) -> tuple[str, ...]:
    """The fields a Strawberry type takes at construction that the record has too."""
    names = _SHARED.get((type_, record))
    if names is None:
        own = {field.name for field in dataclasses.fields(record)}
        names = tuple(f.name for f in dataclasses.fields(type_) if f.init and f.name in own)
        _SHARED[type_, record] = names
    return names


def record_fields(type_: type[Any], record: DataclassInstance, **converted: Any) -> dict[str, Any]:
    """The record's values for the fields of `type_` of the same name, as they are, and
    `converted` for those whose GraphQL form differs (an enum, an id as text) or name."""
    values = {name: getattr(record, name) for name in _shared(type_, type(record))}
    values.update(converted)
    return values
