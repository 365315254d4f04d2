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
