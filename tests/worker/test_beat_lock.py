"""One beat at a time: a second beat started by mistake stands by, and takes over when the first dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def start_beat(env: dict[str, str], tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.beat", str(tmp_path / f"{name}.schedule")],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, log


def wait_for_line(log: Path, text: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"{log.name} never said {text!r}:\n{log.read_text()[-2000:]}")


def test_a_second_beat_stands_by_and_takes_over_when_the_first_is_killed(worker_env, tmp_path):
    first, first_log = start_beat(worker_env, tmp_path, "first")
    second = None
    try:
        wait_for_line(first_log, "Beat lock acquired")
        second, second_log = start_beat(worker_env, tmp_path, "second")
        wait_for_line(second_log, "standing by")
        # The first keeps renewing its lock: after more than a lifetime of the lock, the second still waits.
        time.sleep(20)
        assert first.poll() is None, first_log.read_text()[-2000:]
        assert "Lost the beat lock" not in first_log.read_text()
        assert "Beat lock acquired" not in second_log.read_text()
        assert "Scheduler: Sending" not in second_log.read_text()

        os.killpg(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        took_over = wait_for_line(second_log, "Beat lock acquired", timeout=40)
        assert took_over - killed < 20  # the lock's lifetime (15 s) plus a poll
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)
