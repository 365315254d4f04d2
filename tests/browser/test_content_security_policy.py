"""Every HTML page (the drawing page, the admin, the API docs) has a Content-Security-Policy header and
renders in Chromium without breaking it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import RECORD_VIOLATIONS, logged_in_page
from tests.factories import drawing_factory, user_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_page(browser: Browser, live_server) -> Iterator[Page]:
    """A Chromium page logged in as a superuser."""
    yield from logged_in_page(browser, live_server.url, user_factory(username="csp-staff", superuser=True))


def visit(page: Page, path: str) -> str:
    """Open `path`; returns its CSP header after checking the page loaded without a violation."""
    response = page.goto(path)
    assert response is not None and response.ok, path
    assert response.headers["content-type"].startswith("text/html"), path
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__cspViolations") == [], path
    return response.headers["content-security-policy"]


def test_the_drawing_page_has_a_strict_policy_header_and_no_meta_tag(staff_page: Page):
    policy = visit(staff_page, "/")
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert staff_page.locator("meta[http-equiv='Content-Security-Policy']").count() == 0
    expect(staff_page.get_by_test_id("model")).to_be_enabled()  # its script ran and fetched the models


def test_the_api_docs_render_swagger_ui_under_the_policy(staff_page: Page):
    policy = visit(staff_page, "/api/docs/")
    assert "'nonce-" in policy and "script-src 'self' 'nonce-" in policy
    expect(staff_page.locator(".swagger-ui .info .title")).to_contain_text("Inkwell API")
    expect(staff_page.locator(".opblock").first).to_be_visible()
    assert staff_page.locator(".opblock").count() >= 5
    assert staff_page.evaluate("window.__cspViolations") == []


def test_admin_pages_render_under_the_policy(staff_page: Page):
    drawing = drawing_factory(digit=3, confidence=0.6, user_label=3)
    paths = [
        reverse("admin:index"),
        reverse("admin:drawings_drawing_changelist"),
        reverse("admin:drawings_drawing_change", args=[drawing.pk]),
        reverse("admin:drawings_drawing_review", args=[drawing.pk]),
        reverse("admin:drawings_drawing_review_grid"),
        reverse("admin:drawings_drawing_statistics"),
        reverse("admin:modelversions_modelversion_changelist"),
    ]
    for path in paths:
        assert "script-src 'self'" in visit(staff_page, path)
    # The review page's own script (nonce'd) runs: a digit key labels the drawing.
    visit(staff_page, reverse("admin:drawings_drawing_review", args=[drawing.pk]))
    with staff_page.expect_navigation():
        staff_page.keyboard.press("7")
    drawing.refresh_from_db()
    assert drawing.label == 7


def test_the_admin_login_page_has_the_policy(browser: Browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(RECORD_VIOLATIONS)
    try:
        assert "default-src 'self'" in visit(context.new_page(), reverse("admin:login"))
    finally:
        context.close()
