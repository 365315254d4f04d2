"""Slow and stalled uploads against the production HTTP server: 1,000 connections that send their headers
and part of a body, then stall or trickle a byte at a time, hold no Django thread. Other clients are
answered at once, and each stalled upload is answered 408 JSON when its body deadline passes."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import free_port, start_web_server
from tests.factories import canvas_png, data_url, mnist

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_CLIENTS = 1000
BODY_TIMEOUT_SECONDS = 6


@pytest.fixture
def site(worker_env, celery_worker_process, tmp_path):
    port = free_port()
    env = {**worker_env, "REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS)}
    web = start_web_server(env, port, tmp_path / "web.log")
    yield port
    web.terminate()
    web.wait(10)


async def _open_slow_upload(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /api/drawings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n"
    )
    writer.write(head.encode() + b'{"image": "')
    await writer.drain()
    return reader, writer


async def _trickle(writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            writer.write(b"A")
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(1)


def _timed_get(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert answer.status == 200
    return time.perf_counter() - started


def _submit_and_wait(port: int) -> tuple[float, dict]:
    body = json.dumps({"image": data_url(canvas_png(mnist().x_test[0])), "model": "numpy"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/drawings/?wait=10", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as answer:
        result = json.loads(answer.read())
    return time.perf_counter() - started, result


async def _scenario(port: int) -> tuple[list[float], list[tuple[float, dict]], list[bytes], float]:
    connections = [await _open_slow_upload(port) for _ in range(SLOW_CLIENTS)]
    opened = time.monotonic()
    stop = asyncio.Event()
    trickles = [asyncio.create_task(_trickle(writer, stop)) for _, writer in connections[: SLOW_CLIENTS // 2]]
    await asyncio.sleep(0.5)  # every upload is under way
    models_url = f"http://127.0.0.1:{port}/api/models/"
    reads = [await asyncio.to_thread(_timed_get, models_url) for _ in range(5)]
    drawings = [await asyncio.to_thread(_submit_and_wait, port) for _ in range(3)]
    answers = await asyncio.gather(*(reader.read() for reader, _ in connections))  # to the close
    waited = time.monotonic() - opened
    stop.set()
    await asyncio.gather(*trickles)
    for _, writer in connections:
        writer.close()
    return reads, drawings, answers, waited


def test_a_thousand_stalled_uploads_do_not_slow_other_clients_and_are_answered_408(site):
    # In a thread of its own: another test's event loop may still be set in this one.
    with ThreadPoolExecutor(1) as thread:
        reads, drawings, answers, waited = thread.submit(asyncio.run, _scenario(site)).result()
    assert max(reads) < 0.5, f"/api/models/ took {max(reads):.2f} s beside the stalled uploads"
    for seconds, result in drawings:
        assert result["status"] == "done"
        assert seconds < 2, f"a drawing took {seconds:.2f} s beside the stalled uploads"
    assert waited < BODY_TIMEOUT_SECONDS + 10
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), head[:80]
        assert json.loads(body)["error"]["code"] == "request_timeout"
