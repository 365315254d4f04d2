"""The grid review in Chromium: a page of 48 drawings with two wrong answers is labelled right with three
key presses (pointing is not an action), and the page works from the keyboard alone, for new drawings and
for labels likely wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, Locator, Page, expect

from inference.answer import NOT_A_DIGIT
from tests.browser.conftest import logged_in_page
from tests.factories import drawing_factory, not_a_digit_factory, user_factory
from webapp.drawings.models import Drawing, LabelSource

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GRID = reverse("admin:drawings_drawing_review_grid")


@pytest.fixture
def reviewer() -> User:
    return user_factory(username="grid-reviewer", perms=("drawings.view_drawing", "drawings.change_drawing"))


@pytest.fixture
def page(browser: Browser, live_server, reviewer: User) -> Iterator[Page]:
    """Chromium logged in as a reviewer who may change drawings."""
    yield from logged_in_page(browser, live_server.url, reviewer)


class Reviewer:
    """Drives the page as a person would and counts their actions: key presses and clicks. Moving the
    pointer over a tile is not counted (it is where the hand already is, not a decision)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.actions: list[str] = []

    def point_at(self, tile: Locator) -> None:
        tile.hover()

    def click(self, tile: Locator) -> None:
        tile.click()
        self.actions.append("click")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.actions.append(key)


def tile(page: Page, drawing: Drawing) -> Locator:
    return page.locator(f'.grid-tile[data-drawing="{drawing.pk}"]')


def open_grid(page: Page) -> None:
    response = page.goto(GRID)
    assert response is not None and response.ok
    expect(page.locator(".grid-tile").first).to_be_focused()  # the page's script ran


def test_a_page_of_48_with_two_wrong_answers_is_labelled_right_with_three_key_presses(page: Page, reviewer: User):
    # 44 digits (0-9 in turn) and 4 "not a digit"; confidences all different, so the order is known.
    drawings = [drawing_factory(digit=i % 10, confidence=0.50 + i / 200) for i in range(44)]
    drawings += [not_a_digit_factory(confidence=0.40 + i / 200) for i in range(4)]
    truth = {d.pk: d.answer_class for d in drawings}
    wrong_seven, wrong_three = drawings[27], drawings[33]  # the models said 7 and 3
    truth[wrong_seven.pk], truth[wrong_three.pk] = 1, NOT_A_DIGIT
    open_grid(page)
    expect(page.locator(".grid-tile")).to_have_count(48)
    expect(page.locator(".grid-group h2")).to_have_count(11)
    expect(page.get_by_text("These look like 7")).to_be_visible()

    person = Reviewer(page)
    person.point_at(tile(page, wrong_seven))
    person.press("1")
    person.point_at(tile(page, wrong_three))
    person.press("x")
    expect(tile(page, wrong_seven)).to_contain_text("→ 1")
    expect(tile(page, wrong_three)).to_contain_text("→ not a digit")
    expect(page.locator("#grid-corrected")).to_have_text("2")
    with page.expect_navigation():
        person.press("Enter")

    assert person.actions == ["1", "x", "Enter"] and len(person.actions) <= 4
    expect(page.locator(".messagelist")).to_contain_text("Labelled 48 drawings (2 corrected).")
    stored = {d.pk: d for d in Drawing.objects.filter(pk__in=truth)}
    assert {pk: d.label for pk, d in stored.items()} == truth
    assert all(d.label_source == LabelSource.STAFF and d.labelled_at is not None for d in stored.values())
    logged = LogEntry.objects.filter(object_id__in=[str(pk) for pk in truth], user=reviewer)
    assert logged.count() == 48
    assert page.evaluate("window.__cspViolations") == []


