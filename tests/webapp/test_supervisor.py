"""The supervisor's restart policy, on real short-lived processes and a controlled clock."""

from __future__ import annotations

import time

from tests.conftest import ROOT
from webapp.supervisor import MAX_BACKOFF_SECONDS, Service, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def wait_exit(service: Service) -> None:
    assert service.process is not None
    service.process.wait(10)


def test_a_process_that_keeps_dying_is_restarted_with_doubling_backoff_up_to_the_cap():
    clock = Clock()
    service = Service("crasher", ["sh", "-c", "exit 3"], ROOT)
    supervisor = Supervisor([service], clock=clock)
    supervisor.start()
    delays = []
    for _ in range(7):
        wait_exit(service)
        supervisor.check()
        assert service.restart_at is not None
        delays.append(service.restart_at - clock.now)
        first_pid = service.process.pid
        clock.now = service.restart_at
        supervisor.check()
        assert service.process.pid != first_pid  # restarted
    assert delays == [1, 2, 4, 8, 16, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS]
    supervisor.stop()


def test_a_process_that_ran_long_before_dying_is_restarted_after_the_first_backoff_again():
    clock = Clock()
    service = Service("flaky", ["sh", "-c", "exit 1"], ROOT)
    supervisor = Supervisor([service], clock=clock)
    supervisor.start()
    service.backoff = 16
    clock.now = 3600.0  # it ran for an hour
    wait_exit(service)
    supervisor.check()
    assert service.restart_at == clock.now + 1
    supervisor.stop()


def test_stop_ends_every_service_and_nothing_restarts_afterwards():
    service = Service("sleeper", ["sleep", "60"], ROOT)
    supervisor = Supervisor([service])
    supervisor.start()
    supervisor.stopping = True
    started = time.monotonic()
    supervisor.stop()
    assert service.process is not None and service.process.poll() is not None
    assert time.monotonic() - started < 10
    supervisor.check()
    assert service.process.poll() is not None


class BrokenPipe:
    """An output whose reader has gone: every write fails as a closed pipe does."""

    def __init__(self) -> None:
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_service_writes_on_when_the_supervisors_output_breaks():
    # 3 MB of output, far more than a pipe holds: it ends (exit 0) only if every line is read, and a
    # write to a broken pipe would end it with an error (set -e).
    script = 'set -e; line=$(printf "%01000d" 0); i=0; while [ $i -lt 3000 ]; do echo "$line"; i=$((i+1)); done'
    output = BrokenPipe()
    service = Service("talker", ["sh", "-c", script], ROOT, output=output)
    supervisor = Supervisor([service])
    supervisor.start()
    assert service.process is not None
    assert service.process.wait(20) == 0
    assert output.writes == 1  # the relay tried once, then read on and dropped the lines
    supervisor.stop()


def test_a_services_lines_reach_the_supervisors_output(tmp_path):
    with open(tmp_path / "out", "wb") as output:
        service = Service("greeter", ["sh", "-c", "echo hello; echo world >&2"], ROOT, output=output)
        supervisor = Supervisor([service])
        supervisor.start()
        wait_exit(service)
        deadline = time.monotonic() + 10
        while (tmp_path / "out").read_bytes().count(b"\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        supervisor.stop()
    assert sorted((tmp_path / "out").read_bytes().splitlines()) == [b"hello", b"world"]
