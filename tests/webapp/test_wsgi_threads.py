"""The WSGI-on-threads adapter the web server runs Django through: a request arrives whole, a thread
answers it whole (one hand-off), a long answer is streamed, and the server's lifespan is answered."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from typing import Any

from webapp.core.wsgi_threads import WsgiOnThreads

Environ = dict[str, Any]


def _scope(**overrides: Any) -> dict[str, Any]:
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/drawings/",
        "root_path": "",
        "query_string": b"wait=10",
        "headers": [(b"content-type", b"application/json"), (b"x-thing", b"a"), (b"x-thing", b"b")],
        "client": ("10.1.2.3", 5555),
        "server": ("127.0.0.1", 8000),
    }
    return {**scope, **overrides}


def _run(coroutine: Any) -> None:
    """Run a coroutine to completion on a loop of its own, in a thread of its own (a browser test's
    session may hold a running loop in this one)."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _serve(app: WsgiOnThreads, scope: dict[str, Any], body: bytes = b"") -> list[dict[str, Any]]:
    """Run one request through the adapter; the messages it sent."""
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": body[:3], "more_body": True},
        {"type": "http.request", "body": body[3:]},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _run(app(scope, receive, send))
    return sent


def test_a_request_reaches_the_application_whole_and_its_answer_is_sent_whole() -> None:
    seen: dict[str, Any] = {}

    def application(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.update(environ, body=environ["wsgi.input"].read(), thread=threading.current_thread().name)
        start_response("201 Created", [("Content-Type", "application/json"), ("X-Request-ID", "abc")])
        return [b'{"ok":', b" true}"]

    sent = _serve(WsgiOnThreads(application, threads=2), _scope(), b'{"image": "x"}')

    assert seen["body"] == b'{"image": "x"}'
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == ("POST", "/api/drawings/", "wait=10")
    assert (seen["REMOTE_ADDR"], seen["SERVER_PORT"], seen["CONTENT_TYPE"]) == ("10.1.2.3", "8000", "application/json")
    assert seen["HTTP_X_THING"] == "a,b"
    assert seen["thread"].startswith("wsgi")
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"abc")],
        },
        {"type": "http.response.body", "body": b'{"ok": true}', "more_body": False},
    ]


def test_an_answer_longer_than_the_buffer_is_streamed_in_chunks_and_closed_once() -> None:
    closed = []

    class Chunks:
        def __iter__(self) -> Any:
            return iter([b"a" * 600, b"b" * 600, b"c" * 600])

        def close(self) -> None:
            closed.append(threading.current_thread().name)

    def application(environ: Environ, start_response: Callable[..., Any]) -> Chunks:
        start_response("200 OK", [])
        return Chunks()

    sent = _serve(WsgiOnThreads(application, threads=1, buffer_bytes=1000), _scope(method="GET"))

    bodies = [message for message in sent if message["type"] == "http.response.body"]
    assert len(bodies) > 1 and bodies[-1]["more_body"] is False
    assert b"".join(message["body"] for message in bodies) == b"a" * 600 + b"b" * 600 + b"c" * 600
    assert len(closed) == 1 and closed[0].startswith("wsgi")


def test_an_answer_that_fails_while_it_is_read_is_still_closed() -> None:
    closed = []

    class Failing:
        def __iter__(self) -> Any:
            yield b"part"
            raise RuntimeError("the body broke")

        def close(self) -> None:
            closed.append(True)

    def application(environ: Environ, start_response: Callable[..., Any]) -> Failing:
        start_response("200 OK", [])
        return Failing()

    try:
        _serve(WsgiOnThreads(application, threads=1), _scope(method="GET"))
    except RuntimeError as exc:
        assert str(exc) == "the body broke"
    else:
        raise AssertionError("the failure was swallowed")
    assert closed == [True]


def test_an_error_page_started_after_the_first_start_response_replaces_it() -> None:
    def application(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("500 Internal Server Error", [("Content-Type", "application/json")], exc_info=True)
        return [b"{}"]

    sent = _serve(WsgiOnThreads(application, threads=1), _scope())

    assert sent[0]["status"] == 500 and sent[0]["headers"] == [(b"content-type", b"application/json")]


def test_the_servers_lifespan_is_answered() -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _run(WsgiOnThreads(lambda environ, start: [], threads=1)({"type": "lifespan"}, receive, send))

    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_a_client_that_leaves_before_its_body_is_complete_reaches_no_thread() -> None:
    called = []

    def application(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        called.append(True)
        return []

    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _run(WsgiOnThreads(application, threads=1)(_scope(), receive, send))

    assert called == [] and sent == []
