"""A worker's death, caused for real (SIGKILL of its whole process group): health tells the truth
within seconds, and the drawing it held runs again within 15 seconds."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import free_port, start_web_server, start_worker
from tests.factories import canvas_png, mnist
from webapp.core.embedded_redis import embedded_redis_url, ensure_redis
from webapp.drawings.models import Drawing, Status
from webapp.drawings.tasks import drawing_predict_task

pytestmark = pytest.mark.django_db(transaction=True)


def health(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def health_becomes(port: int, status: int, timeout: float = 30, models: bool | None = None) -> dict:
    """Poll until health answers `status` (and, if `models` is given, lists a loaded model or none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, body = health(port)
        if code == status and (models is None or models == any(body["loaded_models"].values())):
            return body
        time.sleep(0.2)
    raise AssertionError(f"health never answered {status}: {code} {body}")


def test_health_is_503_without_a_predict_consumer_and_forgets_a_killed_worker_within_seconds(worker_env, tmp_path):
    redis_url = embedded_redis_url(tmp_path / "redis")
    broker = ensure_redis(redis_url, tmp_path / "redis", append_only=False)
    env = {**worker_env, "REDIS_URL": redis_url}
    port = free_port()
    web = start_web_server(env, port, tmp_path / "web.log")
    workers = []
    try:
        workers.append(start_worker({**env, "WORKER_PRELOAD_MODELS": "false"}, "trainonly", tmp_path, "training"))
        body = health_becomes(port, 503)
        assert body["database"] and body["broker"]
        assert any(name.startswith("trainonly@") for name in body["workers"]) and body["predict_workers"] == []

        predictor = start_worker(env, "predictor", tmp_path, "predict")
        workers.append(predictor)
        body = health_becomes(port, 200, models=True)
        assert any(name.startswith("predictor@") for name in body["predict_workers"])
        assert any("cnn:" in model for models in body["loaded_models"].values() for model in models)

        os.killpg(predictor.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        body = health_becomes(port, 503, models=False)
        assert time.monotonic() - killed < 10
        assert body["predict_workers"] == []
    finally:
        for worker in workers:
            worker.stop()
        web.terminate()
        web.wait(10)
        if broker is not None:
            broker.terminate()


def test_liveness_answers_without_asking_the_database_or_the_broker(client):
    response = client.get("/api/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_the_drawing_of_a_killed_worker_runs_again_within_15_seconds(worker_env, celery_worker_process, tmp_path):
    queue = f"doomed-{os.getpid()}"
    # The beat (the requeue sweep, default period) runs beside the session's predict worker.
    env = {key: value for key, value in worker_env.items() if key != "REQUEUE_AFTER_SECONDS"}
    beat = start_worker(env, f"beat{os.getpid()}", tmp_path, queues=f"idle-{os.getpid()}", beat=True)
    # Without preloading, the first job loads the model itself: a window of seconds to kill it in.
    doomed = start_worker({**env, "WORKER_PRELOAD_MODELS": "false"}, f"doomed{os.getpid()}", tmp_path, queues=queue)
    try:
        drawing = Drawing.objects.create(image=canvas_png(mnist().x_test[2]), model_name="dense")
        drawing_predict_task.apply_async(args=[str(drawing.id)], queue=queue)
        deadline = time.monotonic() + 60
        while Drawing.objects.get(pk=drawing.pk).status != Status.RUNNING:
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.02)
        os.killpg(doomed.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        while Drawing.objects.get(pk=drawing.pk).status != Status.DONE:
            assert time.monotonic() - killed < 30, "the killed worker's drawing never ran again"
            time.sleep(0.1)
        recovered = time.monotonic() - killed
    finally:
        doomed.stop()
        beat.stop()
    done = Drawing.objects.get(pk=drawing.pk)
    assert done.digit == int(mnist().y_test[2])
    assert done.attempts >= 2
    assert recovered < 15
