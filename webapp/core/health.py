"""The state of the service's parts, for /api/health/."""

from __future__ import annotations

import json
from typing import Any, cast

import redis
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
