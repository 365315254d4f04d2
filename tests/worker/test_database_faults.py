"""PostgreSQL faults caused for real: backends terminated again and again under load, and hundreds of
long polls against a bounded connection pool; and which processes' commits wait for the WAL flush.
(SQLite has no server to cut connections from: these run in .ci/run's PostgreSQL phase.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection

from tests.conftest import free_port, start_web_server, waiting_long_polls
from tests.factories import canvas_png, data_url, drawing_factory, mnist
from webapp.drawings.models import Drawing, Status
from webapp.run import PREDICT_WORKER_ENV, ROOT

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgres() -> str:
    """A connection string to the test database's server, for the fault injector."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a PostgreSQL server to terminate connections on (DATABASE_URL=postgres://...)")
    settings = connection.settings_dict
    return (
        f"host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"user={settings['USER'] or 'postgres'} dbname=postgres"
    )


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def request(method: str, url: str, body: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names in lower case: HTTP's are case-insensitive) and body of one request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers.items()), error.read()


def test_terminated_connections_under_load_never_fail_a_drawing_or_leak_database_text(
    postgres, worker_env, celery_worker_process, tmp_path
):
    database = connection.settings_dict["NAME"]
    port = free_port()
    web = start_web_server(worker_env, port, tmp_path / "web.log")
    stop = threading.Event()
    terminated = 0

    def cut_connections() -> None:
        nonlocal terminated
        with psycopg.connect(postgres, autocommit=True) as admin:
            while not stop.is_set():
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [database],
                ).fetchall()
                terminated += len(rows)
                time.sleep(0.3)

    image = data_url(canvas_png(mnist().x_test[4]))

    def submit(_: int) -> tuple[int, dict[str, str], bytes]:
        return request("POST", f"http://127.0.0.1:{port}/api/drawings/", {"image": image, "model": "numpy"})

    cutter = threading.Thread(target=cut_connections)
    try:
        cutter.start()
        started = time.monotonic()
        answers = []
        with ThreadPoolExecutor(8) as pool:
            while time.monotonic() - started < 6:
                answers += list(pool.map(submit, range(16)))
        stop.set()
        cutter.join()
        accepted = []
        for status, headers, body in answers:
            answer = json.loads(body)  # every answer is JSON, never an HTML error page
            assert status in (202, 503), (status, answer)
            if status == 503:
                assert answer["error"]["code"] == "storage_unavailable"
                assert headers.get("retry-after")
                assert "terminat" not in body.decode().lower()
            else:
                accepted.append(answer["id"])
        assert terminated > 10 and len(accepted) > 10

        deadline = time.monotonic() + 90
        while True:
            connection.close()  # the cutter ended this test's connection too
            states = dict(Drawing.objects.filter(pk__in=accepted).values_list("pk", "status"))
            if all(state == Status.DONE for state in states.values()) and len(states) == len(accepted):
                break
            assert time.monotonic() < deadline, f"not all accepted drawings were done: {states}"
            time.sleep(0.5)
    finally:
        stop.set()
        web.terminate()
        web.wait(10)
        connection.close()


def test_hundreds_of_waiting_long_polls_hold_at_most_twenty_database_connections(postgres, worker_env, tmp_path):
    database = connection.settings_dict["NAME"]
    drawing = drawing_factory(digit=None, model_name="cnn")  # queued, and nothing will run it
    port = free_port()
    web = start_web_server(worker_env, port, tmp_path / "web.log", threads=600)
    url = f"http://127.0.0.1:{port}/api/drawings/{drawing.pk}/?wait=10"

    def connections() -> int:
        with psycopg.connect(postgres, autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
            ).fetchone()
            return int(row[0]) if row else 0

    try:
        before = connections()
        with ThreadPoolExecutor(500) as pool:
            polls = [pool.submit(request, "GET", url) for _ in range(500)]
            deadline = time.monotonic() + 7
            while waiting_long_polls(port) < 500:  # every poll is waiting
                assert time.monotonic() < deadline, "the long polls did not all start waiting"
                time.sleep(0.05)
            during = connections()
            answers = [poll.result() for poll in polls]
    finally:
        web.terminate()
        web.wait(10)
    assert all(status == 200 and json.loads(body)["status"] == "queued" for status, _, body in answers)
    assert during - before <= 20, f"{during - before} connections held by 500 waiting long polls"


def _session_synchronous_commit(postgres: str, **env: str) -> str:
    """`SHOW synchronous_commit` in a fresh Django process with `env`, on the test database's server."""
    settings = connection.settings_dict
    user, host, port = settings["USER"] or "postgres", settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    url = f"postgres://{user}@{host}:{port}/postgres"
    code = (
        "import django; django.setup(); from django.db import connection; cursor = connection.cursor();"
        " cursor.execute('SHOW synchronous_commit'); print(cursor.fetchone()[0])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()


def test_only_the_prediction_worker_commits_without_waiting_for_the_flush(postgres):
    """The worker's claim and answer skip the WAL flush; every other process (the web's INSERT of a
    drawing) keeps it, so an accepted drawing survives a server crash."""
    assert _session_synchronous_commit(postgres, **PREDICT_WORKER_ENV) == "off"
    assert _session_synchronous_commit(postgres) == "on"
