"""A version in the shadow answers live drawings through a real worker after the serving answer is out;
its answers are stored apart, counted in /metrics and summed up in the admin, and never shown."""

from __future__ import annotations

import time

import pytest
from django.core.management import CommandError, call_command

from tests.factories import data_url, mnist_test_digit
from webapp.drawings.models import Drawing, ShadowAnswer
from webapp.drawings.selectors import shadow_summary
from webapp.drawings.services.shadow import in_shadow_share
from webapp.modelversions.models import ModelVersion
from webapp.modelversions.selectors import model_version_active
from webapp.modelversions.services import model_versions_sync

pytestmark = pytest.mark.django_db(transaction=True)

SHADOW = ("cnn", 7)


def submit(client, index: int) -> dict:
    png, _ = mnist_test_digit(index)
    response = client.post("/api/drawings/?wait=10", {"image": data_url(png), "model": "cnn"}, "application/json")
    assert response.status_code == 200, response.content
    return response.json()


def shadow_answer(drawing_id: str, timeout: float) -> ShadowAnswer | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = ShadowAnswer.objects.filter(drawing_id=drawing_id).first()
        if found is not None:
            return found
        time.sleep(0.05)
    return None


def test_a_shadow_version_answers_live_drawings_apart_and_is_never_shown(client, admin_client, celery_worker_process):
    model_versions_sync()
    assert model_version_active("cnn") != SHADOW[1]
    call_command("shadow_model", *map(str, SHADOW))
    # The worker reads which version is in shadow at most a second late.
    deadline = time.monotonic() + 10
    while shadow_answer(submit(client, 0)["id"], timeout=1) is None:
        assert time.monotonic() < deadline, "the worker never ran the shadow version"
    answers = [submit(client, index) for index in range(1, 6)]
    for answer in answers:
        assert not any("shadow" in key for key in answer), answer  # the drawer sees the serving answer only
        assert answer["model_version"] == model_version_active("cnn")
        stored = shadow_answer(answer["id"], timeout=5)
        assert stored is not None and (stored.model_name, stored.model_version) == SHADOW
        assert stored.agrees == (stored.digit == answer["digit"] and stored.not_a_digit == answer["not_a_digit"])
        assert stored.inference_ms > 0
    labelled = Drawing.objects.get(pk=answers[0]["id"])
    labelled.label = mnist_test_digit(1)[1]
    labelled.save()
    summary = shadow_summary(model_name="cnn", version=SHADOW[1])
    assert summary is not None and summary.drawings >= 6 and summary.labelled == 1
    assert summary.accuracy == 1.0 and 0.8 <= summary.agreement <= 1.0
    record = ModelVersion.objects.get(model_name="cnn", version=SHADOW[1])
    page = admin_client.get(f"/admin/modelversions/modelversion/{record.pk}/change/").content.decode()
    assert "agrees with the serving version on" in page and "accuracy on the 1 labelled: 100.00%" in page
    scrape = client.get("/metrics").content.decode()
    assert 'inkwell_shadow_predictions_total{agrees="true",model="cnn",version="7"}' in scrape
    call_command("shadow_model", "cnn", "--stop")
    assert not ModelVersion.objects.filter(is_shadow=True).exists()


def test_the_serving_version_cannot_be_its_own_shadow_and_promotion_ends_the_shadow():
    model_versions_sync()
    with pytest.raises(CommandError, match="serves already"):
        call_command("shadow_model", "cnn", str(model_version_active("cnn")))
    call_command("shadow_model", *map(str, SHADOW))
    call_command("activate_model", *map(str, SHADOW))
    record = ModelVersion.objects.get(model_name="cnn", version=SHADOW[1])
    assert record.is_active and not record.is_shadow


def test_shadow_share_picks_drawings_by_id(settings):
    drawings = [Drawing(model_name="cnn") for _ in range(400)]
    settings.SHADOW_SHARE = 0.25
    chosen = [in_shadow_share(drawing) for drawing in drawings]
    assert 60 < sum(chosen) < 140
    assert chosen == [in_shadow_share(drawing) for drawing in drawings]
    settings.SHADOW_SHARE = 0.0
    assert not any(in_shadow_share(drawing) for drawing in drawings)
