"""The prediction job's state machine, run in-process on the real database: queued -> running ->
done or failed, idempotent, never overwriting a label, re-enqueued only once stale."""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta

import numpy as np
import pytest
from celery_batches import SimpleRequest
from django.utils import timezone
from PIL import Image

from inference import preprocess as preprocess_module
from tests.factories import digit_canvas_png, drawing_factory
from webapp.core import heartbeats
from webapp.drawings.models import Drawing, LabelSource, Status
from webapp.drawings.services import creation, prediction, requeue
from webapp.drawings.services.labels import drawing_label
from webapp.drawings.services.prediction import drawing_predict
from webapp.drawings.services.requeue import drawings_requeue_stale
from webapp.drawings.tasks import drawings_predict_task
from webapp.modelversions import selectors
from webapp.modelversions.services import model_version_activate

pytestmark = pytest.mark.django_db


@pytest.fixture
def notifications_off(monkeypatch):
    """The finish notification is Redis pub/sub, which these in-process tests do not need."""
    monkeypatch.setattr(prediction, "drawing_finished_notify", lambda **_: None)


def queued_drawing(model_name: str = "numpy") -> Drawing:
    return drawing_factory(digit=None, model_name=model_name)


def test_a_queued_job_runs_once_and_records_the_version_it_ran_on(notifications_off):
    drawing = queued_drawing()
    done = drawing_predict(drawing_id=str(drawing.pk))
    assert done is not None and done.status == Status.DONE
    assert done.attempts == 1
    assert done.model_version == selectors.model_version_active("numpy")
    assert done.digit is not None and len(done.probabilities) == 10
    thumbnail = Image.open(io.BytesIO(bytes(done.thumbnail)))
    assert thumbnail.format == "PNG" and max(thumbnail.size) <= creation.THUMBNAIL_SIZE


def test_a_digit_is_decoded_once_at_submit_and_its_job_runs_on_what_was_made_then(notifications_off, monkeypatch):
    image = digit_canvas_png(0)
    expected = preprocess_module.preprocess(image, thumbnail_size=creation.THUMBNAIL_SIZE)
    drawing = creation.drawing_create(image=image, model_name="numpy")
    stored = np.frombuffer(bytes(drawing.model_input), dtype=np.float32).reshape(28, 28)
    np.testing.assert_array_equal(stored, expected.pixels)
    assert bytes(drawing.thumbnail) == expected.thumbnail and drawing.preprocess_ms is not None

    def decoding(*args, **kwargs):
        raise AssertionError("the job decoded the image again")

    monkeypatch.setattr(prediction, "preprocess", decoding)
    monkeypatch.setattr(preprocess_module.pyspng, "load", decoding)
    done = drawing_predict(drawing_id=str(drawing.pk))
    assert done is not None and done.status == Status.DONE
    assert bytes(done.processed_image) == expected.png


def test_a_digit_job_does_not_read_the_submitted_image_from_the_database(notifications_off):
    drawing = creation.drawing_create(image=digit_canvas_png(0), model_name="numpy")
    claimed = prediction._drawings_claim([str(drawing.pk)])
    assert [row.pk for row in claimed] == [drawing.pk] and claimed[0].get_deferred_fields() == {"image"}
    assert bytes(claimed[0].image) == bytes(drawing.image)  # loaded on first use (a number's job)


def test_a_drawing_stored_without_model_input_is_preprocessed_by_its_job_to_the_same_answer(notifications_off):
    image = digit_canvas_png(0)
    submitted = creation.drawing_create(image=image, model_name="numpy")
    older = drawing_factory(digit=None, model_name="numpy", image=image)  # as rows stored before model_input
    assert older.model_input is None
    first, second = drawing_predict(drawing_id=str(submitted.pk)), drawing_predict(drawing_id=str(older.pk))
    assert first is not None and second is not None
    assert second.probabilities == first.probabilities
    assert bytes(second.processed_image) == bytes(first.processed_image)
    assert bytes(second.thumbnail) == bytes(first.thumbnail)
    assert second.preprocess_ms is not None


def test_a_batch_message_that_is_not_a_drawing_id_is_dropped_and_the_rest_of_the_batch_runs(notifications_off):
    good = queued_drawing()

    def request(*args: object) -> SimpleRequest:
        return SimpleRequest(str(uuid.uuid4()), drawings_predict_task.name, args, {}, {}, "test", False, None, None, {})

    drawings_predict_task.run([request("not-a-drawing-id"), request(str(good.pk)), request()])
    stored = Drawing.objects.get(pk=good.pk)
    assert stored.status == Status.DONE and stored.digit is not None


def test_a_second_run_of_a_finished_job_changes_nothing(notifications_off):
    drawing = queued_drawing()
    first = drawing_predict(drawing_id=str(drawing.pk))
    assert first is not None
    again = drawing_predict(drawing_id=str(drawing.pk))
    stored = Drawing.objects.get(pk=drawing.pk)
    assert again is not None and again.status == Status.DONE
    assert stored.attempts == 1
    assert stored.finished_at == first.finished_at


