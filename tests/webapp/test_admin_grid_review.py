"""The admin's grid review: who may see and label it, which drawings a page shows and how, and what a
page's POST writes (exactly what was sent, as the reviewer, all or nothing, never over another label)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from inference.answer import NOT_A_DIGIT
from tests.factories import drawing_factory, not_a_digit_factory, number_factory, user_factory
from webapp.drawings.models import Drawing, LabelSource, Status
from webapp.drawings.selectors import review_grid

pytestmark = pytest.mark.django_db

GRID = reverse("admin:drawings_drawing_review_grid")
GRID_LABEL = reverse("admin:drawings_drawing_review_grid_label")
EDITOR_PERMS = ("drawings.view_drawing", "drawings.change_drawing")


@pytest.fixture
def editor(client):
    user = user_factory(username="editor", perms=EDITOR_PERMS)
    client.force_login(user)
    return user


def page_labels(drawings: list[Drawing], **corrections: int) -> dict[str, str]:
    """The POST a page sends: each drawing's answer, or the label typed for it (by drawing id)."""
    return {f"label-{d.pk}": str(corrections.get(str(d.pk), d.answer_class)) for d in drawings}


def labels(drawings: list[Drawing]) -> list[int | None]:
    return [Drawing.objects.get(pk=d.pk).label for d in drawings]


def grid_ids(response) -> list[uuid.UUID]:
    return [tile["drawing"].pk for group in response.context["groups"] for tile in group["tiles"]]


