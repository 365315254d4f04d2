"""Loaded as a pytest plugin (`-p tests.environment` in pytest.ini), before pytest-django reads the
settings: without REDIS_URL the tests use a server of their own, on a socket in var/test-redis/,
never the one a site running from this checkout uses (var/redis/)."""

from __future__ import annotations

import os
from pathlib import Path

from webapp.core.embedded_redis import embedded_redis_url

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_DIR = ROOT / "var" / "test-redis"
OWN_REDIS = "REDIS_URL" not in os.environ
if OWN_REDIS:
    os.environ["REDIS_URL"] = embedded_redis_url(TEST_REDIS_DIR)
