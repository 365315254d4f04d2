"""The state of the service's parts, for /api/health/."""

from __future__ import annotations

import json
from typing import Any, cast

import redis

from webapp.drawings.redis_connection import redis_client
from webapp.drawings.selectors import database_ok
from worker.app import app

LOADED_KEY_PREFIX = "inkwell:loaded:"


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
