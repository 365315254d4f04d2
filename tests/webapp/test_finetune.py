"""Fine-tuning on collected drawings: new versions, the promotion rule, live pick-up, rollback."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from django.contrib import admin as django_admin
from django.core.management import CommandError, call_command

from inference import registry
from inference.artifacts import pack
from tests.conftest import start_worker
from tests.factories import canvas_png, labelled_drawings, mnist
from training.finetune import promotion_decision
from webapp.drawings.models import Drawing, Status
from webapp.drawings.tasks import drawing_predict_task
from webapp.modelversions.admin import ModelVersionAdmin
from webapp.modelversions.models import ModelVersion, VersionStatus
from webapp.modelversions.selectors import model_version_active
from webapp.modelversions.services import (
    FinetuneRefused,
    holdout_writers_assign,
    model_version_activate,
    model_version_finetune,
    writer_group,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_promotion_rule_needs_a_holdout_gain_and_at_most_the_mnist_margin():
    before = {"holdout_accuracy": 0.90, "mnist_test_accuracy": 0.990}
    assert promotion_decision(before, {"holdout_accuracy": 0.93, "mnist_test_accuracy": 0.989}, 0.2)[0]
    assert not promotion_decision(before, {"holdout_accuracy": 0.90, "mnist_test_accuracy": 0.995}, 0.2)[0]
    refused, reason = promotion_decision(before, {"holdout_accuracy": 0.95, "mnist_test_accuracy": 0.985}, 0.2)
    assert not refused and "MNIST" in reason


def test_holdout_is_a_fixed_share_of_the_writers_and_never_moves():
    first = holdout_writers_assign(writer_keys={f"w{i}" for i in range(27)}, fraction=0.3, seed=1)
    assert len(first) == 8
    again = holdout_writers_assign(writer_keys={f"w{i}" for i in range(37)}, fraction=0.3, seed=1)
    assert first <= again and len(again) == 11
    assert holdout_writers_assign(writer_keys={f"w{i}" for i in range(27)}, fraction=0.5, seed=2) == first


def test_holdout_takes_the_same_share_of_every_writer_group():
    keys = {f"writer:big/{i}" for i in range(20)} | {f"writer:small/{i}" for i in range(10)}
    keys |= {f"client:{i}" for i in range(10)}
    held_out = holdout_writers_assign(writer_keys=keys, fraction=0.3, seed=5)
    assert len({key for key in held_out if key.startswith("writer:big/")}) == 6
    assert len({key for key in held_out if key.startswith("writer:small/")}) == 3
    assert len({key for key in held_out if key.startswith("client:")}) == 3


def test_writer_groups_are_institutions_or_kinds_of_key():
    assert writer_group("writer:gmd/kast") == "writer:gmd"
    assert writer_group("writer:hwd1000") == "writer"
    assert writer_group("client:5b0c") == "client"
    assert writer_group("w1") == ""


def test_finetune_with_too_few_labelled_drawings_refuses_with_a_clear_message(model_dir):
    labelled_drawings(20)
    with pytest.raises(FinetuneRefused, match="Too few labelled drawings"):
        model_version_finetune(model_name="numpy", started_by="test")
    with pytest.raises(CommandError, match="Too few labelled drawings"):
        call_command("finetune", "--model", "numpy")


def test_finetune_without_mnist_refuses_instead_of_downloading_it(model_dir, monkeypatch, tmp_path):
    labelled_drawings(100)
    monkeypatch.delenv("MNIST_DIR")
    with pytest.raises(FinetuneRefused, match="set MNIST_DIR"):
        model_version_finetune(model_name="numpy", started_by="test")
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(FinetuneRefused, match="never downloads"):
        model_version_finetune(model_name="numpy", started_by="test")
    assert not ModelVersion.objects.filter(model_name="numpy", version=2).exists()


def test_finetune_writes_a_new_version_with_metrics(model_dir):
    labelled_drawings(400)
    record = model_version_finetune(model_name="numpy", started_by="test")
    assert record.version == 2 and record.parent.version == 1
    assert (model_dir / "numpy" / "2" / "weights.npz").is_file()
    assert record.stored_artifact.files == pack(model_dir / "numpy" / "2").files  # stored when recorded
    card = registry.read_card("numpy", 2)
    assert card["parent"] == 1 and card["training"]["kind"] == "fine-tune"
    for key in ("holdout_accuracy", "mnist_test_accuracy", "parent_holdout_accuracy", "holdout_per_class"):
        assert key in record.metrics
    assert record.data_counts["train_writers"] + record.data_counts["holdout_writers"] == 20
    assert record.data_counts["holdout_drawings"] > 0
    assert len(record.progress["history"]) == 3
    assert record.status in {VersionStatus.PROMOTED, VersionStatus.REJECTED} and record.decision

    out = io.StringIO()
    call_command("finetune_report", "--plot", str(model_dir / "plot.svg"), stdout=out)
    assert "| numpy | v1 -> v2 |" in out.getvalue()
    assert (model_dir / "plot.svg").read_text().count("<polyline") == 1


def test_a_deliberately_bad_finetune_is_not_promoted(model_dir):
    labelled_drawings(400, wrong_training_labels=True)
    record = model_version_finetune(model_name="numpy", started_by="test")
    assert record.status == VersionStatus.REJECTED
    assert record.decision.startswith("Kept the old version")
    assert model_version_active("numpy") == 1
    assert registry.read_card("numpy", 2)["rejected"] is True
    assert registry.latest_version("numpy") == 1


def test_a_live_worker_switches_to_a_promoted_version_and_back_on_rollback(model_dir, worker_env, tmp_path):
    shutil.copytree(model_dir / "numpy" / "1", model_dir / "numpy" / "2")
    registry.card_update("numpy", 2, {"version": 2, "parent": 1})
    model_version_activate(model_name="numpy", version=1)
    queue = f"versions-{os.getpid()}"
    worker = start_worker({**worker_env, "MODEL_DIR": str(model_dir)}, f"versions{os.getpid()}", tmp_path, queues=queue)

    def predicted_version() -> int:
        drawing = Drawing.objects.create(image=canvas_png(mnist().x_test[0]), model_name="numpy")
        drawing_predict_task.apply_async(args=[str(drawing.id)], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            drawing.refresh_from_db()
            if drawing.status == Status.DONE:
                return drawing.model_version
            time.sleep(0.05)
        raise AssertionError(f"not done: {drawing.status}")

    def version_reaches(wanted: int, within: float = 15) -> bool:
        """The worker re-reads the active version at most once a second: poll until a job runs on it."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if predicted_version() == wanted:
                return True
        return False

    try:
        assert predicted_version() == 1
        model_version_activate(model_name="numpy", version=2)
        assert version_reaches(2)
        call_command("activate_model", "numpy", "1")
        assert version_reaches(1)
    finally:
        worker.stop()
    assert ModelVersion.objects.get(model_name="numpy", is_active=True).version == 1


