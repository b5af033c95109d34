"""Decoding JSON that clients send: GraphQL bodies, query parameters and WebSocket messages.

The standard library's decoder recurses once per nesting level and raises RecursionError (not a
ValueError) when a document such as `[[[[...]]]]` nests deeper than the interpreter's recursion
limit allows. Every caller already answers a ValueError as malformed input, so a document too
deep to decode is reported as one: a 400, a GraphQL request error or a 4400 close, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

NESTED_TOO_DEEPLY = "The JSON is nested too deeply"


class NestedTooDeeply(json.JSONDecodeError):
    """A JSONDecodeError, so that code catching malformed JSON (Strawberry's WebSocket reader
    among it) treats it as such."""

    def __init__(self) -> None:
        super().__init__(NESTED_TOO_DEEPLY, "", 0)


def decode_json(data: str | bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise NestedTooDeeply from None
