"""No known default SECRET_KEY: a generated one kept in var/, and a production profile that refuses to
start without one and passes `manage.py check --deploy`."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from webapp.core.secret_key import secret_key_load_or_create

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3y-" + "a1b2c3d4e5f6g7h8" * 4


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Python with the settings loaded, in a fresh process with `env` (SECRET_KEY and the profile unset;
    without the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses)."""
    unset = ("SECRET_KEY", "DJANGO_PRODUCTION", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "webapp.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_django(f"from django.core.management import call_command; call_command(*{list(args)!r})", **env)


def test_a_generated_key_is_made_once_kept_private_and_reused(tmp_path):
    path = tmp_path / "var" / "secret_key"
    key = secret_key_load_or_create(path)
    assert len(key) >= 50 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key_load_or_create(path) == key
    assert secret_key_load_or_create(tmp_path / "other") != key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    code = (
        "from pathlib import Path; from webapp.core.secret_key import secret_key_load_or_create as load; "
        f"print(load(Path({str(path)!r})))"
    )

    def start(_: int) -> str:
        return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(start, range(8)))
    assert len(keys) == 1 and keys == {path.read_text()}


def test_the_default_run_uses_the_key_in_var_never_a_known_default():
    result = run_django("from django.conf import settings; print(settings.SECRET_KEY)")
    assert result.returncode == 0, result.stderr
    key_file = Path(settings.VAR_DIR) / "secret_key"
    assert result.stdout.strip() == key_file.read_text().strip()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "change-me" not in result.stdout and "development" not in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_PRODUCTION="true")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = manage("check", DJANGO_PRODUCTION="true", SECRET_KEY=STRONG_KEY, DEBUG="true")
    assert result.returncode != 0 and "DEBUG" in result.stderr


def test_production_profile_passes_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_PRODUCTION="true", SECRET_KEY=STRONG_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_default_run_is_not_deploy_clean_so_the_profile_matters():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0


@pytest.mark.parametrize("header", ["X-Forwarded-Proto", "x-forwarded-proto"])
def test_production_behind_a_tls_proxy_trusts_its_header_and_redirects_plain_http(header):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    result = run_django(code, DJANGO_PRODUCTION="true", SECRET_KEY=STRONG_KEY, SECURE_PROXY_SSL_HEADER=header)
    assert result.stdout.split() == ["('HTTP_X_FORWARDED_PROTO',", "'https')", "True", "31536000", "True", "True"]
