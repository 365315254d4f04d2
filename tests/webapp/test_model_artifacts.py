"""Model artifacts travel through the database: workers on two "machines" (worker processes with their
own, initially empty MODEL_DIR) fetch what they serve, follow a promotion and a rollback, fetch a damaged
cached file again and refuse a damaged stored one."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command

from inference import registry
from inference.artifacts import matches, pack
from tests.conftest import WorkerProcess, start_worker
from tests.factories import canvas_png, mnist
from webapp.drawings.models import Drawing, Status
from webapp.drawings.tasks import drawing_predict_task
from webapp.modelversions.models import ModelArtifact, ModelVersion, VersionStatus
from webapp.modelversions.selectors import model_list, model_version_active
from webapp.modelversions.services import model_version_activate

pytestmark = pytest.mark.django_db(transaction=True)

COMMITTED = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture
def trainer_dir(tmp_path, monkeypatch) -> Path:
    """MODEL_DIR of the machine that made the versions (this test process): numpy v1 and v2 are the
    committed v3 and v4 under new numbers; v3 and v4 are copies of v1 for the damaged cases."""
    directory = tmp_path / "trainer"
    monkeypatch.setenv("MODEL_DIR", str(directory))
    for version, committed, parent in [(1, 3, None), (2, 4, 1), (3, 3, 2), (4, 3, 3)]:
        shutil.copytree(COMMITTED / "numpy" / str(committed), directory / "numpy" / str(version))
        registry.card_update("numpy", version, {"version": version, "parent": parent})
    monkeypatch.setattr("webapp.modelversions.selectors.ACTIVE_VERSION_TTL_SECONDS", 0)
    return directory


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def stored_files(version: int) -> dict[str, str]:
    return ModelArtifact.objects.get(model_version__model_name="numpy", model_version__version=version).files


class Machine:
    """A worker process with its own MODEL_DIR, reading its own queue so that a job can be sent to it."""

    def __init__(self, name: str, worker_env: dict[str, str], tmp_path: Path) -> None:
        self.name = name
        self.model_dir = tmp_path / f"machine-{name}"
        self.model_dir.mkdir()
        self.queue = f"machine-{name}-{os.getpid()}"
        env = {**worker_env, "MODEL_DIR": str(self.model_dir), "WORKER_PRELOAD_MODELS": "false"}
        self.worker: WorkerProcess = start_worker(env, f"machine{name}{os.getpid()}", tmp_path, queues=self.queue)

    def job(self) -> Drawing:
        """One drawing of a 7 predicted by this machine, once it is finished."""
        drawing = Drawing.objects.create(image=canvas_png(mnist().x_test[0]), model_name="numpy")
        drawing_predict_task.apply_async(args=[str(drawing.id)], queue=self.queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            drawing.refresh_from_db()
            if drawing.is_finished:
                return drawing
            time.sleep(0.05)
        raise AssertionError(f"machine {self.name}: drawing not finished: {drawing.status}")

    def job_until(self, wanted: Callable[[Drawing], bool], within: float = 20) -> Drawing:
        """Jobs until one is as `wanted` (a worker re-reads the active version at most once a second)."""
        deadline = time.monotonic() + within
        while True:
            drawing = self.job()
            if wanted(drawing) or time.monotonic() > deadline:
                return drawing

    def serves(self, version: int) -> bool:
        drawing = self.job_until(lambda d: d.status == Status.DONE and d.model_version == version)
        return drawing.status == Status.DONE and drawing.model_version == version and drawing.digit == 7

    def cached(self, version: int) -> Path:
        return self.model_dir / "numpy" / str(version)


def test_workers_with_empty_model_folders_fetch_follow_promotion_and_rollback_and_refuse_damage(
    trainer_dir, worker_env, tmp_path
):
    model_version_activate(model_name="numpy", version=1)  # stores v1-v4 (sync), then activates v1
    assert ModelArtifact.objects.count() == 4
    machines: list[Machine] = []
    try:
        machines = [Machine(name, worker_env, tmp_path) for name in "ab"]
        assert all(list(machine.model_dir.iterdir()) == [] for machine in machines)
        for machine in machines:
            assert machine.serves(1)
            assert matches(machine.cached(1), stored_files(1))

        model_version_activate(model_name="numpy", version=2)
        assert all(machine.serves(2) for machine in machines)
        call_command("activate_model", "numpy", "1")
        assert all(machine.serves(1) for machine in machines)
        assert all(matches(machine.cached(2), stored_files(2)) for machine in machines)

        # Machine a already holds v3, with a damaged weights file: it is fetched again, never loaded.
        a, b = machines
        shutil.copytree(trainer_dir / "numpy" / "3", a.cached(3))
        flip_a_byte(a.cached(3) / "weights.npz")
        model_version_activate(model_name="numpy", version=3)
        assert a.serves(3) and b.serves(3)
        assert (a.cached(3) / "weights.npz").read_bytes() == (trainer_dir / "numpy" / "3" / "weights.npz").read_bytes()

        # The stored archive of v4 is damaged: every machine refuses it and serves nothing from it.
        damaged = bytearray(ModelArtifact.objects.get(model_version__version=4).archive)
        damaged[len(damaged) // 2] ^= 0xFF
        ModelArtifact.objects.filter(model_version__version=4).update(archive=bytes(damaged))
        model_version_activate(model_name="numpy", version=4)
        for machine in machines:
            refused = machine.job_until(lambda d: d.status == Status.FAILED)
            assert refused.status == Status.FAILED and refused.error_code == "artifact_corrupt"
            assert not machine.cached(4).exists()

        call_command("activate_model", "numpy", "2")
        assert all(machine.serves(2) for machine in machines)
    finally:
        for machine in machines:
            machine.worker.stop()


def test_sync_models_stores_the_committed_artifacts_once_and_the_site_describes_them_without_files(
    tmp_path, monkeypatch
):
    call_command("sync_models", verbosity=0)
    assert ModelArtifact.objects.count() == sum(len(registry.versions(name)) for name in registry.MODEL_NAMES)
    committed = pack(registry.artifact_dir("dense", 4))
    stored = ModelArtifact.objects.get(model_version__model_name="dense", model_version__version=4)
    assert (stored.sha256, stored.files) == (committed.sha256, committed.files)
    assert bytes(stored.archive) == committed.archive
    call_command("sync_models", verbosity=0)
    assert ModelArtifact.objects.count() == sum(len(registry.versions(name)) for name in registry.MODEL_NAMES)

    served = [(name, registry.latest_version(name)) for name in registry.MODEL_NAMES]
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "empty"))  # a web process on a machine without models
    monkeypatch.setattr("webapp.modelversions.selectors.ACTIVE_VERSION_TTL_SECONDS", 0)
    assert [(entry["name"], entry["version"]) for entry in model_list()] == served
    assert model_version_active("numpy") == served[-1][1]
    assert ModelVersion.objects.get(model_name="numpy", version=3).status == VersionStatus.BASE
