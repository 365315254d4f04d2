"""Per-client rate limits counted in Redis with one INCR per request.

DRF's stock throttles keep a list of every recent request's timestamp in the cache and pickle it on
each request: at thousands of requests a minute that costs a fifth of the web process's CPU (py-spy).
A fixed-window counter gives the same protection for one round trip.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from webapp.core.clients import client_ip
from webapp.core.redis_connection import redis_client


class FixedWindowRateThrottle(SimpleRateThrottle):
    """At most `num_requests` per client (IP) in each window of `duration` seconds."""

    wait_seconds: float | None = None

    def get_ident(self, request: Request) -> str:
        """The client's IP; `X-Forwarded-For` counts only from `TRUSTED_PROXIES` (DRF's own trusts anyone)."""
        return client_ip(request._request)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"inkwell:throttle:{self.scope}:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:
            return True
        now = time.time()
        key = f"{self.get_cache_key(request, view)}:{int(now // duration)}"
        try:
            pipeline = redis_client().pipeline(transaction=False)
            pipeline.incr(key)
            pipeline.expire(key, duration + 1)
            count, _ = pipeline.execute()
        except redis.RedisError:
            return True  # Redis is down: accepting (and storing) drawings matters more than rate limits
        self.wait_seconds = duration - now % duration
        return int(count) <= limit

    def wait(self) -> float | None:
        return self.wait_seconds


class SubmitThrottle(FixedWindowRateThrottle):
    scope = "submit"


class ReadThrottle(FixedWindowRateThrottle):
    scope = "read"
