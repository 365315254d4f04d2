"""Nothing accepted is lost: a worker killed mid-job, a broker that is down at submit time."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import pytest

from tests.conftest import free_port, start_web_server, start_worker
from tests.factories import canvas_png, data_url, mnist
from webapp.core.embedded_redis import ensure_redis
from webapp.drawings.models import Drawing, Status
from webapp.drawings.tasks import drawing_predict_task

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_status(drawing_id, statuses, timeout=90.0) -> Drawing:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drawing = Drawing.objects.get(pk=drawing_id)
        if drawing.status in statuses:
            return drawing
        time.sleep(0.05)
    raise AssertionError(f"drawing {drawing_id} never reached {statuses}: {drawing.status}")


def test_job_of_a_killed_worker_child_is_delivered_again_and_completes(worker_env, tmp_path):
    queue = f"kill-{os.getpid()}"
    # Without preloading, the first job loads the model itself: a window of seconds to kill it in.
    env = {**worker_env, "WORKER_PRELOAD_MODELS": "false"}
    worker = start_worker(env, f"victim{os.getpid()}", tmp_path, queues=queue)
    try:
        drawing = Drawing.objects.create(image=canvas_png(mnist().x_test[0]), model_name="cnn")
        drawing_predict_task.apply_async(args=[str(drawing.id)], queue=queue)
        wait_for_status(drawing.id, {Status.RUNNING})
        (child,) = worker.child_pids()
        os.kill(child, signal.SIGKILL)
        done = wait_for_status(drawing.id, {Status.DONE, Status.FAILED})
    finally:
        worker.stop()
    assert done.status == Status.DONE
    assert done.digit == int(mnist().y_test[0])
    assert done.attempts >= 2


def http_json(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_drawing_submitted_while_the_broker_is_down_is_stored_and_completes_after_it_returns(worker_env, tmp_path):
    redis_port, web_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {**worker_env, "REDIS_URL": redis_url}
    broker = ensure_redis(redis_url, tmp_path / "redis")
    web = start_web_server(env, web_port, tmp_path / "web.log")
    worker = None
    try:
        broker.terminate()
        broker.wait(10)
        started = time.monotonic()
        status, body = http_json(
            "POST", f"http://127.0.0.1:{web_port}/api/drawings/", {"image": data_url(canvas_png(mnist().x_test[1]))}
        )
        assert status == 202, body
        assert body["status"] == "queued"
        assert time.monotonic() - started < 10
        assert Drawing.objects.get(pk=body["id"]).status == Status.QUEUED

        broker = ensure_redis(redis_url, tmp_path / "redis")
        worker = start_worker(env, f"return{os.getpid()}", tmp_path, beat=True)
        done = wait_for_status(body["id"], {Status.DONE, Status.FAILED})
        assert done.status == Status.DONE
        assert done.digit == int(mnist().y_test[1])
        status, result = http_json("GET", f"{body['url']}?wait=1")
        assert status == 200 and result["status"] == "done"
    finally:
        if worker is not None:
            worker.stop()
        web.terminate()
        web.wait(10)
        if broker is not None:
            broker.terminate()
