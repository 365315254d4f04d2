"""/metrics: Prometheus text with the jobs, latencies, queue depth, live workers and model load times of
every web and worker process (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from tests.conftest import free_port, start_web_server
from tests.factories import canvas_png, data_url, mnist

pytestmark = pytest.mark.django_db(transaction=True)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition (0 if absent)."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_count_jobs_by_model_and_status_and_show_queues_workers_and_load_times(
    worker_env, celery_worker_process, tmp_path
):
    port = free_port()
    web = start_web_server(worker_env, port, tmp_path / "web.log")
    base = f"http://127.0.0.1:{port}"
    try:
        before = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
        image = data_url(canvas_png(mnist().x_test[5]))
        for _ in range(3):
            body = json.dumps({"image": image, "model": "numpy"}).encode()
            request = urllib.request.Request(
                f"{base}/api/drawings/", data=body, headers={"Content-Type": "application/json"}
            )
            created = json.loads(urllib.request.urlopen(request, timeout=10).read())
            deadline = time.monotonic() + 60
            while json.loads(urllib.request.urlopen(f"{created['url']}?wait=5", timeout=10).read())["status"] != "done":
                assert time.monotonic() < deadline
        # A worker counts a job just after storing its answer, so the last count may trail the answer a little.
        done = {"model": "numpy", "status": "done"}
        deadline = time.monotonic() + 10
        while True:
            response = urllib.request.urlopen(f"{base}/metrics", timeout=10)
            after = response.read().decode()
            counted = sample(after, "inkwell_jobs_total", **done) - sample(before, "inkwell_jobs_total", **done)
            if counted >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        web.terminate()
        web.wait(10)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert sample(after, "inkwell_jobs_total", **done) - sample(before, "inkwell_jobs_total", **done) == 3
    submitted = sample(after, "inkwell_drawings_submitted_total", model="numpy")
    assert submitted - sample(before, "inkwell_drawings_submitted_total", model="numpy") == 3
    count = "inkwell_job_submit_to_done_seconds_count"
    assert sample(after, count, model="numpy") - sample(before, count, model="numpy") == 3
    assert sample(after, "inkwell_job_queue_wait_seconds_count", model="numpy") >= 3
    for counted in ("inkwell_answers_total", "inkwell_answer_confidence_count", "inkwell_committee_agreement_count"):
        assert sample(after, counted, model="numpy") - sample(before, counted, model="numpy") == 3
    assert 'inkwell_queue_depth{queue="predict"}' in after
    assert sample(after, "inkwell_live_workers", queue="predict") >= 1
    assert sample(after, "inkwell_model_load_seconds_count", model="cnn") >= 1
