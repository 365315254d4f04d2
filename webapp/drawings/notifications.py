"""Tell long-polling requests that a drawing is finished, over Redis pub/sub.

The worker publishes on the drawing's channel, with the finished drawing as the API shows it, so that a
waiting request answers without reading the row again. Each web process keeps ONE pattern subscription to every
drawing's channel, in a thread of its own, and fans each message out to the requests of that process
that wait for that drawing: no Redis connection or SUBSCRIBE per waiting request.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings

from webapp.core import metrics
from webapp.core.redis_connection import redis_client

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "inkwell:drawing:"
RECONNECT_MAX_SECONDS = 2.0


def channel(drawing_id: str) -> str:
    return f"{CHANNEL_PREFIX}{drawing_id}"


FINISHED = b"finished"


def drawing_finished_notify(*, drawing_id: str, result: dict[str, Any] | None = None) -> None:
    """Publish that the drawing reached a final state, with its `result` if given (else waiters read the
    row). Best effort: without Redis, pollers find the row finished on their next read."""
    try:
        redis_client().publish(channel(drawing_id), json.dumps(result) if result is not None else FINISHED)
    except redis.RedisError:
        pass


@dataclass
class Waiter:
    """One waiting request: `event` is set when the drawing finishes (or the subscription drops), and
    `result` is then the finished drawing if the message carried it."""

    event: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] | None = None

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


class FinishListener:
    """This process's one subscription, and the requests waiting on it (drawing id -> their events)."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[Waiter]] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _ensure_running(self) -> None:
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            # First use in this process (each web server process imports it on its own): start listening.
            self._pid, self._waiting, self._subscribed = os.getpid(), {}, threading.Event()
            self._thread = threading.Thread(target=self._listen_forever, name="finish-listener", daemon=True)
            self._thread.start()

    def _listen_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                self._listen()
            except redis.RedisError as exc:
                logger.warning("Finish listener lost Redis (%s); reconnecting", exc)
            self._subscribed.clear()
            self._wake_all()  # waiters answer with the row as it stands rather than wait in the dark
            time.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)

    def _listen(self) -> None:
        pubsub = redis_client().pubsub()
        try:
            pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
            while True:
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "psubscribe":
                    self._subscribed.set()
                elif message["type"] == "pmessage":
                    self._wake(message["channel"].decode().removeprefix(CHANNEL_PREFIX), message["data"])
        finally:
            try:
                pubsub.close()
            except redis.RedisError:
                pass

    def _wake(self, drawing_id: str, data: bytes) -> None:
        with self._lock:
            waiters = list(self._waiting.get(drawing_id, ()))
        if not waiters:  # every process hears every drawing: decode only what someone here waits for
            return
        result = None if data == FINISHED else json.loads(data)
        for waiter in waiters:
            waiter.result = result
            waiter.event.set()

    def _wake_all(self) -> None:
        with self._lock:
            waiters = [waiter for waiters in self._waiting.values() for waiter in waiters]
        for waiter in waiters:
            waiter.event.set()

    def waiting_for(self, drawing_id: str) -> int:
        """How many requests of this process wait for the drawing."""
        with self._lock:
            return len(self._waiting.get(drawing_id, ()))

    def subscribed(self, timeout: float) -> bool:
        """Start listening if needed; whether the subscription is live (within `timeout` seconds)."""
        self._ensure_running()
        return self._subscribed.wait(timeout)

    @contextmanager
    def waiting(self, drawing_id: str) -> Iterator[Waiter | None]:
        """A waiter for the drawing, registered before the caller reads (or creates) the row, so that a
        finish between that and the wait is not missed; None when `LONG_POLL_MAX_WAITING` requests of
        this process already wait (the caller answers at once), so waits never take every thread."""
        with self._lock:
            full = self._count >= settings.LONG_POLL_MAX_WAITING
            if not full:
                waiter = Waiter()
                self._count += 1
                self._waiting.setdefault(drawing_id, []).append(waiter)
        if full:
            yield None
            return
        metrics.LONG_POLLS_WAITING.inc()
        try:
            yield waiter
        finally:
            metrics.LONG_POLLS_WAITING.dec()
            with self._lock:
                self._count -= 1
                waiters = self._waiting.get(drawing_id)
                if waiters is not None:
                    waiters.remove(waiter)
                    if not waiters:
                        del self._waiting[drawing_id]


finish_listener = FinishListener()
