"""Real headless Chromium (Debian's package) driven by Playwright, against the live server and worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# Playwright's sync API runs an event loop in the test thread; Django would otherwise refuse ORM
# calls from it (SynchronousOnlyOperation) even though they are plain blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results" / "browser"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0 Mobile Safari/537.36"
    ),
}


# Recorded from the first script on: every blocked script, style or request lands here.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""


def logged_in_page(browser: Browser, site: str, user: Any) -> Iterator[Page]:
    """A desktop Chromium page logged in as `user` (the session made by Django's test client), recording
    Content-Security-Policy violations."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=site, **DESKTOP)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site}])
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(live_server, celery_worker_process) -> str:
    """The live server's base URL, with a real worker reading the drawings it receives."""
    return live_server.url


@pytest.fixture
def results_dir() -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return RESULTS_DIR


def open_page(browser: Browser, site: str, options: dict) -> Iterator[Page]:
    context = browser.new_context(base_url=site, **options)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Browser, site: str) -> Iterator[Page]:
    yield from open_page(browser, site, DESKTOP)


@pytest.fixture
def phone(browser: Browser, site: str) -> Iterator[Page]:
    yield from open_page(browser, site, PHONE)
