"""Prediction jobs that arrive while the worker is busy run as batches, each drawing on its own model."""

from __future__ import annotations

import time

import pytest
import redis
from django.db import transaction

from inference import registry
from tests.factories import mnist_test_digit
from webapp.drawings.models import Drawing, Status
from webapp.drawings.services.creation import drawing_create

pytestmark = pytest.mark.django_db(transaction=True)

MODELS = ("cnn", "dense", "numpy")


def test_a_burst_of_drawings_runs_in_batches_each_on_its_own_model(celery_worker_process):
    expected: dict[str, tuple[str, int]] = {}
    with transaction.atomic():  # every job is sent in one burst, when this commits
        for index in range(48):
            png, label = mnist_test_digit(index)
            model = MODELS[index % len(MODELS)]
            expected[str(drawing_create(image=png, model_name=model).pk)] = (model, label)

    deadline = time.monotonic() + 60
    while Drawing.objects.filter(pk__in=expected, status__in=[Status.QUEUED, Status.RUNNING]).exists():
        assert time.monotonic() < deadline, "the burst was not answered"
        time.sleep(0.1)

    drawings = list(Drawing.objects.filter(pk__in=expected))
    assert {drawing.status for drawing in drawings} == {Status.DONE}
    for drawing in drawings:
        model, label = expected[str(drawing.pk)]
        assert drawing.model_version == registry.latest_version(model)
        assert drawing.digit == label, (model, drawing.digit, label)
    # A batch's results are stored together, with one finish time: far fewer times than drawings.
    assert len({drawing.finished_at for drawing in drawings}) <= len(drawings) // 2


def test_batches_keep_running_after_the_worker_loses_its_broker_connection(celery_worker_process, redis_server):
    def answered(png: bytes) -> Drawing:
        drawing = drawing_create(image=png, model_name="numpy")
        deadline = time.monotonic() + 20
        while Drawing.objects.get(pk=drawing.pk).status in (Status.QUEUED, Status.RUNNING):
            assert time.monotonic() < deadline, "no answer after the broker connection was lost"
            time.sleep(0.05)
        return Drawing.objects.get(pk=drawing.pk)

    png, label = mnist_test_digit(0)
    assert answered(png).digit == label  # the worker is up
    redis.Redis.from_url(redis_server).client_kill_filter(_type="pubsub")  # the worker restarts its consumer

    assert answered(png).digit == label  # it reconnected, and its batches still flush
