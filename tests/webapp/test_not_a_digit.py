"""'That is not a digit': the drawer's and staff's labels, imported letters, statistics and the admin."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from inference.answer import NOT_A_DIGIT
from tests.factories import canvas_png, data_url, drawing_factory, mnist, user_factory
from webapp.drawings.models import Drawing, LabelSource
from webapp.drawings.selectors import drawing_statistics

pytestmark = pytest.mark.django_db


def submitted(client) -> dict:
    response = client.post(
        "/api/drawings/", {"image": data_url(canvas_png(mnist().x_test[0]))}, content_type="application/json"
    )
    assert response.status_code == 202
    return response.json()


def not_a_digit_answer(*, confidence: float) -> Drawing:
    """A drawing that version 6 answered "not a digit"."""
    drawing = drawing_factory(digit=3, confidence=confidence, model_version=6)
    Drawing.objects.filter(pk=drawing.pk).update(digit=None, not_a_digit=True, not_a_digit_probability=confidence)
    drawing.refresh_from_db()
    return drawing


def test_the_drawer_can_say_it_is_not_a_digit(client):
    created = submitted(client)

    response = client.post(
        f"/api/drawings/{created['id']}/label/",
        {"label": "not_a_digit", "feedback_token": created["feedback_token"]},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["user_label"] == "not_a_digit"
    assert Drawing.objects.get(pk=created["id"]).user_label == NOT_A_DIGIT


@pytest.mark.parametrize("label", ["letter", 10, -1, "7x", True, 3.5, "²", "٣", "10", None, [3]])
def test_a_label_that_is_neither_a_digit_nor_not_a_digit_is_400(client, label):
    created = submitted(client)

    response = client.post(
        f"/api/drawings/{created['id']}/label/",
        {"label": label, "feedback_token": created["feedback_token"]},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_label"
    assert Drawing.objects.get(pk=created["id"]).user_label is None


def test_a_not_a_digit_answer_is_shown_with_no_digit(client):
    drawing = not_a_digit_answer(confidence=0.93)

    body = client.get(f"/api/drawings/{drawing.pk}/").json()

    assert (body["digit"], body["not_a_digit"], body["not_a_digit_probability"]) == (None, True, 0.93)


def test_staff_mark_drawings_not_a_digit_and_statistics_count_the_answer(client):
    client.force_login(user_factory(staff=True, superuser=True))
    letter = not_a_digit_answer(confidence=0.9)
    misread = drawing_factory(digit=4, confidence=0.8, model_version=6)

    response = client.post(
        reverse("admin:drawings_drawing_changelist"),
        {"action": "not_a_digit_mark", "_selected_action": [letter.pk, misread.pk], "index": 0},
    )

    assert response.status_code == 302
    for drawing in (letter, misread):
        drawing.refresh_from_db()
        assert (drawing.label, drawing.label_source) == (NOT_A_DIGIT, LabelSource.STAFF)
    (stats,) = [s for s in drawing_statistics() if s.model_version == 6]
    assert (stats.evaluated, stats.correct) == (2, 1)
    assert stats.confusion[NOT_A_DIGIT][NOT_A_DIGIT] == 1 and stats.confusion[NOT_A_DIGIT][4] == 1
    page = client.get(reverse("admin:drawings_drawing_statistics")).content.decode()
    assert "not a digit" in page


def test_confirming_the_prediction_labels_a_rejected_drawing_not_a_digit(client):
    client.force_login(user_factory(staff=True, superuser=True))
    letter, four = not_a_digit_answer(confidence=0.9), drawing_factory(digit=4, confidence=0.8)

    client.post(
        reverse("admin:drawings_drawing_changelist"),
        {"action": "prediction_confirm", "_selected_action": [letter.pk, four.pk], "index": 0},
    )

    assert Drawing.objects.get(pk=letter.pk).label == NOT_A_DIGIT
    assert Drawing.objects.get(pk=four.pk).label == 4


def test_imported_letters_are_labelled_not_a_digit(tmp_path: Path):
    source = Path(os.environ["UNIPEN_DIR"]) / "letters.jsonl.gz"

    call_command("import_drawings", str(source), "--limit", "5", stdout=io.StringIO(), stderr=io.StringIO())

    drawings = list(Drawing.objects.all())
    assert len(drawings) == 5
    assert {(d.label, d.label_source) for d in drawings} == {(NOT_A_DIGIT, LabelSource.IMPORT)}
    assert all(d.writer and d.strokes for d in drawings)


@pytest.mark.parametrize("label", ["²", "11", "n", ""])
def test_staff_labels_other_than_a_digit_or_not_a_digit_are_refused_with_a_message(client, label):
    client.force_login(user_factory(staff=True, superuser=True))
    drawing = drawing_factory(digit=4, confidence=0.8)

    response = client.post(reverse("admin:drawings_drawing_label", args=[drawing.pk]), {"label": label}, follow=True)

    assert response.status_code == 200
    assert "A label is a digit from 0 to 9, or not a digit." in response.content.decode()
    assert Drawing.objects.get(pk=drawing.pk).label is None
