"""README's run command supervises what it starts: a SIGKILLed worker comes back within 30 s and the
drawings accepted meanwhile complete; stopping the command stops everything it started."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port
from tests.factories import canvas_png, data_url, mnist
from webapp.core.embedded_redis import embedded_redis_url, ensure_redis

pytestmark = pytest.mark.django_db(transaction=True)


def http_json(url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def poll(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def started_pid(log_text: str, name: str) -> int | None:
    found = re.findall(rf"started {name} \(pid (\d+)\)", log_text)
    return int(found[-1]) if found else None


@contextmanager
def run_command(worker_env: dict[str, str], tmp_path: Path, stdout: Any) -> Iterator[tuple[subprocess.Popen, str]]:
    """README's run command on its own broker and a free port, with `stdout` as its output: the process
    and the site's address. Afterwards it is stopped (SIGTERM) and nothing it started may be left."""
    redis_url = embedded_redis_url(tmp_path / "redis")
    broker = ensure_redis(redis_url, tmp_path / "redis", append_only=False)
    port = free_port()
    env = {**worker_env, "REDIS_URL": redis_url, "PORT": str(port), "WEB_WORKERS": "1", "WEB_THREADS": "4"}
    env["WORKER_CONCURRENCY"] = "1"
    site = subprocess.Popen(
        [sys.executable, "-m", "webapp.run"],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield site, f"http://127.0.0.1:{port}"
    finally:
        site.send_signal(signal.SIGTERM)
        try:
            site.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(site.pid, signal.SIGKILL)
            raise
        if broker is not None:
            broker.terminate()
    leftovers = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True).stdout.split()
    assert leftovers == [], "the web server outlived the run command"


def test_a_killed_prediction_worker_is_restarted_and_the_drawings_accepted_meanwhile_complete(worker_env, tmp_path):
    log = tmp_path / "run.log"
    with open(log, "ab") as output, run_command(worker_env, tmp_path, output) as (_, base):
        poll(lambda: http_json(f"{base}/api/health/")[0] == 200, 120, "the site never became healthy")
        victim = started_pid(log.read_text(), "predict-worker")
        assert victim is not None
        pool = subprocess.run(["pgrep", "-P", str(victim)], capture_output=True, text=True).stdout.split()
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        status, body = http_json(f"{base}/api/drawings/", {"image": data_url(canvas_png(mnist().x_test[3]))})
        assert status == 202, body

        def done() -> dict | None:
            code, result = http_json(f"{body['url']}?wait=2")
            return result if code == 200 and result.get("status") == "done" else None

        result = poll(done, 60, "the drawing accepted while the worker was dead never completed")
        assert result["digit"] == int(mnist().y_test[3])
        assert time.monotonic() - killed < 30
        text = log.read_text()
        assert f"predict-worker (pid {victim}) exited" in text
        assert started_pid(text, "predict-worker") != victim
        # The dead main process's pool children did not live on as orphans.
        assert not any(alive(int(pid)) for pid in pool)


def test_the_site_runs_on_when_nobody_reads_its_output_any_more(worker_env, tmp_path):
    # `make run | head -3`: the pipe closes after a few lines; the services must not die of it.
    with run_command(worker_env, tmp_path, subprocess.PIPE) as (site, base):
        assert site.stdout is not None
        site.stdout.readline()
        site.stdout.close()  # the reader is gone
        poll(lambda: http_json(f"{base}/api/health/")[0] == 200, 120, "the site never became healthy")
        status, body = http_json(f"{base}/api/drawings/?wait=10", {"image": data_url(canvas_png(mnist().x_test[3]))})
        assert status == 200 and body["digit"] == int(mnist().y_test[3]), body
        assert site.poll() is None


def test_the_idle_site_is_quiet_and_says_one_line_per_drawing(worker_env, tmp_path):
    # The requeue sweep runs every second here: at the default log level none of its beats is printed.
    log = tmp_path / "run.log"
    env = {**worker_env, "REQUEUE_SWEEP_SECONDS": "1"}
    env.pop("LOG_LEVEL", None)
    with open(log, "ab") as output, run_command(env, tmp_path, output) as (_, base):
        poll(lambda: http_json(f"{base}/api/health/")[0] == 200, 120, "the site never became healthy")
        poll(lambda: " ready." in log.read_text() and "Beat lock acquired" in log.read_text(), 60, "never ready")
        ids = []
        for index in range(3):
            status, body = http_json(
                f"{base}/api/drawings/?wait=10", {"image": data_url(canvas_png(mnist().x_test[index]))}
            )
            assert status == 200, body
            ids.append(body["id"])
        poll(
            lambda: all(f"Drawing {drawing_id}: digit" in log.read_text() for drawing_id in ids),
            10,
            "no line per drawing",
        )
        before = log.read_text().splitlines()
        time.sleep(12)  # a dozen sweeps
        idle = log.read_text().splitlines()[len(before) :]
    assert all(sum(drawing_id in line for line in before) == 1 for drawing_id in ids), before
    assert len(idle) <= 2, idle
    text = log.read_text()
    assert "Scheduler: Sending due task" not in text
    assert "I0000" not in text and "trackable_obj" not in text  # TensorFlow's start-up notices
