"""The app's subclasses of Strawberry's view, WebSocket handlers, adapter and executor override
hooks that still exist upstream, with the same parameters: a hook renamed or reshaped by an
upgrade would otherwise stop being called, or be called wrongly, without an error."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from schema.execution import SharedEventExecutor
from web.graphql_view import GraphQLView, LegacyWSHandler, SizedWebSocketAdapter, TransportWSHandler

SUBCLASSES: list[type] = [
    GraphQLView,
    TransportWSHandler,
    LegacyWSHandler,
    SizedWebSocketAdapter,
    SharedEventExecutor,
]
# Methods of their own, not overrides, are private by convention (`_key_of_selection`).
OVERRIDES = [
    (cls, name)
    for cls in SUBCLASSES
    for name, member in vars(cls).items()
    if inspect.isfunction(member) and not name.startswith("_")
]


def _parameters(method: Callable[..., Any]) -> list[tuple[str, Any]]:
    return [(p.name, p.kind) for p in inspect.signature(method).parameters.values()]


@pytest.mark.parametrize(
    ("cls", "name"), OVERRIDES, ids=[f"{cls.__name__}.{name}" for cls, name in OVERRIDES]
)
def test_each_override_still_overrides(cls: type, name: str) -> None:
    upstream = next((base for base in cls.__mro__[1:] if name in vars(base)), None)
    assert upstream is not None, f"{cls.__name__}.{name} overrides nothing: renamed upstream?"
    assert _parameters(getattr(cls, name)) == _parameters(getattr(upstream, name))


def test_the_hooks_are_found() -> None:
    assert {
        "execute_single",
        "parse_json",
        "on_ws_connect",
        "iter_json",
        "build_per_event_executor",
        "send_message",
    } <= {name for _, name in OVERRIDES}