def test_a_label_given_while_the_job_runs_survives_the_result(notifications_off, monkeypatch):
    drawing = queued_drawing()

    def label_mid_job(image: bytes, **options):
        drawing_label(drawing=Drawing.objects.get(pk=drawing.pk), label=7, source=LabelSource.STAFF)
        return preprocess_module.preprocess(image, **options)

    monkeypatch.setattr(prediction, "preprocess", label_mid_job)
    drawing_predict(drawing_id=str(drawing.pk))
    stored = Drawing.objects.get(pk=drawing.pk)
    assert stored.status == Status.DONE
    assert (stored.label, stored.label_source) == (7, LabelSource.STAFF)


def test_a_job_that_cannot_be_read_fails_with_the_drawings_own_reason(notifications_off):
    drawing = drawing_factory(digit=None, model_name="numpy", image=b"not an image at all")
    failed = drawing_predict(drawing_id=str(drawing.pk))
    assert failed is not None and failed.status == Status.FAILED
    assert failed.error_code == "invalid_image"


def test_requeue_takes_queued_drawings_past_the_cutoff_and_running_ones_past_the_time_limit(settings, monkeypatch):
    settings.REQUEUE_AFTER_SECONDS = 30
    settings.TASK_TIME_LIMIT_SECONDS = 60
    sent: list[str] = []
    monkeypatch.setattr(requeue, "drawing_enqueue", lambda *, drawing_id: sent.append(drawing_id) or True)
    now = timezone.now()
    queued_drawing()  # queued just now: the sweep leaves it
    stale_queued = queued_drawing()
    Drawing.objects.filter(pk=stale_queued.pk).update(created_at=now - timedelta(seconds=31))
    # A running job is stale only after the hard time limit plus a margin (70 s), not after 30 s.
    running_recent = queued_drawing()
    running_stale = queued_drawing()
    Drawing.objects.filter(pk=running_recent.pk).update(status=Status.RUNNING, started_at=now - timedelta(seconds=45))
    Drawing.objects.filter(pk=running_stale.pk).update(status=Status.RUNNING, started_at=now - timedelta(seconds=71))

    assert drawings_requeue_stale() == 2
    assert set(sent) == {str(stale_queued.pk), str(running_stale.pk)}
    # Re-enqueued drawings wait a full cutoff again before the next sweep takes them.
    sent.clear()
    assert drawings_requeue_stale() == 1  # the running one: its started_at has not moved
    assert sent == [str(running_stale.pk)]


def test_a_claim_records_its_owner_and_the_sweep_takes_running_jobs_whose_owner_stopped_beating(
    redis_server, monkeypatch
):
    sent: list[str] = []
    monkeypatch.setattr(requeue, "drawing_enqueue", lambda *, drawing_id: sent.append(drawing_id) or True)
    drawing = queued_drawing()
    (claimed,) = prediction._drawings_claim([str(drawing.pk)])
    assert claimed.owner == heartbeats.process_key() == Drawing.objects.get(pk=drawing.pk).owner
    alive_owner, dead_owner = f"alive-{uuid.uuid4()}:1", f"dead-{uuid.uuid4()}:1"
    heartbeats.heartbeat_send(kind="process", name=alive_owner, payload={})
    started = timezone.now() - timedelta(seconds=heartbeats.TTL_SECONDS + 1)
    by_owner = {}
    for owner in (alive_owner, dead_owner, ""):
        running = queued_drawing()
        Drawing.objects.filter(pk=running.pk).update(status=Status.RUNNING, started_at=started, owner=owner)
        by_owner[owner] = str(running.pk)
    try:
        assert drawings_requeue_stale() == 1
        assert sent == [by_owner[dead_owner]]  # a live owner's job and an unowned one wait for the time limit
    finally:
        heartbeats.heartbeat_stop(kind="process", name=alive_owner)


def test_the_serving_version_is_cached_for_at_most_its_ttl(monkeypatch):
    monkeypatch.setattr(selectors, "ACTIVE_VERSION_TTL_SECONDS", 0.3)
    selectors._active_cache.clear()
    model_version_activate(model_name="numpy", version=3)
    assert selectors.model_version_active("numpy") == 3
    model_version_activate(model_name="numpy", version=4)
    assert selectors.model_version_active("numpy") == 3  # still cached
    deadline = time.monotonic() + 5
    while selectors.model_version_active("numpy") != 4:
        assert time.monotonic() < deadline, "the cache never expired"
        time.sleep(0.05)


def test_one_query_reads_every_models_serving_version(django_assert_num_queries):
    from webapp.modelversions.models import ModelVersion, VersionStatus

    model_version_activate(model_name="cnn", version=4)
    model_version_activate(model_name="numpy", version=3)
    ModelVersion.objects.filter(model_name="dense").update(is_active=False)
    newest_dense = (
        ModelVersion.objects.filter(
            model_name="dense",
            status__in=[VersionStatus.BASE, VersionStatus.PROMOTED],
            stored_artifact__isnull=False,
        )
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    selectors._active_cache.clear()
    with django_assert_num_queries(1):  # the committee asks for all three on a job
        served = {name: selectors.model_version_active(name) for name in ("cnn", "dense", "numpy")}
    assert served == {"cnn": 4, "dense": newest_dense, "numpy": 3}  # dense: no active row, its newest
