"""Run the WSGI application (Django) under the ASGI server on a pool of reused threads, one hand-off
per request.

`BufferedBodyMiddleware` has read the whole body in the event loop before this sees the request, so a
thread gets the request complete, runs Django, and hands back the whole answer: one trip from the loop
to a thread and back, where a general bridge (a2wsgi) makes one for the body, the headers and each
chunk, and a queue and a task besides (one uvicorn process answering `/api/health/live/`: 1.73 ms of
CPU per request with a2wsgi, 1.09 ms with this). An answer larger than `buffer_bytes` (a static file) is
streamed, one hand-off per further chunk. Threads are reused, so Django's database connections persist.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# An answer up to this size is handed back whole; a larger one is streamed.
BUFFER_BYTES = 1024 * 1024


class Answer:
    """What the WSGI application answered: status, headers, the body read so far and, for a long
    body, the rest of its chunks."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: Headers = []
        self.chunks: list[bytes] = []
        self.rest: Iterator[bytes] | None = None
        self.close: Callable[[], None] | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """WSGI's `start_response`; nothing is sent until the application returns, so a second call
        (with `exc_info`, for an error page) simply replaces the first."""
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]
        return self.chunks.append


class WsgiOnThreads:
    """ASGI application: each HTTP request (its body already whole) runs `app` on one of `threads`
    reused threads."""

    def __init__(self, app: WsgiApp, *, threads: int, buffer_bytes: int = BUFFER_BYTES) -> None:
        self.app, self.buffer_bytes = app, buffer_bytes
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await _whole_body(receive)
        if body is None:  # the client left
            return
        loop = asyncio.get_running_loop()
        run = contextvars.copy_context().run
        answer = await loop.run_in_executor(self.executor, run, self._respond, environ(scope, body))
        try:
            await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
            await send(
                {"type": "http.response.body", "body": b"".join(answer.chunks), "more_body": answer.rest is not None}
            )
            while answer.rest is not None:
                chunk = await loop.run_in_executor(self.executor, run, _next_chunk, answer.rest)
                await send({"type": "http.response.body", "body": chunk or b"", "more_body": chunk is not None})
                if chunk is None:
                    answer.rest = None
        finally:
            if answer.close is not None:
                await loop.run_in_executor(self.executor, run, answer.close)

    def _respond(self, environ: dict[str, Any]) -> Answer:
        """Run the application; read its body up to `buffer_bytes` (the rest is streamed)."""
        answer = Answer()
        iterable = self.app(environ, answer.start_response)
        answer.close = getattr(iterable, "close", None)
        try:
            chunks = iter(iterable)
            size = 0
            for chunk in chunks:
                answer.chunks.append(chunk)
                size += len(chunk)
                if size > self.buffer_bytes:
                    answer.rest = chunks
                    return answer
        except BaseException:
            if answer.close is not None:  # Django's request_finished (connections back) runs on close
                answer.close()
            raise
        if answer.close is not None:
            answer.close()
            answer.close = None
        return answer


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


async def _whole_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope whose body is `body` (PEP 3333: strings are latin-1)."""
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server_name, server_port = scope.get("server") or ("localhost", 80)
    result: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port or 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        result["REMOTE_ADDR"], result["REMOTE_PORT"] = client[0], str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin1")
        result[name] = f"{result[name]},{value}" if name in result else value
    return result
