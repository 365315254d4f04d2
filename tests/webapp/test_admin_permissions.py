"""Every admin action checks its permission: a view-only staff user is not offered them and gets 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import drawing_factory, user_factory
from webapp.drawings.models import Drawing
from webapp.modelversions import admin as modelversions_admin
from webapp.modelversions.models import ModelVersion
from webapp.modelversions.selectors import model_version_active
from webapp.modelversions.services import model_versions_sync

pytestmark = pytest.mark.django_db

DRAWINGS = reverse("admin:drawings_drawing_changelist")
MODEL_VERSIONS = reverse("admin:modelversions_modelversion_changelist")
DRAWING_ACTIONS = [
    "label_set",
    "not_a_digit_mark",
    "prediction_confirm",
    "user_label_accept",
    "training_exclude",
    "training_include",
]


def activated(model_name: str = "cnn") -> int | None:
    """The version activated in the database (the serving selector caches for a second)."""
    row = ModelVersion.objects.filter(model_name=model_name, is_active=True).first()
    return row.version if row else None


def offered_actions(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def run_action(client, url: str, action: str, pks: list, **fields: str):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", **fields}
    return client.post(url, data)


@pytest.fixture
def finetunes_started(monkeypatch) -> list[str]:
    started: list[str] = []
    monkeypatch.setattr(
        modelversions_admin, "model_finetune_enqueue", lambda *, model_name, started_by: started.append(model_name)
    )
    return started


@pytest.fixture
def cnn_versions() -> dict[int, ModelVersion]:
    model_versions_sync()
    versions = {v.version: v for v in ModelVersion.objects.filter(model_name="cnn")}
    assert len(versions) >= 2
    return versions


def test_view_only_staff_is_offered_no_drawing_action_and_gets_403_for_each(client):
    client.force_login(user_factory(username="viewer", perms=("drawings.view_drawing",)))
    drawing = drawing_factory(digit=3, user_label=3)
    assert offered_actions(client, DRAWINGS) == set()
    for action in DRAWING_ACTIONS:
        assert run_action(client, DRAWINGS, action, [drawing.pk], label="5").status_code == 403, action
    drawing.refresh_from_db()
    assert (drawing.label, drawing.excluded_from_training) == (None, False)


def test_view_only_staff_may_not_label_on_the_review_page(client):
    client.force_login(user_factory(username="viewer", perms=("drawings.view_drawing",)))
    drawing = drawing_factory()
    page = client.get(reverse("admin:drawings_drawing_review", args=[drawing.pk]))
    assert page.status_code == 200 and 'id="label-form"' not in page.content.decode()
    assert client.post(reverse("admin:drawings_drawing_label", args=[drawing.pk]), {"label": "1"}).status_code == 403
    assert Drawing.objects.get(pk=drawing.pk).label is None


def test_staff_with_change_permission_is_offered_and_runs_the_drawing_actions(client):
    client.force_login(user_factory(username="editor", perms=("drawings.view_drawing", "drawings.change_drawing")))
    drawing = drawing_factory()
    assert set(DRAWING_ACTIONS) <= offered_actions(client, DRAWINGS)
    assert run_action(client, DRAWINGS, "label_set", [drawing.pk], label="5").status_code == 302
    assert Drawing.objects.get(pk=drawing.pk).label == 5


def test_view_only_staff_is_not_offered_activate_or_fine_tune_and_gets_403(client, cnn_versions, finetunes_started):
    client.force_login(user_factory(username="viewer", perms=("modelversions.view_modelversion",)))
    serving = model_version_active("cnn")
    other = next(v for number, v in cnn_versions.items() if number != serving)
    assert offered_actions(client, MODEL_VERSIONS) == set()
    assert run_action(client, MODEL_VERSIONS, "activate", [other.pk]).status_code == 403
    assert run_action(client, MODEL_VERSIONS, "finetune_now", [other.pk]).status_code == 403
    assert activated() is None
    assert finetunes_started == []


def test_change_permission_alone_does_not_allow_activate_or_fine_tune(client, cnn_versions, finetunes_started):
    perms = ("modelversions.view_modelversion", "modelversions.change_modelversion")
    client.force_login(user_factory(username="editor", perms=perms))
    serving = model_version_active("cnn")
    other = next(v for number, v in cnn_versions.items() if number != serving)
    assert offered_actions(client, MODEL_VERSIONS) == set()
    assert run_action(client, MODEL_VERSIONS, "activate", [other.pk]).status_code == 403
    assert run_action(client, MODEL_VERSIONS, "finetune_now", [other.pk]).status_code == 403
    assert activated() is None and finetunes_started == []


def test_each_dedicated_permission_allows_its_own_action_only(client, cnn_versions, finetunes_started):
    activator = user_factory(
        username="activator", perms=("modelversions.view_modelversion", "modelversions.activate_modelversion")
    )
    client.force_login(activator)
    serving = model_version_active("cnn")
    other = next(v for number, v in cnn_versions.items() if number != serving)
    # Putting a version in the shadow or taking it out is part of deciding what serves.
    assert offered_actions(client, MODEL_VERSIONS) == {"activate", "promote_from_shadow", "shadow_start", "shadow_stop"}
    assert run_action(client, MODEL_VERSIONS, "finetune_now", [other.pk]).status_code == 403
    assert run_action(client, MODEL_VERSIONS, "activate", [other.pk]).status_code == 302
    assert activated() == other.version

    trainer = user_factory(
        username="trainer", perms=("modelversions.view_modelversion", "modelversions.finetune_modelversion")
    )
    client.force_login(trainer)
    assert offered_actions(client, MODEL_VERSIONS) == {"finetune_now"}
    assert run_action(client, MODEL_VERSIONS, "activate", [cnn_versions[serving].pk]).status_code == 403
    assert run_action(client, MODEL_VERSIONS, "finetune_now", [other.pk]).status_code == 302
    assert finetunes_started == ["cnn"] and activated() == other.version
