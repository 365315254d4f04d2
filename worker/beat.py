"""The periodic scheduler, one at a time: `python -m worker.beat`.

Celery beat has no lock of its own, so two beats send every periodic task twice. This one first takes
a Redis lock and keeps renewing it; a second beat started by mistake waits on standby (and takes over
within the lock's lifetime if the first dies). If the lock is lost, the process exits rather than run
beside another beat; its supervisor starts it again on standby.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

import redis
from django.conf import settings

from webapp.celery import app
from webapp.core.redis_connection import redis_client

logger = logging.getLogger("inkwell.beat")

LOCK_NAME = "inkwell:beat"
LOCK_SECONDS = 15
RENEW_SECONDS = 5


def _renew_forever(lock: redis.lock.Lock) -> None:
    while True:
        time.sleep(RENEW_SECONDS)
        try:
            lock.extend(LOCK_SECONDS, replace_ttl=True)
        except Exception as exc:  # LockError, RedisError, anything: never run unsure of the lock
            logger.error("Lost the beat lock (%s): exiting so that two beats never run", exc)
            os._exit(3)


def lock_acquire() -> redis.lock.Lock:
    """Wait until this process holds the beat lock."""
    # Not thread-local: the renewing thread must see the token that the main thread acquired.
    lock = redis_client().lock(LOCK_NAME, timeout=LOCK_SECONDS, blocking=False, thread_local=False)
    announced = False
    while True:
        try:
            if lock.acquire():
                logger.warning("Beat lock acquired: this process schedules the periodic tasks")
                return lock
        except redis.RedisError as exc:
            logger.warning("Redis unavailable for the beat lock: %s", exc)
        if not announced:
            logger.warning("Another beat holds the lock: standing by")
            announced = True
        time.sleep(1)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=settings.LOG_LEVEL, format="[%(asctime)s: %(levelname)s/beat] %(message)s")
    lock = lock_acquire()
    threading.Thread(target=_renew_forever, args=(lock,), name="beat-lock", daemon=True).start()
    schedule = argv[0] if argv else "celerybeat-schedule"
    app.Beat(schedule=schedule, loglevel=settings.LOG_LEVEL, quiet=True).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
