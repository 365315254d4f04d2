"""Promotion from the shadow: a fine-tune that passes the gate with FINETUNE_PROMOTE=shadow answers live
drawings in the shadow first, and the scheduler's check promotes or rejects it on what they show."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from inference import registry
from tests.conftest import start_worker
from tests.factories import canvas_png, labelled_drawings, mnist
from webapp.drawings.models import Drawing, ShadowAnswer, Status
from webapp.drawings.tasks import drawing_predict_task
from webapp.modelversions.models import ModelVersion, VersionStatus
from webapp.modelversions.selectors import model_version_active, model_version_shadow
from webapp.modelversions.services import model_version_finetune, model_version_shadow_set, model_versions_sync
from webapp.modelversions.shadow_promotion import shadow_candidates_check

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cnn_dir(tmp_path, monkeypatch, redis_server):
    """Private copies of cnn v7 and v8 (v8 serves), so that cards written on a verdict stay out of the repository."""
    for version in (7, 8):
        shutil.copytree(registry.artifact_dir("cnn", version), tmp_path / "cnn" / str(version))
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    monkeypatch.setattr("webapp.modelversions.selectors.ACTIVE_VERSION_TTL_SECONDS", 0)
    model_versions_sync()
    ModelVersion.objects.filter(model_name="cnn", version=7).update(status=VersionStatus.CANDIDATE, is_shadow=True)
    return tmp_path


def shadowed(count: int, *, agreeing: int, labelled: int = 0, shadow_right_where_they_differ: bool = False) -> None:
    """`count` cnn drawings answered by v8 with v7's answers beside them: the first `agreeing` agree. The last
    `labelled` are labelled: the serving answer is right, or the shadow's where they differ and it is asked."""
    for index in range(count):
        digit = index % 10
        agrees = index < agreeing
        shadow_digit = digit if agrees else (digit + 1) % 10
        labelled_here = index >= count - labelled
        label = shadow_digit if shadow_right_where_they_differ and not agrees else digit
        drawing = Drawing.objects.create(
            image=b"png",
            model_name="cnn",
            model_version=8,
            status=Status.DONE,
            digit=digit,
            confidence=0.9,
            label=label if labelled_here else None,
        )
        ShadowAnswer.objects.create(
            drawing=drawing,
            model_name="cnn",
            model_version=7,
            digit=shadow_digit,
            not_a_digit=False,
            confidence=0.9,
            agrees=agrees,
            inference_ms=0.5,
        )


@pytest.fixture
def rules(settings):
    settings.SHADOW_MIN_DRAWINGS = 10
    settings.SHADOW_MIN_AGREEMENT = 0.8
    settings.SHADOW_MIN_LABELLED = 4
    return settings


def test_a_candidate_waits_for_enough_shadow_answers_and_labels(cnn_dir, rules, admin_client):
    shadowed(5, agreeing=5)
    assert shadow_candidates_check() == []
    record = ModelVersion.objects.get(model_name="cnn", version=7)
    page = admin_client.get(f"/admin/modelversions/modelversion/{record.pk}/change/").content.decode()
    assert "Shadow check (wait): 5 of 10 drawings answered in the shadow." in page
    shadowed(5, agreeing=5, labelled=2)
    assert shadow_candidates_check() == []
    page = admin_client.get(f"/admin/modelversions/modelversion/{record.pk}/change/").content.decode()
    assert "2 of 4 of its drawings labelled" in page
    record.refresh_from_db()
    assert record.status == VersionStatus.CANDIDATE and record.is_shadow and model_version_active("cnn") == 8


def test_a_candidate_that_disagrees_too_often_is_rejected_and_leaves_the_shadow(cnn_dir, rules):
    shadowed(10, agreeing=7)
    (decision,) = shadow_candidates_check()
    record = ModelVersion.objects.get(model_name="cnn", version=7)
    assert record.status == VersionStatus.REJECTED and not record.is_shadow
    assert "70.00%, below 80.00%" in record.decision and "cnn v7" in decision
    assert model_version_active("cnn") == 8 and model_version_shadow("cnn") is None
    assert registry.read_card("cnn", 7)["rejected"] is True


def test_a_candidate_that_reads_the_labelled_drawings_worse_is_rejected(cnn_dir, rules):
    shadowed(10, agreeing=8, labelled=4)  # the two it differs on are labelled as the serving version read them
    shadow_candidates_check()
    record = ModelVersion.objects.get(model_name="cnn", version=7)
    assert record.status == VersionStatus.REJECTED
    assert "reads 50.00% of the 4 labelled (serving: 100.00%)" in record.decision


def test_a_candidate_as_good_on_live_traffic_is_promoted_and_serves(cnn_dir, rules):
    shadowed(10, agreeing=8, labelled=4, shadow_right_where_they_differ=True)
    shadow_candidates_check()
    record = ModelVersion.objects.get(model_name="cnn", version=7)
    assert record.status == VersionStatus.PROMOTED and record.is_active and not record.is_shadow
    assert record.decision.startswith("Promoted from the shadow: agrees with the serving version on 80.00%")
    assert model_version_active("cnn") == 7
    assert registry.read_card("cnn", 7)["rejected"] is False


def test_promote_from_the_shadow_in_the_admin_says_who_and_on_what_figures(cnn_dir, rules, admin_client):
    shadowed(3, agreeing=3)
    record = ModelVersion.objects.get(model_name="cnn", version=7)
    response = admin_client.post(
        "/admin/modelversions/modelversion/",
        {"action": "promote_from_shadow", "_selected_action": [record.pk]},
        follow=True,
    )
    assert b"Cnn v7 now serves." in response.content
    record.refresh_from_db()
    assert record.status == VersionStatus.PROMOTED and record.is_active
    assert record.decision.startswith("Promoted from the shadow: by admin, with 3 drawings; agrees")


