"""Shared test infrastructure: the data sets, a real Redis, a real Celery worker process, the real database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.environment import OWN_REDIS, TEST_REDIS_DIR
from webapp.core.embedded_redis import ensure_redis
from webapp.run import PREDICT_WORKER_ENV
from webapp.web_server import web_server_command

ROOT = Path(__file__).resolve().parent.parent
SUBSETS = Path(__file__).resolve().parent / "data"
# Each data set's variable, its name, and the committed subset the tests read when the variable is not set.
DATA_SETS = {
    "MNIST_DIR": ("MNIST", SUBSETS / "mnist"),
    "HWD1000_DIR": ("HwD-1000", SUBSETS / "hwd1000"),
    "UNIPEN_DIR": ("unipen-dev", SUBSETS / "unipen-dev"),
}


def pytest_configure(config: pytest.Config) -> None:
    """Point unset data variables at the committed subsets, for the tests and the processes they start."""
    for variable, (_, subset) in DATA_SETS.items():
        if not os.environ.get(variable, "").strip():
            os.environ[variable] = str(subset)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front which data each set comes from: the full set a variable names, or the committed subset."""
    lines = []
    for variable, (name, subset) in DATA_SETS.items():
        directory = Path(os.environ[variable])
        if directory.resolve() == subset:
            lines.append(f"{name}: committed subset {subset.relative_to(ROOT)} (set {variable} for the full set)")
        else:
            lines.append(f"{name}: full set from {variable}={directory}")
    return lines


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The broker URL: REDIS_URL if given (used as is, never flushed), else the tests' own embedded
    server on a socket in var/test-redis/, apart from a site running from this checkout."""
    process = ensure_redis(settings.REDIS_URL, TEST_REDIS_DIR, append_only=False)
    if OWN_REDIS:
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    yield settings.REDIS_URL
    if process is not None:
        process.terminate()
        process.wait(10)


def database_url(database: dict) -> str:
    """A DATABASE_URL for another process to open the database this test run uses."""
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{database['NAME']}"
    user = database.get("USER") or "postgres"
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{database['NAME']}"


class WorkerProcess:
    """A `celery worker` subprocess on the test database and broker."""

    def __init__(self, env: dict[str, str], name: str, log_path: Path, queues: str, beat: bool) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")
        beat_args = ["--beat", f"--schedule={log_path.with_suffix('.beat')}"] if beat else []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.app",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                f"--queues={queues}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}@%h",
                *beat_args,
            ],
            cwd=ROOT,
            env={**PREDICT_WORKER_ENV, **env} if "predict" in queues.split(",") else env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def child_pids(self) -> list[int]:
        """Pids of the prefork pool's children."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()


@pytest.fixture(scope="session")
def worker_env(redis_server: str, django_db_setup: None, django_db_blocker) -> dict[str, str]:
    """Environment for a worker process that sees the test database and the test broker."""
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_server,
        "INFERENCE_THREADS": "1",
        "REQUEUE_AFTER_SECONDS": "2",
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
    }


def start_worker(
    env: dict[str, str], name: str, tmp_dir: Path, queues: str = "predict", beat: bool = False
) -> WorkerProcess:
    """Start a worker and wait until it says it is ready."""
    worker = WorkerProcess(env, name, tmp_dir / f"{name}.log", queues, beat)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if f"{name}@" in worker.log_path.read_text() and " ready." in worker.log_path.read_text():
            return worker
        if worker.process.poll() is not None:
            break
        time.sleep(0.1)
    worker.stop()
    raise RuntimeError(
        f"Celery worker {name} did not start; see {worker.log_path}:\n{worker.log_path.read_text()[-3000:]}"
    )


@pytest.fixture(scope="session")
def celery_worker_process(worker_env: dict[str, str], tmp_path_factory) -> Iterator[WorkerProcess]:
    """One live worker for the whole session (models preloaded in its pool child)."""
    worker = start_worker(worker_env, "session", tmp_path_factory.mktemp("workers"))
    yield worker
    worker.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers, even if with an error status
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Nothing answered at {url}")


def start_web_server(
    env: dict[str, str], port: int, log_path: Path, threads: int | None = None
) -> subprocess.Popen[bytes]:
    """The site under its production HTTP server (one process, `threads` Django threads), on the given port."""
    log = open(log_path, "ab")
    process = subprocess.Popen(
        web_server_command(sys.executable, "127.0.0.1", port, 1),
        cwd=ROOT,
        env={**env, "WEB_THREADS": str(threads)} if threads else env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_http(f"http://127.0.0.1:{port}/api/models/")
    return process


def waiting_long_polls(port: int) -> float:
    """A live web server's own count of requests waiting for a drawing (from its /metrics)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("inkwell_long_polls_waiting "):
                return float(line.split()[1])
    return 0.0
