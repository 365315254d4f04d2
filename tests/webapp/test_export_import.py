"""export_drawings and import_drawings: the training export, data set imports, and a round trip."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from inference.preprocess import preprocess
from tests.factories import digit_canvas_png, drawing_factory
from webapp.drawings.models import Drawing, LabelSource, Source, Status


def hwd1000_subset(tmp_path: Path, count: int) -> Path:
    """A folder like HwD-1000 with the first `count` digits of each of two classes."""
    source = Path(os.environ["HWD1000_DIR"])
    folder = tmp_path / "hwd1000"
    with open(source / "dataset.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["label"] in ("0", "7")]
    rows = rows[:count] + [row for row in rows if row["label"] == "7"][:count]
    (folder / "img").mkdir(parents=True)
    for row in rows:
        shutil.copy(source / row["image"], folder / row["image"])
    with open(folder / "dataset.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "label"])
        writer.writeheader()
        writer.writerows({"image": row["image"], "label": row["label"]} for row in rows)
    return folder


def unipen_subset(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "unipen-dev" / "digits.jsonl.gz"
    path.parent.mkdir()
    with gzip.open(Path(os.environ["UNIPEN_DIR"]) / "digits.jsonl.gz", "rt") as source, gzip.open(path, "wt") as target:
        target.writelines(itertools.islice(source, count))
    return path


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_export_writes_labelled_drawings_not_excluded_with_their_metadata(tmp_path):
    labelled = drawing_factory(
        digit=3, confidence=0.7, label=8, label_source=LabelSource.IMPORT, user_label=5, writer="w1", client_id="c1"
    )
    unprocessed = drawing_factory(digit=None, label=2, label_source=LabelSource.STAFF)
    drawing_factory(digit=3)  # not labelled
    drawing_factory(digit=3, label=3, excluded_from_training=True)
    out = tmp_path / "drawings.npz"
    assert "Exported 2 drawings" in run("export_drawings", str(out))
    with np.load(out, allow_pickle=True) as data:
        assert data["images"].shape == (2, 28, 28) and data["images"].dtype == np.float32
        by_id = {drawing_id: i for i, drawing_id in enumerate(data["ids"])}
        i, j = by_id[str(labelled.pk)], by_id[str(unprocessed.pk)]
        assert (data["labels"][i], data["predictions"][i], data["predictions"][j]) == (8, 3, -1)
        assert data["confidences"][i] == pytest.approx(0.7)
        assert (data["writers"][i], data["client_ids"][i], data["sources"][i]) == ("w1", "c1", Source.API)
        assert (data["label_sources"][i], data["label_sources"][j]) == (LabelSource.IMPORT, LabelSource.STAFF)
        assert (data["user_labels"][i], data["user_labels"][j]) == (5, -1)
        assert (data["model_names"][i], data["model_versions"][i], data["model_versions"][j]) == ("cnn", 1, -1)
        assert bytes(data["originals"][i]) == bytes(labelled.image)
        assert data["created_at"][i] == np.datetime64(labelled.created_at.replace(tzinfo=None), "us")
        # Not processed yet: preprocessed on export, the same as the worker would have.
        expected = preprocess(bytes(unprocessed.image)).pixels
        assert np.abs(data["images"][j] - expected).max() < 1 / 255 + 1e-6
        assert 0.99 < data["images"][i].max() <= 1.0


@pytest.mark.django_db
def test_export_filters_by_date_and_label_source(tmp_path, settings):
    settings.FINETUNE_TRUST_USER_LABELS = True
    march = drawing_factory(label=1, label_source=LabelSource.STAFF, created_at=datetime(2025, 3, 5, tzinfo=UTC))
    users = drawing_factory(user_label=1, created_at=datetime(2025, 3, 6, tzinfo=UTC))
    drawing_factory(label=1, label_source=LabelSource.STAFF, created_at=datetime(2025, 4, 1, tzinfo=UTC))

    def exported(*options: str) -> list[str]:
        out = tmp_path / "out.npz"
        run("export_drawings", str(out), *options)
        with np.load(out, allow_pickle=True) as data:
            return list(data["ids"])

    assert len(exported()) == 3
    assert len(exported("--since", "2025-03-06")) == 2
    assert len(exported("--since", "2025-03-01", "--until", "2025-03-31")) == 2
    assert exported("--until", "2025-03-31", "--label-source", "staff") == [str(march.pk)]
    assert exported("--label-source", "user") == [str(users.pk)]
    assert exported("--since", "2026-01-01") == []


@pytest.mark.django_db
def test_export_leaves_out_drawings_with_only_the_drawers_answer_unless_trusted(tmp_path, settings):
    staff = drawing_factory(label=4, user_label=9)
    drawer_only = drawing_factory(user_label=7)
    out = tmp_path / "out.npz"

    def exported() -> dict[str, tuple[int, str]]:
        run("export_drawings", str(out))
        with np.load(out, allow_pickle=True) as data:
            return {
                d: (int(label), str(source))
                for d, label, source in zip(*(data[k] for k in ("ids", "labels", "label_sources")), strict=True)
            }

    settings.FINETUNE_TRUST_USER_LABELS = False
    assert exported() == {str(staff.pk): (4, "staff")}
    settings.FINETUNE_TRUST_USER_LABELS = True
    assert exported() == {str(staff.pk): (4, "staff"), str(drawer_only.pk): (7, "user")}


@pytest.mark.django_db
def test_export_then_import_round_trips_labels_and_images(tmp_path):
    drawings = [
        drawing_factory(image=digit_canvas_png(i), label=label, writer=f"w{i}") for i, label in enumerate([7, 2, 1])
    ]
    originals = {str(d.pk): (bytes(d.image), d.label, d.writer) for d in drawings}
    out = tmp_path / "drawings.npz"
    run("export_drawings", str(out))
    # Into the same database nothing is duplicated ...
    assert "Imported 0 drawings" in run("import_drawings", str(out))
    # ... and into an empty one every drawing comes back, labelled, queued for the model.
    Drawing.objects.all().delete()
    summary = run("import_drawings", str(out), "--model", "dense")
    assert "Imported 3 drawings" in summary and "0 failed" in summary
    imported = {d.external_id: d for d in Drawing.objects.all()}
    assert set(imported) == {f"inkwell:{pk}" for pk in originals}
    for pk, (image, label, writer) in originals.items():
        drawing = imported[f"inkwell:{pk}"]
        assert (bytes(drawing.image), drawing.label, drawing.writer) == (image, label, writer)
        assert (drawing.label_source, drawing.source, drawing.model_name) == (
            LabelSource.IMPORT,
            Source.IMPORT,
            "dense",
        )
        assert drawing.status == Status.QUEUED
    run("export_drawings", str(tmp_path / "again.npz"))
    with np.load(out, allow_pickle=True) as first, np.load(tmp_path / "again.npz", allow_pickle=True) as second:
        assert sorted(first["labels"]) == sorted(second["labels"])
        assert sorted(bytes(b) for b in first["originals"]) == sorted(bytes(b) for b in second["originals"])
    assert "Imported 0 drawings" in run("import_drawings", str(out))


@pytest.mark.django_db
def test_import_of_a_labelled_folder_places_small_images_on_a_canvas_once(tmp_path):
    folder = hwd1000_subset(tmp_path, 3)
    summary = run("import_drawings", str(folder))
    assert "Imported 6 drawings" in summary
    drawings = list(Drawing.objects.order_by("external_id"))
    assert [d.external_id for d in drawings][:2] == ["hwd1000:img/0-001.png", "hwd1000:img/0-002.png"]
    assert sorted(d.label for d in drawings) == [0, 0, 0, 7, 7, 7]
    for drawing in drawings:
        assert (drawing.source, drawing.label_source, drawing.writer) == (Source.IMPORT, LabelSource.IMPORT, "hwd1000")
        assert (drawing.canvas_width, drawing.canvas_height, drawing.model_name) == (400, 400, "cnn")
        image = Image.open(io.BytesIO(bytes(drawing.image))).convert("L")
        ink = np.asarray(image) < 204  # the importer crops ink darker than 20 % grey
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        assert image.size == (400, 400) and image.getpixel((0, 0)) == 255
        assert 200 <= rows[-1] - rows[0] + 1 <= 260  # about 60 % of the canvas height
        assert abs((rows[0] + rows[-1]) / 2 - 200) <= 10 and abs((cols[0] + cols[-1]) / 2 - 200) <= 10
    assert "Imported 0 drawings" in run("import_drawings", str(folder), "--writer", "someone")
    assert Drawing.objects.count() == 6


@pytest.mark.django_db
def test_import_of_pen_strokes_draws_them_like_the_page_and_keeps_the_writer(tmp_path):
    path = unipen_subset(tmp_path, 5)
    assert "Imported 3 drawings" in run("import_drawings", str(path), "--limit", "3")
    assert "Imported 2 drawings" in run("import_drawings", str(path))  # the first 3 are skipped
    drawings = list(Drawing.objects.all())
    assert len(drawings) == 5
    first = Drawing.objects.get(external_id="unipen-dev:gmd/alek.dat#38")
    assert (first.label, first.writer, first.label_source) == (1, "gmd/alek", LabelSource.IMPORT)
    assert first.strokes and all(0 <= x <= 400 and 0 <= y <= 400 for stroke in first.strokes for x, y in stroke)
    image = Image.open(io.BytesIO(bytes(first.image)))
    assert image.size == (400, 400)


@pytest.mark.django_db
def test_import_refuses_what_it_cannot_read(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        run("import_drawings", str(tmp_path / "nothing.txt"))


@pytest.mark.django_db(transaction=True)
def test_imported_drawings_are_read_by_the_live_worker(tmp_path, celery_worker_process):
    path = unipen_subset(tmp_path, 4)
    run("import_drawings", str(path), "--model", "numpy")
    deadline = time.monotonic() + 60
    while Drawing.objects.exclude(status=Status.DONE).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    drawings = list(Drawing.objects.all())
    assert len(drawings) == 4
    assert [(d.status, d.error_code) for d in drawings] == [(Status.DONE, "")] * 4
    assert all(d.status == Status.DONE and d.processed_image and d.digit is not None for d in drawings)
    assert all(d.label is not None and d.model_name == "numpy" for d in drawings)