def test_anonymous_users_are_sent_to_the_login_page_and_nothing_is_labelled(client):
    drawing = drawing_factory()
    for response in (client.get(GRID), client.post(GRID_LABEL, page_labels([drawing]))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert labels([drawing]) == [None]


def test_staff_without_drawing_permissions_get_403(client):
    drawing = drawing_factory()
    client.force_login(user_factory(username="other-staff"))
    assert client.get(GRID).status_code == 403
    assert client.post(GRID_LABEL, page_labels([drawing])).status_code == 403
    assert labels([drawing]) == [None]


def test_view_only_staff_see_the_page_read_only_and_may_not_label(client):
    drawing = drawing_factory()
    client.force_login(user_factory(username="viewer", perms=("drawings.view_drawing",)))
    page = client.get(GRID)
    assert page.status_code == 200 and grid_ids(page) == [drawing.pk]
    html = page.content.decode()
    assert "Accept page" not in html and 'name="label-' not in html
    assert client.post(GRID_LABEL, page_labels([drawing])).status_code == 403
    assert labels([drawing]) == [None]


def test_change_permission_labels_the_page_and_goes_to_the_next_one(client, editor):
    drawing = drawing_factory(digit=4)
    page = client.get(GRID).content.decode()
    assert "Accept page" in page and f'name="label-{drawing.pk}" value="4"' in page
    response = client.post(GRID_LABEL, page_labels([drawing]))
    assert response.status_code == 302 and response["Location"] == GRID
    assert labels([drawing]) == [4]


def test_the_post_needs_the_csrf_token(editor):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    drawing = drawing_factory()
    assert strict.post(GRID_LABEL, page_labels([drawing])).status_code == 403
    assert labels([drawing]) == [None]


def test_the_page_shows_only_finished_unlabelled_digit_drawings(client, editor):
    waiting = [drawing_factory(digit=1), not_a_digit_factory()]
    drawing_factory(digit=None)  # queued
    Drawing.objects.filter(pk=drawing_factory(digit=None).pk).update(status=Status.FAILED)
    drawing_factory(digit=1, label=1)
    number_factory(read="12")
    assert set(grid_ids(client.get(GRID))) == {d.pk for d in waiting}


def test_the_page_groups_drawings_by_answer_with_not_a_digit_apart(client, editor):
    sevens = [drawing_factory(digit=7, confidence=c) for c in (0.6, 0.4)]
    one = drawing_factory(digit=1, confidence=0.5)
    blank = not_a_digit_factory(confidence=0.7)
    response = client.get(GRID)
    groups = [(g["answer"], g["heading"], [t["drawing"].pk for t in g["tiles"]]) for g in response.context["groups"]]
    assert groups == [
        (1, "These look like 1", [one.pk]),
        (7, "These look like 7", [sevens[1].pk, sevens[0].pk]),
        (NOT_A_DIGIT, "These look like no digit at all", [blank.pk]),
    ]
    html = response.content.decode()
    assert "These look like 7" in html and "40%" in html and html.count("data:image/png;base64,") == 4


def test_a_page_is_spread_over_the_answers_least_confident_first():
    sevens = [drawing_factory(digit=7, confidence=0.30 + i / 100) for i in range(20)]
    ones = [drawing_factory(digit=1, confidence=0.9 + i / 100) for i in range(3)]
    blanks = [not_a_digit_factory(confidence=0.5 + i / 100) for i in range(2)]
    page = review_grid(size=10)
    assert {d.pk for d in page} == {d.pk for d in sevens[:5] + ones + blanks}
    # Round-robin: each answer's least confident, then each one's next, ...
    assert [d.pk for d in page[:3]] == [sevens[0].pk, blanks[0].pk, ones[0].pk]
    assert review_grid(size=3) == page[:3]


def test_the_page_size_comes_from_the_setting(client, editor, settings):
    settings.REVIEW_GRID_SIZE = 3
    for i in range(5):
        drawing_factory(digit=i % 2, confidence=0.5)
    response = client.get(GRID)
    assert response.context["count"] == 3 and len(grid_ids(response)) == 3


def test_a_post_labels_exactly_the_drawings_sent_and_records_the_reviewer(client, editor):
    sent = [drawing_factory(digit=2, confidence=0.3), drawing_factory(digit=5), not_a_digit_factory()]
    other = drawing_factory(digit=2)
    response = client.post(GRID_LABEL, page_labels(sent, **{str(sent[1].pk): 6}), follow=True)
    assert "Labelled 3 drawings (1 corrected)." in response.content.decode()
    assert labels(sent) == [2, 6, NOT_A_DIGIT] and labels([other]) == [None]
    for drawing in sent:
        drawing.refresh_from_db()
        assert drawing.label_source == LabelSource.STAFF and drawing.labelled_at is not None
        entry = LogEntry.objects.get(object_id=str(drawing.pk))
        assert (entry.user, entry.action_flag) == (editor, CHANGE)
    assert (
        "Labelled 6 on the grid review page (cnn said 5)."
        in LogEntry.objects.get(object_id=str(sent[1].pk)).change_message
    )
    assert not LogEntry.objects.filter(object_id=str(other.pk)).exists()


@pytest.mark.parametrize("bad", ["11", "x", "", "-1", "3.0"])
def test_a_post_with_a_bad_label_is_refused_and_writes_nothing(client, editor, bad):
    page = [drawing_factory(digit=3), drawing_factory(digit=4)]
    data = page_labels(page, **{str(page[1].pk): bad})
    response = client.post(GRID_LABEL, data, follow=True)
    assert "Nothing was labelled" in response.content.decode() and "is not a label" in response.content.decode()
    assert labels(page) == [None, None] and not LogEntry.objects.exists()


def test_a_post_with_an_unknown_or_unfit_drawing_is_refused_and_writes_nothing(client, editor):
    page = [drawing_factory(digit=3), drawing_factory(digit=4)]
    queued = drawing_factory(digit=None)
    number = number_factory(read="12")
    for extra, says in (
        ({f"label-{uuid.uuid4()}": "3"}, "No drawing with id"),
        ({"label-not-an-id": "3"}, "does not name a drawing"),
        ({f"label-{queued.pk}": "3"}, "is not a finished digit drawing"),
        ({f"label-{number.pk}": "3"}, "is not a finished digit drawing"),
    ):
        response = client.post(GRID_LABEL, {**page_labels(page), **extra}, follow=True)
        assert "Nothing was labelled" in response.content.decode() and says in response.content.decode(), extra
    assert labels(page + [queued]) == [None, None, None] and not LogEntry.objects.exists()
    response = client.post(GRID_LABEL, {}, follow=True)
    assert "Nothing was labelled: the page sent no drawings." in response.content.decode()


def test_a_drawing_labelled_meanwhile_keeps_its_label(client, editor):
    page = [drawing_factory(digit=3), drawing_factory(digit=4)]
    data = page_labels(page)
    Drawing.objects.filter(pk=page[1].pk).update(label=9, label_source=LabelSource.IMPORT)
    response = client.post(GRID_LABEL, data, follow=True)
    html = response.content.decode()
    assert "Labelled 1 drawing (0 corrected)." in html and "1 had been labelled by someone else" in html
    assert labels(page) == [3, 9]
    assert Drawing.objects.get(pk=page[1].pk).label_source == LabelSource.IMPORT
    assert not LogEntry.objects.filter(object_id=str(page[1].pk)).exists()


def test_the_drawing_list_and_the_review_page_link_to_the_grid(client, editor):
    drawing = drawing_factory()
    assert GRID in client.get(reverse("admin:drawings_drawing_changelist")).content.decode()
    assert GRID in client.get(reverse("admin:drawings_drawing_review", args=[drawing.pk])).content.decode()


def test_an_empty_queue_says_so(client, editor):
    drawing_factory(digit=3, label=3)
    response = client.get(GRID)
    assert response.status_code == 200 and "No finished drawing is waiting for a label." in response.content.decode()
