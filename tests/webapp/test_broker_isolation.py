"""A checkout's embedded Redis is its own, and a dropped Redis connection never turns a long poll into a 500."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.environment import OWN_REDIS, TEST_REDIS_DIR
from tests.factories import drawing_factory
from webapp.core.embedded_redis import MAX_SOCKET_PATH, broker_url, embedded_redis_url, socket_path
from webapp.drawings.notifications import finish_listener


def test_two_checkouts_get_two_brokers_even_with_paths_too_long_for_a_socket(tmp_path):
    first, second = tmp_path / "clone-a" / "var" / "redis", tmp_path / "clone-b" / "var" / "redis"
    assert embedded_redis_url(first) != embedded_redis_url(second)
    deep = [tmp_path / ("x" * 60) / name / "var" / "redis" for name in ("a", "b")]
    paths = [socket_path(directory) for directory in deep]
    assert paths[0] != paths[1]
    assert all(len(str(path)) <= MAX_SOCKET_PATH for path in paths)


def test_celery_gets_the_same_socket_in_its_own_spelling():
    assert broker_url("unix:///srv/inkwell/var/redis/redis.sock?db=3") == (
        "inkwell-redis+socket:///srv/inkwell/var/redis/redis.sock?virtual_host=3"
    )
    assert broker_url("redis://127.0.0.1:6379/7") == "inkwell-redis://127.0.0.1:6379/7"


def test_the_tests_never_use_the_broker_of_a_site_running_from_this_checkout(redis_server):
    site_broker = embedded_redis_url(Path(settings.VAR_DIR) / "redis")
    assert redis_server != site_broker
    if OWN_REDIS:
        assert redis_server == embedded_redis_url(TEST_REDIS_DIR)


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_whose_redis_connection_drops_answers_with_the_row(client, redis_server):
    drawing = drawing_factory(digit=None, model_name="cnn")  # queued, and no worker will take it here
    admin = redis.Redis.from_url(redis_server)
    db = admin.connection_pool.connection_kwargs.get("db", 0)

    def kill_subscribers() -> None:
        deadline = time.monotonic() + 5
        while finish_listener.waiting_for(str(drawing.pk)) == 0:  # the poll is waiting now
            assert time.monotonic() < deadline
            time.sleep(0.02)
        while time.monotonic() < deadline:
            subscribers = [
                c
                for c in admin.client_list()
                if int(c.get("sub", 0)) + int(c.get("psub", 0)) > 0 and int(c["db"]) == db
            ]
            if subscribers:
                for subscriber in subscribers:
                    admin.client_kill_filter(_id=subscriber["id"])
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_subscribers)
    killer.start()
    started = time.monotonic()
    response = client.get(f"/api/drawings/{drawing.pk}/?wait=8")
    killer.join()
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert time.monotonic() - started < 7  # answered when the connection dropped, not at the deadline
