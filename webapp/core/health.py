"""The state of the service's parts, for /api/health/ (readiness) and /api/health/live/ (liveness)."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from webapp.core import heartbeats
from webapp.core.redis_connection import redis_client

PREDICT_QUEUE = "predict"


def database_ok() -> bool:
    """Whether the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def service_health() -> dict[str, Any]:
    """Ready only if the database answers, the broker answers, and a live worker consumes `predict`.

    Workers and their models come from heartbeats that expire within seconds of a process's death.
    """
    try:
        broker = bool(redis_client().ping())
        consumers = heartbeats.alive("consumer") if broker else {}
        processes = heartbeats.alive("process") if broker else {}
    except redis.RedisError:
        broker, consumers, processes = False, {}, {}
    database = database_ok()
    predicting = sorted(name for name, queues in consumers.items() if PREDICT_QUEUE in queues)
    return {
        "status": "ok" if database and broker and predicting else "unavailable",
        "database": database,
        "broker": broker,
        "workers": sorted(consumers),
        "predict_workers": predicting,
        "loaded_models": processes,
    }


_cached: tuple[float, dict[str, Any]] | None = None
_cached_lock = threading.Lock()


def service_health_cached() -> dict[str, Any]:
    """`service_health`, computed at most once per HEALTH_CACHE_SECONDS (1 s) in this process.

    Callers that arrive while one is computed wait for it and share its answer instead of each
    starting another.
    """
    global _cached
    max_age = float(getattr(settings, "HEALTH_CACHE_SECONDS", 1.0))
    with _cached_lock:
        if _cached is None or time.monotonic() - _cached[0] >= max_age:
            _cached = (time.monotonic(), service_health())
        return _cached[1]
