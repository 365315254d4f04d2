"""The state of the service's parts, for /api/health/."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, cast

import redis
from django.conf import settings
from django.db import connection

from webapp.celery import app
from webapp.core.redis_connection import redis_client

LOADED_KEY_PREFIX = "inkwell:loaded:"


def database_ok() -> bool:
    """Whether the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def service_health() -> dict[str, Any]:
    """Database, broker, live workers and the models their processes hold."""
    client = redis_client()
    try:
        broker = bool(client.ping())
    except redis.RedisError:
        broker = False
    workers: list[str] = []
    loaded: dict[str, list[str]] = {}
    if broker:
        replies = app.control.inspect(timeout=1.0).ping() or {}
        workers = sorted(replies)
        for key in client.scan_iter(f"{LOADED_KEY_PREFIX}*", count=100):
            value = cast(bytes | None, client.get(key))
            loaded[key.decode().removeprefix(LOADED_KEY_PREFIX)] = json.loads(value or "[]")
    return {
        "status": "ok" if broker and workers else "unavailable",
        "database": database_ok(),
        "broker": broker,
        "workers": workers,
        "loaded_models": loaded,
    }


_cached: tuple[float, dict[str, Any]] | None = None
_cached_lock = threading.Lock()


def service_health_cached() -> dict[str, Any]:
    """`service_health`, computed at most once per HEALTH_CACHE_SECONDS (1 s) in this process.

    One health check costs about a second (it waits for workers to answer a ping); callers that arrive
    meanwhile wait for that one and share its answer instead of each starting another.
    """
    global _cached
    max_age = float(getattr(settings, "HEALTH_CACHE_SECONDS", 1.0))
    with _cached_lock:
        if _cached is None or time.monotonic() - _cached[0] >= max_age:
            _cached = (time.monotonic(), service_health())
        return _cached[1]
