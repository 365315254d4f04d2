"""Bodies as real clients send them to a live server: a 5 MB body without `Expect: 100-continue` gets the
413 JSON (not a reset connection), and a chunked body is read like any other."""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.conftest import free_port, start_web_server
from tests.factories import canvas_png, data_url, mnist

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(worker_env, tmp_path):
    port = free_port()
    web = start_web_server(worker_env, port, tmp_path / "web.log")
    yield port
    web.terminate()
    web.wait(10)


def test_an_oversized_body_sent_whole_without_expect_gets_the_413_answer(site):
    # urllib sends the whole body at once and asks the server to close the connection afterwards: a
    # server that answers and closes with the body unread resets the connection instead.
    body = json.dumps({"image": "A" * (5 * 1024 * 1024)}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{site}/api/drawings/", data=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    assert answer.value.code == 413
    assert json.loads(answer.value.read())["error"]["code"] == "image_too_large"


def test_a_chunked_body_is_accepted(site):
    body = json.dumps({"image": data_url(canvas_png(mnist().x_test[0]))}).encode()

    def chunks():
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    connection = http.client.HTTPConnection("127.0.0.1", site, timeout=30)
    connection.request(
        "POST", "/api/drawings/", body=chunks(), headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    response = connection.getresponse()
    answer = json.loads(response.read())
    assert response.status == 202, answer
    assert answer["status"] == "queued"


def test_a_chunked_body_over_the_limit_is_refused_with_413(site):
    def chunks():
        for _ in range(5 * 1024):
            yield b"A" * 1024

    connection = http.client.HTTPConnection("127.0.0.1", site, timeout=30)
    connection.request(
        "POST", "/api/drawings/", body=chunks(), headers={"Content-Type": "application/json"}, encode_chunked=True
    )
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "image_too_large"


@pytest.mark.parametrize(("length", "status"), [(5_000, 200), (100_000, 400)])
def test_a_long_request_line_is_answered_in_json(site, length, status):
    # 5 KB reaches Django (an unknown query is ignored); 100 KB is more than the HTTP parser takes.
    connection = http.client.HTTPConnection("127.0.0.1", site, timeout=30)
    connection.request("GET", "/api/models/?" + "a" * length)
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "application/json"
    answer = json.loads(response.read())
    assert response.status == status, answer
    assert status == 200 or answer["error"]["code"] == "bad_request"


def test_an_oversized_body_announced_with_expect_continue_is_refused_before_it_is_sent(site):
    with socket.create_connection(("127.0.0.1", site), timeout=10) as connection:
        connection.sendall(
            b"POST /api/drawings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):  # the server answers and closes without the body
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body)["error"]["code"] == "image_too_large"
