"""Rate limits count the real client: forwarded headers only from trusted proxies; health and the model
list are throttled and cheap; failed admin logins lock the client out (django-axes)."""

from __future__ import annotations

import pytest
import redis
from django.test import RequestFactory

from tests.factories import canvas_png, data_url, mnist, user_factory
from webapp.core import health
from webapp.core.clients import client_ip
from webapp.core.throttles import ReadThrottle, SubmitThrottle

pytestmark = pytest.mark.django_db

# The client addresses these tests count with (documentation ranges and a private one).
TEST_CLIENTS = ("10.7.7.", "198.51.10")


@pytest.fixture
def fresh_counters(redis_server: str) -> None:
    """This module's clients start with no requests counted, even on a Redis (REDIS_URL, never flushed)
    that another run used within the hour: the windows here are an hour long."""
    connection = redis.Redis.from_url(redis_server)
    for key in connection.scan_iter("inkwell:throttle:*"):
        if key.decode().split(":")[3].startswith(TEST_CLIENTS):
            connection.delete(key)


def ip_of(remote: str, forwarded: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_client_is_remote_addr_whatever_it_forwards(settings):
    settings.TRUSTED_PROXIES = []
    assert ip_of("203.0.113.7", "1.2.3.4") == "203.0.113.7"


def test_forwarded_for_is_read_only_from_a_trusted_proxy_and_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.1"]
    assert ip_of("203.0.113.7", "1.2.3.4") == "203.0.113.7"  # not a proxy of ours: ignored
    assert ip_of("10.1.2.3", "198.51.100.9") == "198.51.100.9"
    # The client prepended a forged hop; our proxies appended the real one: the rightmost untrusted wins.
    assert ip_of("10.1.2.3", "1.2.3.4, 198.51.100.9, 192.0.2.1") == "198.51.100.9"
    assert ip_of("10.1.2.3", "not-an-ip, 192.0.2.1") == "192.0.2.1"
    assert ip_of("10.1.2.3", "") == "10.1.2.3"
    assert ip_of("10.1.2.3", "2001:db8::1") == "2001:db8::1"


def submit(client, **extra):
    body = {"image": data_url(canvas_png(mnist().x_test[0]))}
    return client.post("/api/drawings/", body, content_type="application/json", **extra)


def test_forged_x_forwarded_for_does_not_escape_the_submit_limit(client, settings, fresh_counters, monkeypatch):
    settings.TRUSTED_PROXIES = []
    monkeypatch.setattr(SubmitThrottle, "THROTTLE_RATES", {"submit": "2/hour"})
    codes = [
        submit(client, REMOTE_ADDR="10.7.7.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)
    ]
    assert codes == [202, 202, 429, 429]


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(client, settings, fresh_counters, monkeypatch):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    monkeypatch.setattr(SubmitThrottle, "THROTTLE_RATES", {"submit": "1/hour"})
    proxy = {"REMOTE_ADDR": "10.7.7.2"}
    assert submit(client, HTTP_X_FORWARDED_FOR="198.51.101.1", **proxy).status_code == 202
    assert submit(client, HTTP_X_FORWARDED_FOR="198.51.101.1", **proxy).status_code == 429
    assert submit(client, HTTP_X_FORWARDED_FOR="198.51.101.2", **proxy).status_code == 202


@pytest.fixture
def cheap_health(monkeypatch) -> list[int]:
    """A stand-in for the one-second health check that counts its calls."""
    calls: list[int] = []

    def fake() -> dict:
        calls.append(1)
        return {"status": "ok", "database": True, "broker": True, "workers": ["w"], "loaded_models": {}}

    monkeypatch.setattr(health, "service_health", fake)
    monkeypatch.setattr(health, "_cached", None)
    return calls


@pytest.mark.parametrize("path", ["/api/health/", "/api/models/"])
def test_health_and_the_model_list_are_throttled(client, path, fresh_counters, monkeypatch, cheap_health):
    monkeypatch.setattr(ReadThrottle, "THROTTLE_RATES", {"read": "2/hour"})
    remote = {"REMOTE_ADDR": "10.7.7.3" if "health" in path else "10.7.7.4"}
    codes = [client.get(path, **remote).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get(path, **remote).json()["error"]["code"] == "throttled"


def test_health_is_computed_at_most_once_a_second_per_process(client, settings, cheap_health, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(health.time, "monotonic", lambda: clock[0])
    settings.HEALTH_CACHE_SECONDS = 1.0
    for _ in range(5):
        assert client.get("/api/health/").status_code == 200
    assert len(cheap_health) == 1
    clock[0] += 1.01
    client.get("/api/health/")
    assert len(cheap_health) == 2


def login(client, password: str, remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return client.post(
        "/admin/login/?next=/admin/", {"username": "admin", "password": password}, REMOTE_ADDR=remote, **extra
    )


def test_failed_admin_logins_lock_the_client_out_even_with_forged_forwarded_for(client, settings):
    settings.TRUSTED_PROXIES = []
    user_factory(username="admin", superuser=True)
    limit = settings.AXES_FAILURE_LIMIT
    codes = [login(client, "wrong", "10.8.8.1", forwarded=f"198.51.102.{i}").status_code for i in range(limit)]
    assert codes == [200] * (limit - 1) + [429]  # the form again with an error, then locked out
    locked = login(client, "pw", "10.8.8.1", forwarded="198.51.102.200")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert login(client, "pw", "10.8.8.2").status_code == 302  # another client is not locked out


def test_a_successful_login_resets_the_failure_count(client, settings):
    user_factory(username="admin", superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "wrong", "10.8.8.3")
    assert login(client, "pw", "10.8.8.3").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "wrong", "10.8.8.3")
    assert login(client, "pw", "10.8.8.3").status_code == 302
