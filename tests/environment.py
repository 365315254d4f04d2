"""Loaded as a pytest plugin (`-p tests.environment` in pytest.ini), before pytest-django reads the
settings: without REDIS_URL the tests use a server of their own, on a socket in var/test-redis/,
never the one a site running from this checkout uses (var/redis/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from webapp.core.embedded_redis import embedded_redis_url

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_DIR = ROOT / "var" / "test-redis"
# Metrics files of the test processes, apart from a running site's (var/metrics) and emptied per run.
METRICS_DIR = ROOT / "var" / "test-metrics"
shutil.rmtree(METRICS_DIR, ignore_errors=True)
METRICS_DIR.mkdir(parents=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
OWN_REDIS = "REDIS_URL" not in os.environ
if OWN_REDIS:
    os.environ["REDIS_URL"] = embedded_redis_url(TEST_REDIS_DIR)
