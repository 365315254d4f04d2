"""The drawing page in a real headless Chromium, on the live server with a real Celery worker."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from inference.answer import NOT_A_DIGIT
from tests.browser.drawing_page import FOUR, HASH, ONE, SEVEN, DrawingPage
from webapp.drawings.models import Drawing, Source
from webapp.drawings.services.feedback import drawing_feedback_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_answer(drawing: DrawingPage, digit: int) -> None:
    page = drawing.page
    expect(page.get_by_test_id("digit")).to_have_text(str(digit))
    expect(page.get_by_test_id("confidence")).to_have_text(re.compile(r"^\d+\.\d% confident$"))
    bars = page.get_by_test_id("probabilities").locator("[data-testid^='prob-']")
    expect(bars).to_have_count(10)
    expect(page.get_by_test_id(f"prob-{digit}")).to_have_class(re.compile(r"\btop\b"))
    processed = page.get_by_test_id("processed")
    expect(processed).to_be_visible()
    assert processed.get_attribute("src").startswith("data:image/png;base64,")
    assert processed.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]


def test_a_one_and_a_seven_drawn_with_the_mouse_are_read(desktop: Page, results_dir: Path):
    drawing = DrawingPage(desktop).open()

    drawing.draw_with_mouse(ONE)
    desktop.get_by_test_id("predict").click()
    drawing.wait_until_done()
    assert_answer(drawing, 1)
    first_id = drawing.drawing_id()

    desktop.get_by_test_id("clear").click()
    drawing.draw_with_mouse(SEVEN)
    desktop.keyboard.press("Enter")
    drawing.wait_until_done()
    assert_answer(drawing, 7)
    expect(desktop.get_by_test_id("history").locator("li")).to_have_count(2)
    desktop.screenshot(path=results_dir / "desktop.png", full_page=True)

    seven = Drawing.objects.get(pk=drawing.drawing_id())
    assert seven.source == Source.WEB and seven.model_name == "cnn"
    assert (seven.canvas_width, seven.canvas_height) == (400, 400)
    assert len(seven.strokes) == 1 and len(seven.strokes[0]) > 10
    xs = [x for x, _, _ in seven.strokes[0]]
    ts = [t for _, _, t in seven.strokes[0]]
    assert 100 < min(xs) < 130 and 270 < max(xs) < 300, "points are in 400x400 canvas pixels"
    assert ts == sorted(ts) and ts[-1] > 0, "points carry increasing millisecond times"
    one = Drawing.objects.get(pk=first_id)
    assert seven.client_id and one.client_id == seven.client_id


def test_the_chosen_model_is_sent_with_the_drawing_and_remembered(desktop: Page):
    drawing = DrawingPage(desktop).open()
    expect(desktop.get_by_test_id("model").locator("option")).to_have_count(3)
    desktop.get_by_test_id("model").select_option("dense")
    drawing.draw_with_mouse(SEVEN)

    with desktop.expect_request(is_drawing_submission) as submitted:
        desktop.get_by_test_id("predict").click()
    assert submitted.value.post_data_json["model"] == "dense"
    drawing.wait_until_done()
    assert Drawing.objects.get(pk=drawing.drawing_id()).model_name == "dense"

    # Switching the model with an answer on screen reads the same drawing again with the new one.
    with desktop.expect_request(is_drawing_submission) as submitted:
        desktop.get_by_test_id("model").select_option("numpy")
    assert submitted.value.post_data_json["model"] == "numpy"
    drawing.wait_until_done()
    assert Drawing.objects.get(pk=drawing.drawing_id()).model_name == "numpy"

    desktop.reload()
    expect(desktop.get_by_test_id("model")).to_have_value("numpy")


def test_compare_runs_every_model_side_by_side(desktop: Page, results_dir: Path):
    drawing = DrawingPage(desktop).open()
    drawing.draw_with_mouse(SEVEN)
    desktop.get_by_test_id("compare").click()
    drawing.wait_until_done()
    cards = desktop.get_by_test_id("compare-results").locator("article")
    expect(cards).to_have_count(3)
    for name in ("cnn", "dense", "numpy"):
        card = desktop.get_by_test_id("compare-results").locator(f"[data-model='{name}']")
        expect(card).to_have_attribute("data-state", "done", timeout=90_000)
        expect(desktop.get_by_test_id(f"compare-digit-{name}")).to_have_text(re.compile(r"^\d$"))
    submitted = Drawing.objects.order_by("created_at")
    assert sorted(submitted.values_list("model_name", flat=True)) == ["cnn", "dense", "numpy"]
    assert len({bytes(d.image) for d in submitted}) == 1, "the same drawing goes to every model"
    desktop.screenshot(path=results_dir / "desktop-compare.png", full_page=True)


def test_feedback_posts_the_label_with_the_drawings_token(desktop: Page):
    drawing = DrawingPage(desktop).open()
    expect(desktop.get_by_test_id("label-3")).to_be_disabled()
    drawing.draw_with_mouse(SEVEN)
    desktop.get_by_test_id("predict").click()
    drawing.wait_until_done()
    drawing_id = drawing.drawing_id()

    with desktop.expect_response(f"**/api/drawings/{drawing_id}/label/") as answered:
        desktop.get_by_test_id("label-3").click()
    assert answered.value.ok
    assert answered.value.request.post_data_json["feedback_token"] == drawing_feedback_token(drawing_id=drawing_id)
    expect(desktop.get_by_test_id("label-3")).to_have_attribute("aria-pressed", "true")
    row = Drawing.objects.get(pk=drawing_id)
    assert (row.user_label, row.label) == (3, None)  # the drawer's answer, kept apart from the trusted label

    predicted = int(desktop.get_by_test_id("digit").inner_text())
    with desktop.expect_response(f"**/api/drawings/{drawing_id}/label/"):
        desktop.get_by_test_id("confirm").click()
    expect(desktop.get_by_test_id(f"label-{predicted}")).to_have_attribute("aria-pressed", "true")
    assert Drawing.objects.get(pk=drawing_id).user_label == predicted


def test_a_drawing_that_is_not_a_digit_is_said_to_be_so_and_confirmed(desktop: Page, results_dir: Path):
    drawing = DrawingPage(desktop).open()
    drawing.draw_with_mouse(HASH)
    desktop.get_by_test_id("predict").click()
    drawing.wait_until_done()

    expect(desktop.get_by_test_id("digit")).to_have_text("✗")
    expect(desktop.get_by_test_id("confidence")).to_have_text(re.compile(r"^That does not look like a digit"))
    expect(desktop.get_by_test_id("probabilities").locator(".top")).to_have_count(0)
    expect(desktop.get_by_test_id("confirm")).to_have_text("Right, it's not a digit")
    desktop.screenshot(path=results_dir / "not-a-digit.png", full_page=True)
    drawing_id = drawing.drawing_id()
    with desktop.expect_response(f"**/api/drawings/{drawing_id}/label/") as answered:
        desktop.get_by_test_id("confirm").click()
    assert answered.value.ok
    expect(desktop.get_by_test_id("label-not-a-digit")).to_have_attribute("aria-pressed", "true")
    row = Drawing.objects.get(pk=drawing_id)
    assert (row.not_a_digit, row.digit, row.user_label) == (True, None, NOT_A_DIGIT)
    expect(desktop.get_by_test_id("history").locator(".history-digit")).to_have_text(["✗"])


def test_a_stroke_drawn_with_a_finger_works_on_a_phone(phone: Page, results_dir: Path):
    drawing = DrawingPage(phone).open()
    phone.evaluate(
        """() => {
            window.pointerTypes = new Set();
            document.addEventListener("pointerdown", e => window.pointerTypes.add(e.pointerType), true);
        }"""
    )
    width = drawing.canvas.evaluate("c => c.getBoundingClientRect().width")
    assert 280 <= width <= 400
    assert drawing.canvas.evaluate("c => getComputedStyle(c).touchAction") == "none"
    assert drawing.canvas.evaluate("c => c.width") == round(width * 3), "drawn at the device pixel ratio"
    scroll_before = phone.evaluate("() => window.scrollY")

    drawing.draw_with_finger(ONE)

    assert phone.evaluate("() => [...window.pointerTypes]") == ["touch"]
    assert drawing.stroke_count() == 1 and drawing.ink_pixels() > 0
    assert phone.evaluate("() => window.scrollY") == scroll_before, "drawing does not scroll the page"
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_test_id("predict").tap()
    drawing.wait_until_done()
    assert_answer(drawing, 1)
    stored = Drawing.objects.get(pk=drawing.drawing_id())
    assert len(stored.strokes) == 1
    assert all(190 <= x <= 210 for x, _, _ in stored.strokes[0])
    phone.screenshot(path=results_dir / "phone.png", full_page=True)
    phone.screenshot(path=results_dir / "phone-viewport.png")


def test_undo_removes_the_last_stroke_and_clear_empties_the_canvas(desktop: Page):
    drawing = DrawingPage(desktop).open()
    expect(desktop.get_by_test_id("undo")).to_be_disabled()
    drawing.draw_with_mouse(FOUR)
    assert drawing.stroke_count() == 2
    both = drawing.ink_pixels()

    desktop.get_by_test_id("undo").click()
    assert drawing.stroke_count() == 1
    assert 0 < drawing.ink_pixels() < both

    drawing.draw_with_mouse(FOUR[1:])
    assert drawing.stroke_count() == 2
    desktop.keyboard.press("Control+z")
    assert drawing.stroke_count() == 1

    desktop.get_by_test_id("clear").click()
    assert drawing.stroke_count() == 0 and drawing.ink_pixels() == 0
    expect(desktop.get_by_test_id("predict")).to_be_disabled()

    drawing.draw_with_mouse(ONE)
    desktop.keyboard.press("Escape")
    assert drawing.stroke_count() == 0 and drawing.ink_pixels() == 0


def test_a_lost_connection_is_shown_with_retry(desktop: Page):
    drawing = DrawingPage(desktop).open()
    drawing.draw_with_mouse(ONE)
    submits = re.compile(r".*/api/drawings/(\?.*)?$")  # the submit, which waits for the result (?wait=N)
    desktop.route(submits, lambda route: route.abort("internetdisconnected"))
    desktop.get_by_test_id("predict").click()
    expect(drawing.status).to_have_attribute("data-state", "offline")
    expect(drawing.status).to_contain_text("Connection lost")

    desktop.unroute(submits)
    desktop.get_by_test_id("retry").click()
    drawing.wait_until_done()
    assert_answer(drawing, 1)
    expect(desktop.get_by_test_id("retry")).to_be_hidden()


def test_the_page_resumes_by_itself_when_the_network_comes_back(desktop: Page):
    drawing = DrawingPage(desktop).open()
    drawing.draw_with_mouse(ONE)
    desktop.context.set_offline(True)
    desktop.get_by_test_id("predict").click()
    expect(drawing.status).to_have_attribute("data-state", "offline")
    expect(desktop.get_by_test_id("retry")).to_be_visible()
    desktop.context.set_offline(False)
    drawing.wait_until_done()
    assert_answer(drawing, 1)


def test_the_page_makes_no_request_to_another_host(desktop: Page, site: str):
    requests: list[str] = []
    failures: list[str] = []
    errors: list[str] = []
    desktop.on("request", lambda request: requests.append(request.url))
    desktop.on("requestfailed", lambda request: failures.append(request.url))
    desktop.on("response", lambda response: response.status >= 400 and failures.append(response.url))
    desktop.on("console", lambda message: message.type == "error" and errors.append(message.text))
    desktop.on("pageerror", lambda error: errors.append(str(error)))

    drawing = DrawingPage(desktop).open()
    drawing.draw_with_mouse(SEVEN)
    desktop.get_by_test_id("predict").click()
    drawing.wait_until_done()

    own = urlsplit(site).netloc
    web = [url for url in requests if urlsplit(url).scheme in ("http", "https", "ws", "wss")]
    assert web and all(urlsplit(url).netloc == own for url in web), web
    assert any(url.endswith("/static/page/app.js") for url in web)
    assert failures == [] and errors == []


def test_auto_predict_reads_the_drawing_when_a_stroke_ends(desktop: Page):
    drawing = DrawingPage(desktop).open()
    desktop.get_by_test_id("auto-predict").check()
    with desktop.expect_request(is_drawing_submission):
        drawing.draw_with_mouse(ONE)
    drawing.wait_until_done()
    assert_answer(drawing, 1)
    desktop.reload()
    expect(desktop.get_by_test_id("auto-predict")).to_be_checked()


def is_drawing_submission(request: Request) -> bool:
    return request.method == "POST" and urlsplit(request.url).path == "/api/drawings/"


def test_explain_overlays_the_saliency_map_on_what_the_model_saw(desktop: Page, results_dir: Path):
    drawing = DrawingPage(desktop).open()
    drawing.draw_with_mouse(SEVEN)
    desktop.get_by_test_id("predict").click()
    drawing.wait_until_done()
    expect(desktop.get_by_test_id("saliency")).to_be_hidden()
    desktop.get_by_test_id("explain").click()
    saliency = desktop.get_by_test_id("saliency")
    expect(saliency).to_be_visible(timeout=20000)
    expect(desktop.get_by_test_id("saliency-legend")).to_be_visible()
    assert saliency.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]
    assert saliency.bounding_box() == desktop.get_by_test_id("processed").bounding_box()
    assert Drawing.objects.count() == 1  # the same drawing, explained
    desktop.get_by_test_id("processed").screenshot(path=results_dir / "saliency-overlay.png")
    desktop.screenshot(path=results_dir / "desktop-explained.png", full_page=True)


def test_a_number_is_drawn_on_the_wide_canvas_boxed_digit_by_digit_and_corrected_whole(
    desktop: Page, results_dir: Path
):
    drawing = DrawingPage(desktop).open().number_mode()
    drawing.draw_with_mouse([[(x + 300, y) for x, y in ONE[0]], [(x + 500, y) for x, y in SEVEN[0]]])
    desktop.get_by_test_id("predict").click()
    drawing.wait_until_done()
    expect(desktop.get_by_test_id("digit")).to_have_text("17")
    expect(desktop.get_by_test_id("number-answer")).to_be_visible()
    expect(desktop.get_by_test_id("probabilities")).to_be_hidden()
    digits = desktop.get_by_test_id("number-answer").locator("[data-testid^='number-digit-']")
    expect(digits).to_have_count(2)
    assert digits.nth(0).locator("img").evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]
    desktop.screenshot(path=results_dir / "desktop-number.png", full_page=True)

    row = Drawing.objects.get(pk=drawing.drawing_id())
    assert (row.kind, row.canvas_width, row.canvas_height, row.number) == ("number", 1200, 400, "17")
    assert [d["box"][0] for d in row.digits] == sorted(d["box"][0] for d in row.digits)
    desktop.get_by_test_id("number-label").fill("11")
    with desktop.expect_response(f"**/api/drawings/{row.pk}/label/") as answered:
        desktop.get_by_test_id("number-send").click()
    assert answered.value.ok and answered.value.request.post_data_json["number"] == "11"
    row.refresh_from_db()
    assert (row.user_number_label, row.number_label) == ("11", "")

    desktop.get_by_test_id("number-mode").uncheck()
    expect(desktop.get_by_test_id("number-answer")).to_be_hidden()
    assert drawing.stroke_count() == 0