def worsen_numpy(version_dir: Path) -> None:
    """Noise on the hidden and output weights of a numpy version: it still reads some digits, badly."""
    rng = np.random.default_rng(0)
    weights = dict(np.load(version_dir / "weights.npz"))
    for name in ("W2", "W3"):
        weights[name] = weights[name] + rng.normal(0, weights[name].std(), weights[name].shape).astype(np.float32)
    np.savez(version_dir / "weights.npz", **weights)


def predicted(queue: str, count: int) -> list[Drawing]:
    drawings = [Drawing.objects.create(image=canvas_png(mnist().x_test[i]), model_name="numpy") for i in range(count)]
    for drawing in drawings:
        drawing_predict_task.apply_async(args=[str(drawing.id)], queue=queue)
    deadline = time.monotonic() + 60
    while Drawing.objects.filter(pk__in=[d.pk for d in drawings], status=Status.DONE).count() < count:
        assert time.monotonic() < deadline, "the drawings were not answered"
        time.sleep(0.05)
    return list(Drawing.objects.filter(pk__in=[d.pk for d in drawings]))


def test_a_gated_finetune_goes_into_the_shadow_and_the_scheduler_promotes_it_to_every_worker(
    model_dir, worker_env, tmp_path, settings
):
    worsen_numpy(model_dir / "numpy" / "1")  # a parent that fine-tuning clearly improves, so the gate passes
    labelled_drawings(400)
    settings.FINETUNE_PROMOTE = "shadow"
    settings.FINETUNE_MNIST_MARGIN_POINTS = 100.0
    record = model_version_finetune(model_name="numpy", started_by="test")
    assert record.status == VersionStatus.CANDIDATE, record.decision
    assert record.is_shadow and not record.is_active and model_version_active("numpy") == 1
    assert registry.read_card("numpy", 2)["rejected"] is True and registry.latest_version("numpy") == 1

    queue = f"shadow-promotion-{os.getpid()}"
    env = {**worker_env, "MODEL_DIR": str(model_dir)}
    checks = {"SHADOW_CHECK_SECONDS": "1", "SHADOW_MIN_DRAWINGS": "10", "SHADOW_MIN_AGREEMENT": "0"}
    workers = [start_worker(env, f"serving{n}-{os.getpid()}", tmp_path, queues=queue) for n in range(2)]
    workers.append(start_worker({**env, **checks, "SHADOW_MIN_LABELLED": "0"}, "check", tmp_path, "training", True))
    try:
        answered = predicted(queue, 12)
        assert {drawing.model_version for drawing in answered} == {1}  # the shadow is never the answer
        deadline = time.monotonic() + 60
        while not ModelVersion.objects.filter(model_name="numpy", version=2, status=VersionStatus.PROMOTED).exists():
            assert time.monotonic() < deadline, workers[-1].log_path.read_text()[-3000:]
            time.sleep(0.05)
        promoted_at = time.monotonic()
        assert ShadowAnswer.objects.filter(model_name="numpy", model_version=2).count() >= 10
        while time.monotonic() < promoted_at + 1.0:
            time.sleep(0.05)
        assert {drawing.model_version for drawing in predicted(queue, 8)} == {2}
    finally:
        for worker in workers:
            worker.stop()
    record.refresh_from_db()
    assert record.is_active and not record.is_shadow and "Promoted from the shadow" in record.decision


def test_a_killed_worker_loses_no_serving_answer_and_leaves_no_half_stored_shadow_answer(worker_env, tmp_path):
    model_versions_sync()
    model_version_shadow_set(model_name="cnn", version=7)
    queue = f"shadow-kill-{os.getpid()}"
    worker = start_worker(worker_env, f"shadowkill{os.getpid()}", tmp_path, queues=queue)
    drawings = [Drawing.objects.create(image=canvas_png(mnist().x_test[i]), model_name="cnn") for i in range(120)]
    ids = [drawing.pk for drawing in drawings]
    try:
        for drawing in drawings:
            drawing_predict_task.apply_async(args=[str(drawing.id)], queue=queue)
        deadline = time.monotonic() + 60
        while not ShadowAnswer.objects.filter(drawing_id__in=ids).exists():
            assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
            time.sleep(0.01)
        for child in worker.child_pids():
            os.kill(child, signal.SIGKILL)
        done_at_kill = Drawing.objects.filter(pk__in=ids, status=Status.DONE).count()
        deadline = time.monotonic() + 120
        while Drawing.objects.filter(pk__in=ids, status=Status.DONE).count() < len(ids):
            assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        worker.stop()
    assert done_at_kill < len(ids), "the worker finished before it was killed: the test proved nothing"
    served = {drawing.pk: drawing for drawing in Drawing.objects.filter(pk__in=ids)}
    assert all(drawing.digit is not None and drawing.model_version == 8 for drawing in served.values())
    answers = list(ShadowAnswer.objects.filter(drawing_id__in=ids))
    assert len(answers) == len({answer.drawing_id for answer in answers})  # one per drawing, never two
    for answer in answers:
        serving = served[answer.drawing_id]
        assert answer.model_version == 7 and answer.inference_ms > 0 and answer.confidence is not None
        assert answer.agrees == (answer.digit == serving.digit and answer.not_a_digit == serving.not_a_digit)
