"""Keep a set of processes running: restart one that dies, with backoff, and stop them all together.

The services' output goes through the supervisor, line by line, to its own standard output. If that
breaks (the terminal closed, `make run | head`), their lines are dropped from then on: a service never
writes to a broken pipe, so losing the output never stops the site.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

logger = logging.getLogger("inkwell.supervisor")

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A process that ran this long before dying is restarted at once again, not after a long backoff.
HEALTHY_AFTER_SECONDS = 60.0


@dataclass
class Service:
    """One supervised command. Each runs in its own process group, so a restart also ends the
    orphans of a killed main process (a prefork pool's children)."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    output: IO[bytes] | None = None  # where its lines go (default: the supervisor's standard output)

    def start(self, now: float | None = None) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        sink = self.output if self.output is not None else sys.stdout.buffer
        threading.Thread(target=relay_lines, args=(self.process.stdout, sink), daemon=True).start()
        self.started_at = time.monotonic() if now is None else now
        self.restart_at = None
        logger.warning("started %s (pid %d)", self.name, self.process.pid)

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass


_output_lock = threading.Lock()


def relay_lines(source: IO[bytes], sink: IO[bytes]) -> None:
    """Copy a service's output to `sink` line by line until the service closes it; once `sink` fails,
    read on and drop the lines, so that the service never blocks or meets a broken pipe."""
    broken = False
    for line in iter(source.readline, b""):
        if broken:
            continue
        try:
            with _output_lock:
                sink.write(line)
                sink.flush()
        except (OSError, ValueError):  # a broken pipe, a closed file
            broken = True
    source.close()


class Supervisor:
    """Start services, restart any that exits (1 s, 2 s, 4 s ... 30 s apart), stop all on request."""

    def __init__(self, services: list[Service], clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self.clock = clock
        self.stopping = False

    def start(self) -> None:
        """Start every service not started yet."""
        for service in self.services:
            if service.process is None:
                service.start(self.clock())

    def check(self) -> None:
        """One round: schedule a restart for each service that exited, and restart those due."""
        now = self.clock()
        for service in self.services:
            assert service.process is not None
            if service.restart_at is None and service.process.poll() is not None:
                service.signal_group(signal.SIGKILL)  # orphans of the dead main process
                if now - service.started_at >= HEALTHY_AFTER_SECONDS:
                    service.backoff = FIRST_BACKOFF_SECONDS
                service.restart_at = now + service.backoff
                logger.error(
                    "%s (pid %d) exited with code %s; restarting in %.0f s",
                    service.name,
                    service.process.pid,
                    service.process.returncode,
                    service.backoff,
                )
                service.backoff = min(service.backoff * 2, MAX_BACKOFF_SECONDS)
            if service.restart_at is not None and now >= service.restart_at and not self.stopping:
                service.start(now)

    def run_until_stopped(self) -> None:
        """Supervise until SIGTERM or SIGINT, then stop every service."""

        def stop(*_: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not self.stopping:
            self.check()
            time.sleep(0.5)
        self.stop()

    def stop(self, timeout: float = 20) -> None:
        for service in reversed(self.services):
            service.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for service in self.services:
            if service.process is None:  # never started
                continue
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                service.signal_group(signal.SIGKILL)
                service.process.wait(5)
