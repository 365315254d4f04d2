"""Feedback from the drawer needs the drawing's secret token, and never overwrites a trusted label."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from tests.factories import canvas_png, data_url, drawing_factory, mnist, user_factory
from webapp.drawings.models import Drawing, LabelSource
from webapp.drawings.selectors import drawing_statistics, training_drawings, training_writer_keys
from webapp.drawings.services.feedback import drawing_feedback_token

pytestmark = pytest.mark.django_db


def submit(client) -> dict:
    body = {"image": data_url(canvas_png(mnist().x_test[0]))}
    response = client.post("/api/drawings/", body, content_type="application/json")
    assert response.status_code == 202
    return response.json()


def send_feedback(client, drawing_id, label: int, **token: str):
    return client.post(f"/api/drawings/{drawing_id}/label/", {"label": label, **token}, content_type="application/json")


def test_the_submit_answer_carries_a_feedback_token_that_reads_never_show(client):
    created = submit(client)
    assert created["feedback_token"] == drawing_feedback_token(drawing_id=created["id"])
    assert len(created["feedback_token"]) >= 32
    assert "feedback_token" not in client.get(f"/api/drawings/{created['id']}/").json()


@pytest.mark.parametrize("token", [None, "", "0" * 64, "not-a-token"])
def test_feedback_without_the_right_token_is_403_forbidden(client, token):
    created = submit(client)
    response = send_feedback(client, created["id"], 3, **({} if token is None else {"feedback_token": token}))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert response.json()["error"]["field"] == "feedback_token"
    drawing = Drawing.objects.get(pk=created["id"])
    assert (drawing.user_label, drawing.label) == (None, None)


def test_the_token_of_one_drawing_does_not_open_another(client):
    first, second = submit(client), submit(client)
    response = send_feedback(client, second["id"], 3, feedback_token=first["feedback_token"])
    assert response.status_code == 403


def test_feedback_on_an_unknown_drawing_is_404(client):
    drawing_id = "00000000-0000-0000-0000-000000000000"
    token = drawing_feedback_token(drawing_id=drawing_id)
    assert send_feedback(client, drawing_id, 3, feedback_token=token).status_code == 404


def test_feedback_never_overwrites_a_staff_label(client):
    drawing = drawing_factory(digit=4, label=4, label_source=LabelSource.STAFF)
    token = drawing_feedback_token(drawing_id=drawing.pk)
    response = send_feedback(client, drawing.pk, 9, feedback_token=token)
    assert response.status_code == 200
    assert (response.json()["label"], response.json()["user_label"]) == (4, 9)
    drawing.refresh_from_db()
    assert (drawing.label, drawing.label_source, drawing.user_label) == (4, LabelSource.STAFF, 9)


def test_tokens_follow_the_secret_key_and_survive_its_rotation_through_fallbacks(client, settings):
    drawing = drawing_factory()
    old_key, old_token = settings.SECRET_KEY, drawing_feedback_token(drawing_id=drawing.pk)
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert drawing_feedback_token(drawing_id=drawing.pk) != old_token
    assert send_feedback(client, drawing.pk, 1, feedback_token=old_token).status_code == 403
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert send_feedback(client, drawing.pk, 1, feedback_token=old_token).status_code == 200


def test_training_trusts_staff_and_imported_labels_and_the_drawers_only_when_configured(settings):
    drawing_factory(label=4, label_source=LabelSource.STAFF, user_label=9, writer="a")
    drawing_factory(label=2, label_source=LabelSource.IMPORT, writer="b")
    drawing_factory(user_label=7, writer="c")
    drawing_factory(writer="d")  # nothing said about it
    drawing_factory(user_label=1, writer="e", excluded_from_training=True)

    settings.FINETUNE_TRUST_USER_LABELS = False
    assert sorted(d.label for d in training_drawings()) == [2, 4]
    assert training_writer_keys() == {"writer:a", "writer:b"}

    settings.FINETUNE_TRUST_USER_LABELS = True
    by_writer = {d.writer_key: d.label for d in training_drawings()}
    assert by_writer == {"writer:a": 4, "writer:b": 2, "writer:c": 7}  # the staff label wins over the drawer's


def test_migration_moves_old_user_labels_apart_from_the_trusted_label():
    migration = importlib.import_module("webapp.drawings.migrations.0002_user_label")
    old_user = drawing_factory(label=3)
    Drawing.objects.filter(pk=old_user.pk).update(label_source="user")
    staff = drawing_factory(label=5, label_source=LabelSource.STAFF)
    migration.user_labels_apart(apps, None)
    old_user.refresh_from_db()
    staff.refresh_from_db()
    assert (old_user.label, old_user.label_source, old_user.user_label) == (None, "", 3)
    assert old_user.user_labelled_at is not None and old_user.labelled_at is None
    assert (staff.label, staff.label_source, staff.user_label) == (5, LabelSource.STAFF, None)


def test_staff_can_accept_the_drawers_answer_as_the_label(client):
    client.force_login(user_factory(username="staff", superuser=True))
    answered, silent = drawing_factory(user_label=6), drawing_factory()
    data = {"action": "user_label_accept", "_selected_action": [str(answered.pk), str(silent.pk)], "index": "0"}
    response = client.post(reverse("admin:drawings_drawing_changelist"), data, follow=True)
    assert "Labelled 1 drawings with the drawer" in response.content.decode()
    answered.refresh_from_db()
    silent.refresh_from_db()
    assert (answered.label, answered.label_source) == (6, LabelSource.STAFF)
    assert silent.label is None


def test_review_page_and_statistics_show_the_drawers_answer_apart(client):
    client.force_login(user_factory(username="staff", superuser=True))
    drawing = drawing_factory(digit=3, user_label=3)
    drawing_factory(digit=3, user_label=8)
    page = client.get(reverse("admin:drawings_drawing_review", args=[drawing.pk])).content.decode()
    assert '<strong id="current-label">none</strong>' in page and '<strong id="user-label">3</strong>' in page
    (stats,) = drawing_statistics()
    assert (stats.labelled, stats.user_labelled, stats.user_confirmed) == (0, 2, 1)
