"""Reading a request's body in an ASGI layer that may hand the request on: read whole, then
replayed to the app as if it had not been read (the compiled path, persisted queries)."""

from __future__ import annotations

from starlette.types import Message, Receive


async def read_body(receive: Receive) -> bytes | None:
    """The whole body; None when the client went away first. BodyLimit (web/body_limit.py),
    outside, refuses one beyond MAX_BODY_BYTES as it is read."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The request as the app would have received it: the body, then whatever comes next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