def test_admin_marks_the_version_that_serves_before_and_after_a_rollback(model_dir, client):
    from tests.factories import user_factory

    shutil.copytree(model_dir / "numpy" / "1", model_dir / "numpy" / "2")
    registry.card_update("numpy", 2, {"version": 2, "parent": 1})
    client.force_login(user_factory(username="reviewer", superuser=True))

    def serving_marks() -> tuple[int, int]:
        page = client.get("/admin/modelversions/modelversion/").content.decode()
        marks = re.findall(r'<td class="field-serving"><img [^>]*alt="(True|False)"', page)
        return marks.count("True"), marks.count("False")

    assert serving_marks() == (1, 1)
    admin_view = ModelVersionAdmin(ModelVersion, django_admin.site)
    assert admin_view.serving(ModelVersion.objects.get(model_name="numpy", version=2))
    model_version_activate(model_name="numpy", version=1)
    assert admin_view.serving(ModelVersion.objects.get(model_name="numpy", version=1))
    assert not admin_view.serving(ModelVersion.objects.get(model_name="numpy", version=2))
    assert serving_marks() == (1, 1)


def test_fine_tune_now_in_the_admin_runs_on_the_training_worker_and_shows_its_outcome(
    model_dir, worker_env, tmp_path, client
):
    from tests.factories import user_factory
    from webapp.modelversions.services import model_versions_sync

    labelled_drawings(300)
    model_versions_sync()
    client.force_login(user_factory(username="trainer", superuser=True))
    # The trainer is another machine: it starts without models, fetches v1 and stores what it trains.
    trainer_dir = tmp_path / "trainer-machine"
    env = {**worker_env, "MODEL_DIR": str(trainer_dir), "FINETUNE_MIN_DRAWINGS": "60", "FINETUNE_EPOCHS": "1"}
    worker = start_worker(env, f"training{os.getpid()}", tmp_path, queues="training")
    try:
        base = ModelVersion.objects.get(model_name="numpy", version=1)
        response = client.post(
            "/admin/modelversions/modelversion/",
            {"action": "finetune_now", "_selected_action": [base.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert b"Fine-tuning of numpy queued" in response.content
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            record = ModelVersion.objects.filter(model_name="numpy", version=2).first()
            if record is not None and record.status != VersionStatus.TRAINING:
                break
            time.sleep(0.5)
    finally:
        worker.stop()
    assert record is not None and record.started_by == "trainer"
    assert record.status in {VersionStatus.PROMOTED, VersionStatus.REJECTED}
    assert (trainer_dir / "numpy" / "1" / "weights.npz").is_file()
    assert record.stored_artifact.files == pack(trainer_dir / "numpy" / "2").files
    assert not (model_dir / "numpy" / "2").exists()
    page = client.get("/admin/modelversions/modelversion/").content.decode()
    assert "v1" in page and record.decision.split(":")[0] in page


def test_a_killed_fine_tune_frees_its_model_within_the_lock_time(model_dir, worker_env, settings):
    labelled_drawings(400)
    settings.FINETUNE_LOCK_SECONDS = 2
    env = {**worker_env, "MODEL_DIR": str(model_dir), "FINETUNE_LOCK_SECONDS": "2", "FINETUNE_MIN_DRAWINGS": "60"}
    killed = subprocess.Popen(
        [sys.executable, "manage.py", "finetune", "--model", "numpy", "--epochs", "200"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ModelVersion.objects.filter(status=VersionStatus.TRAINING).exists():
            assert killed.poll() is None and time.monotonic() < deadline, "the fine-tune did not start training"
            time.sleep(0.1)
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()

    with pytest.raises(FinetuneRefused, match="already running"):  # its lock outlives it ...
        model_version_finetune(model_name="numpy", started_by="test")
    deadline = time.monotonic() + 15
    while True:  # ... for at most FINETUNE_LOCK_SECONDS
        try:
            record = model_version_finetune(model_name="numpy", started_by="test", epochs=1)
            break
        except FinetuneRefused:
            assert time.monotonic() < deadline, "the killed fine-tune's lock never expired"
            time.sleep(0.2)

    interrupted = ModelVersion.objects.get(version=2)
    assert interrupted.status == VersionStatus.FAILED and interrupted.decision.startswith("Interrupted")
    assert record.version == 3 and record.status in {VersionStatus.PROMOTED, VersionStatus.REJECTED}


def test_automatic_finetune_rules_say_why_one_is_or_is_not_due(model_dir, settings, admin_client):
    from webapp.modelversions.automatic import automatic_finetune_status
    from webapp.modelversions.services import model_versions_sync

    settings.FINETUNE_AUTO_MIN_NEW_LABELS = 100
    model_versions_sync()
    labelled_drawings(60)
    status = automatic_finetune_status("numpy")
    assert not status.due and status.new_labels == 60 and "60 of 100" in status.reason
    page = admin_client.get("/admin/modelversions/modelversion/").content.decode()
    assert "Automatic fine-tuning" in page and "60 of 100 new trusted labels" in page
    labelled_drawings(60)
    assert automatic_finetune_status("numpy").due
    settings.FINETUNE_AUTO = False
    assert "off" in automatic_finetune_status("numpy").reason
    settings.FINETUNE_AUTO = True
    child = ModelVersion.objects.create(
        model_name="numpy", version=2, parent=ModelVersion.objects.get(model_name="numpy", version=1)
    )
    assert "running (v2)" in automatic_finetune_status("numpy").reason
    child.status = VersionStatus.REJECTED
    child.save()
    status = automatic_finetune_status("numpy")
    assert not status.due and status.next_allowed is not None and "next may start after" in status.reason


def test_the_scheduler_starts_a_finetune_when_enough_labels_came_in_and_not_before(model_dir, worker_env, tmp_path):
    from webapp.modelversions.services import model_versions_sync

    model_versions_sync()
    labelled_drawings(60)
    env = {
        **worker_env,
        "MODEL_DIR": str(model_dir),
        "FINETUNE_MIN_DRAWINGS": "60",
        "FINETUNE_EPOCHS": "1",
        "FINETUNE_AUTO_MIN_NEW_LABELS": "100",
        "FINETUNE_AUTO_CHECK_SECONDS": "1",
        "LOG_LEVEL": "DEBUG",  # every check's "succeeded" line, to count them
    }
    worker = start_worker(env, f"auto{os.getpid()}", tmp_path, queues="training", beat=True)
    checks = re.compile(r"models_finetune_automatic_task\[[^\]]+\] succeeded")
    try:
        deadline = time.monotonic() + 60
        while len(checks.findall(worker.log_path.read_text())) < 3:
            assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
            time.sleep(0.2)
        assert not ModelVersion.objects.filter(model_name="numpy", version=2).exists()
        labelled_drawings(60)
        deadline = time.monotonic() + 240
        record = None
        while record is None or record.status == VersionStatus.TRAINING:
            assert time.monotonic() < deadline, worker.log_path.read_text()[-3000:]
            time.sleep(0.5)
            record = ModelVersion.objects.filter(model_name="numpy", version=2).first()
    finally:
        worker.stop()
    assert record.started_by == "automatic"
    assert record.status in {VersionStatus.PROMOTED, VersionStatus.REJECTED}
    assert ModelVersion.objects.filter(model_name="numpy").count() == 2  # one fine-tune, not one per check
