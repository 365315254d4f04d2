"""Read each request's whole body in the event loop, within a deadline and a size bound, before Django
(and a thread) sees the request: a client that stalls or trickles its upload costs a coroutine, never a
thread, and is answered 408 when the deadline passes; an oversized body is answered 413.

Answers are in the API's error shape. A body declared too large is read and discarded up to
`drain_max_bytes` first, so that clients which send it all without waiting (browsers, requests, urllib)
read the 413 rather than a reset connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from webapp.core.error_shape import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Any, Any, Any], Awaitable[None]]


class BodyTimeout(Exception):
    """The body did not arrive within the deadline."""


class BodyTooLarge(Exception):
    """More bytes arrived than the bound allows."""


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


class BufferedBodyMiddleware:
    """ASGI middleware: buffer the body (see the module docstring), then call `app` with it in one message."""

    def __init__(self, app: App, *, timeout: float, max_bytes: int, drain_max_bytes: int) -> None:
        self.app, self.timeout, self.max_bytes, self.drain_max_bytes = app, timeout, max_bytes, drain_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        declared = _content_length(scope)
        try:
            if declared is not None and declared > self.max_bytes:
                # A client that waits for `100 Continue` has sent nothing yet: answer at once.
                if declared <= self.drain_max_bytes and not _expects_continue(scope):
                    await _discard_body(receive, deadline)
                await _too_large(send, declared, self.max_bytes)
                return
            body = await _read_body(receive, deadline, self.max_bytes, self.drain_max_bytes)
        except BodyTimeout:
            message = f"The request body did not arrive within {self.timeout:g} seconds."
            await _answer(send, 408, error_body("request_timeout", message))
            return
        except BodyTooLarge:
            await _too_large(send, None, self.max_bytes)
            return
        except ClientGone:
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(_with_length(scope, len(body)), replay, send)


def _with_length(scope: Scope, length: int) -> Scope:
    """The scope with the body's real length (a chunked body has none, and DRF reads none without it)."""
    headers = [(name, value) for name, value in scope.get("headers", ()) if name != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def _expects_continue(scope: Scope) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in scope.get("headers", ()))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _next_message(receive: Receive, deadline: float) -> Message:
    """The next message, or BodyTimeout once the deadline (loop time) has passed. One timer, no task
    per message (asyncio.wait_for made both)."""
    try:
        async with asyncio.timeout_at(deadline):
            return await receive()
    except TimeoutError as exc:
        raise BodyTimeout from exc


async def _read_body(receive: Receive, deadline: float, max_bytes: int, drain_max_bytes: int) -> bytes:
    """The whole body (a chunked one too) if it is at most `max_bytes`; a larger one is discarded as it
    arrives, up to `drain_max_bytes`, before BodyTooLarge."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await _next_message(receive, deadline)
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if size > max_bytes:
            if not more or size > drain_max_bytes:
                raise BodyTooLarge
            chunks.clear()
            continue
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


async def _discard_body(receive: Receive, deadline: float) -> None:
    while True:
        message = await _next_message(receive, deadline)
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return


async def _too_large(send: Send, declared: int | None, max_bytes: int) -> None:
    size = f"{declared} bytes" if declared is not None else f"over {max_bytes} bytes"
    message = f"The request is {size}; the limit is {max_bytes} bytes."
    await _answer(send, 413, error_body("image_too_large", message, "image"))


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
