"""One request per drawing: `POST /api/drawings/?wait=N` answers with the result when it is ready in time,
and a web process waits on ONE Redis subscription however many requests wait."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.conftest import free_port, start_web_server, waiting_long_polls
from tests.factories import canvas_png, data_url, drawing_factory, mnist

pytestmark = pytest.mark.django_db(transaction=True)


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_a_submit_that_waits_is_answered_with_the_finished_result(client, celery_worker_process):
    image = data_url(canvas_png(mnist().x_test[7]))
    response = client.post(
        "/api/drawings/?wait=10", {"image": image, "model": "numpy"}, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "done"
    assert body["digit"] == int(mnist().y_test[7])
    assert len(body["probabilities"]) == 10 and body["processed_image"].startswith("data:image/png;base64,")
    assert body["feedback_token"] and body["url"].endswith(f"/api/drawings/{body['id']}/")
    assert response["Location"] == body["url"]


def test_a_submit_that_waits_answers_from_the_finish_message_without_reading_the_row(client, celery_worker_process):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    image = data_url(canvas_png(mnist().x_test[3]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/api/drawings/?wait=10", {"image": image, "model": "numpy"}, content_type="application/json"
        )
    assert response.status_code == 200 and response.json()["digit"] == int(mnist().y_test[3])
    reads = [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith("SELECT")]
    assert not [sql for sql in reads if "drawings_drawing" in sql], reads


def test_a_submit_without_wait_is_answered_202_at_once(client):
    image = data_url(canvas_png(mnist().x_test[7]))
    response = client.post("/api/drawings/", {"image": image}, content_type="application/json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize("wait", ["nan", "inf", "-1", "11"])
def test_a_submit_with_a_bad_wait_is_refused_before_anything_is_stored(client, wait):
    from webapp.drawings.models import Drawing

    before = Drawing.objects.count()
    image = data_url(canvas_png(mnist().x_test[7]))
    response = client.post(f"/api/drawings/?wait={wait}", {"image": image}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_wait"
    assert Drawing.objects.count() == before


def test_a_web_process_holds_one_subscription_however_many_requests_wait(worker_env, tmp_path):
    drawing = drawing_factory(digit=None, model_name="cnn")  # queued, and nothing will run it
    port = free_port()
    web = start_web_server(worker_env, port, tmp_path / "web.log")
    admin = redis.Redis.from_url(worker_env["REDIS_URL"])
    db = admin.connection_pool.connection_kwargs.get("db", 0)

    def subscriptions() -> int:
        return sum(int(c.get("sub", 0)) + int(c.get("psub", 0)) > 0 for c in admin.client_list() if int(c["db"]) == db)

    try:
        before = subscriptions()
        url = f"http://127.0.0.1:{port}/api/drawings/{drawing.pk}/?wait=3"
        with ThreadPoolExecutor(50) as pool:
            polls = [pool.submit(urllib.request.urlopen, url, timeout=30) for _ in range(50)]
            deadline = time.monotonic() + 3
            while waiting_long_polls(port) < 50:  # every poll is waiting now (they answer after 3 s)
                assert time.monotonic() < deadline, "the polls did not all start waiting"
                time.sleep(0.05)
            during = subscriptions()
            answers = [json.loads(poll.result().read()) for poll in polls]
    finally:
        web.terminate()
        web.wait(10)
    assert all(answer["status"] == "queued" for answer in answers)
    assert during - before == 1


def test_waiting_requests_never_take_every_thread(worker_env, tmp_path):
    drawing = drawing_factory(digit=None, model_name="cnn")  # queued, and nothing will run it
    port = free_port()
    env = {**worker_env, "LONG_POLL_MAX_WAITING": "4"}
    web = start_web_server(env, port, tmp_path / "web.log", threads=8)
    url = f"http://127.0.0.1:{port}/api/drawings/{drawing.pk}/?wait=5"

    def timed_poll() -> tuple[float, dict]:
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as answer:
            return time.perf_counter() - started, json.loads(answer.read())

    try:
        with ThreadPoolExecutor(12) as pool:
            polls = [pool.submit(timed_poll) for _ in range(12)]
            deadline = time.monotonic() + 3
            while waiting_long_polls(port) < 4:
                assert time.monotonic() < deadline, "four polls did not start waiting"
                time.sleep(0.05)
            started = time.perf_counter()
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/models/", timeout=30).read()
            models_seconds = time.perf_counter() - started
            assert waiting_long_polls(port) == 4
            answers = [poll.result() for poll in polls]
    finally:
        web.terminate()
        web.wait(10)
    assert models_seconds < 1, f"/api/models/ took {models_seconds:.2f} s beside the waiting polls"
    assert all(body["status"] == "queued" for _, body in answers)
    quick = [seconds for seconds, _ in answers if seconds < 2]
    assert len(quick) == 8, sorted(seconds for seconds, _ in answers)  # beyond four waiters, answered at once
