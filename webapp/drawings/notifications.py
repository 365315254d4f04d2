"""Tell long-polling requests that a drawing is finished, over Redis pub/sub."""

from __future__ import annotations

import time

import redis

from webapp.core.redis_connection import redis_client

CHANNEL_PREFIX = "inkwell:drawing:"


def channel(drawing_id: str) -> str:
    return f"{CHANNEL_PREFIX}{drawing_id}"


def drawing_finished_notify(*, drawing_id: str) -> None:
    """Publish that the drawing reached a final state (best effort: pollers re-read the row)."""
    try:
        redis_client().publish(channel(drawing_id), "finished")
    except redis.RedisError:
        pass


class FinishWaiter:
    """Subscribe before reading the row, so a finish between the read and the wait is not missed."""

    def __init__(self, drawing_id: str) -> None:
        self.pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel(drawing_id))

    def wait(self, seconds: float) -> bool:
        """Block until a finish message arrives or `seconds` pass; True if it arrived."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self.pubsub.get_message(timeout=remaining) is not None:
                return True
        return False

    def close(self) -> None:
        try:
            self.pubsub.close()
        except redis.RedisError:
            pass

    def __enter__(self) -> FinishWaiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
