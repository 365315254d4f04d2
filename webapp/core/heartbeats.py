"""Liveness in Redis: each worker process refreshes a key that expires within seconds of its death.

Two kinds: `consumer` (a worker's main process, with the queues it consumes) and `process` (a pool
child, with the models it holds). Health reads them, and the requeue sweep asks whether the process
that took a job is still alive.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from typing import Any, cast

import redis

from webapp.core.redis_connection import redis_client

logger = logging.getLogger(__name__)

PREFIX = "inkwell:alive:"
INTERVAL_SECONDS = 2.0
# A process is dead once it missed this many seconds of beats.
TTL_SECONDS = 6


def process_key() -> str:
    """This process, as `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_send(*, kind: str, name: str, payload: Any) -> None:
    """One beat: `name` of `kind` is alive, with `payload` (JSON), for TTL_SECONDS."""
    try:
        redis_client().set(f"{PREFIX}{kind}:{name}", json.dumps(payload), ex=TTL_SECONDS)
    except redis.RedisError:
        logger.warning("Could not send a %s heartbeat to Redis", kind)


def heartbeat_stop(*, kind: str, name: str) -> None:
    """A process that exits cleanly says so at once instead of expiring."""
    try:
        redis_client().delete(f"{PREFIX}{kind}:{name}")
    except redis.RedisError:
        pass


def heartbeats_start(*, kind: str, name: str, payload: Any) -> threading.Thread:
    """Beat now and then every INTERVAL_SECONDS from a daemon thread; `payload` may be a callable."""
    stop = threading.Event()  # never set: the thread lives as long as its process

    def send() -> None:
        heartbeat_send(kind=kind, name=name, payload=payload() if callable(payload) else payload)

    def beat() -> None:
        while not stop.wait(INTERVAL_SECONDS):
            send()

    send()  # alive from this moment, not from the first interval
    thread = threading.Thread(target=beat, name=f"heartbeat-{kind}", daemon=True)
    thread.start()
    return thread


def alive(kind: str) -> dict[str, Any]:
    """Every live process of `kind`: name -> payload."""
    client = redis_client()
    found = {}
    for key in client.scan_iter(f"{PREFIX}{kind}:*", count=500):
        value = cast(bytes | None, client.get(key))
        if value is not None:
            found[key.decode().removeprefix(f"{PREFIX}{kind}:")] = json.loads(value)
    return found


def is_alive(*, kind: str, name: str) -> bool:
    """Whether `name` of `kind` beat within the last TTL_SECONDS (True when Redis cannot tell)."""
    try:
        return bool(redis_client().exists(f"{PREFIX}{kind}:{name}"))
    except redis.RedisError:
        return True