def test_the_keyboard_alone_moves_marks_clears_and_submits(page: Page, reviewer: User):
    drawings = [drawing_factory(digit=i % 2, confidence=0.50 + i / 100) for i in range(24)]
    open_grid(page)
    tiles = page.locator(".grid-tile")
    first = tiles.nth(0)
    assert first.evaluate("t => getComputedStyle(t).outlineStyle") != "none"  # the focus shows

    page.keyboard.press("ArrowRight")
    expect(tiles.nth(1)).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")  # the tile below, in the same group's next row
    below = page.locator(".grid-tile:focus")
    box, first_box = below.bounding_box(), first.bounding_box()
    assert box and first_box and box["y"] > first_box["y"] and abs(box["x"] - first_box["x"]) < 5
    marked = Drawing.objects.get(pk=below.get_attribute("data-drawing"))

    page.keyboard.press("5")
    expect(below).to_contain_text("→ 5")
    page.keyboard.press("5")  # the same key again takes the mark off
    expect(below).not_to_contain_text("→")
    page.keyboard.press("n")
    expect(below).to_contain_text("→ not a digit")
    page.keyboard.press("Backspace")
    expect(below).not_to_contain_text("→")
    page.keyboard.press("8")
    page.keyboard.press("ArrowUp")
    expect(first).to_be_focused()
    page.keyboard.press("3")
    page.keyboard.press("Escape")
    expect(page.locator("#grid-corrected")).to_have_text("1")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.locator(".messagelist")).to_contain_text("Labelled 24 drawings (1 corrected).")
    expected = {d.pk: (8 if d.pk == marked.pk else d.answer_class) for d in drawings}
    assert dict(Drawing.objects.filter(pk__in=expected).values_list("pk", "label")) == expected
    expect(page.get_by_text("No finished drawing is waiting for a label.")).to_be_visible()


def test_a_click_then_a_digit_marks_the_clicked_tile(page: Page):
    drawings = [drawing_factory(digit=4, confidence=0.5 + i / 100) for i in range(6)]
    open_grid(page)
    person = Reviewer(page)
    person.click(tile(page, drawings[3]))
    person.press("9")
    expect(tile(page, drawings[3])).to_contain_text("→ 9")
    page.get_by_role("button", name="Accept page").click()
    page.wait_for_url(f"**{GRID}")
    assert Drawing.objects.get(pk=drawings[3].pk).label == 9
    assert sorted(Drawing.objects.filter(pk__in=[d.pk for d in drawings]).values_list("label", flat=True)) == [
        4,
        4,
        4,
        4,
        4,
        9,
    ]


def test_a_page_of_suspected_labels_is_confirmed_or_corrected_from_the_keyboard(page: Page, reviewer: User):
    from webapp.drawings.services.label_issues import label_issues_find

    for digit in range(10):
        for _ in range(8):
            drawing_factory(digit=digit, confidence=0.97, label=digit)
    # Six labels contradict a sure answer: four are really wrong, two are right (the model misread them).
    suspects = [drawing_factory(digit=digit, confidence=0.98, label=(digit + 5) % 10) for digit in range(6)]
    truth = {d.pk: (d.digit if i < 4 else d.label) for i, d in enumerate(suspects)}
    assert label_issues_find().suspected == 6
    response = page.goto(f"{GRID}?suspected=1")
    assert response is not None and response.ok
    expect(page.locator(".grid-tile")).to_have_count(6)
    expect(tile(page, suspects[0])).to_contain_text(f"likely {suspects[0].digit}")

    person = Reviewer(page)
    for drawing in suspects[:4]:
        person.point_at(tile(page, drawing))
        person.press(str(drawing.digit))
    with page.expect_navigation():
        person.press("Enter")

    assert len(person.actions) == 5
    expect(page.locator(".messagelist")).to_contain_text("Checked 6 labels (4 changed).")
    stored = {d.pk: d for d in Drawing.objects.filter(pk__in=truth)}
    assert {pk: d.label for pk, d in stored.items()} == truth
    assert all(d.suspected_label is None and d.label_confirmed_at is not None for d in stored.values())
    assert LogEntry.objects.filter(object_id__in=[str(pk) for pk in truth], user=reviewer).count() == 6
    expect(page.get_by_text("No label is suspected wrong.")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
