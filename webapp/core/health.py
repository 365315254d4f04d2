"""The state of the service's parts, for /api/health/ (readiness) and /api/health/live/ (liveness)."""

from __future__ import annotations

from typing import Any

import redis
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
