"""Test data: canvas-style PNGs made from MNIST digits or drawn strokes."""

from __future__ import annotations

import base64
import io
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from training.data import Mnist, load_hwd1000, load_mnist


@lru_cache(maxsize=1)
def mnist() -> Mnist:
    """MNIST from MNIST_DIR: the full set, or the committed subset tests/conftest.py points it at."""
    return load_mnist()


def canvas_png(
    pixels: np.ndarray,
    *,
    size: int = 400,
    digit_size: int = 240,
    offset: tuple[int, int] = (0, 0),
    transparent: bool = False,
    image_format: str = "PNG",
) -> bytes:
    """Draw a 28x28 white-on-black digit as a browser canvas would export it: dark ink on white."""
    ink = Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="L").resize(
        (digit_size, digit_size), Image.Resampling.BICUBIC
    )
    left = (size - digit_size) // 2 + offset[0]
    top = (size - digit_size) // 2 + offset[1]
    alpha = Image.new("L", (size, size), 0)
    alpha.paste(ink, (left, top))
    if transparent:
        image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        image.putalpha(alpha)
    else:
        image = Image.new("RGB", (size, size), (255, 255, 255))
        image.paste((0, 0, 0), mask=alpha)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def blank_png(size: int = 400, transparent: bool = True) -> bytes:
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0 if transparent else 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def mnist_test_digit(index: int) -> tuple[bytes, int]:
    """The index-th MNIST test digit as a canvas PNG, with its label."""
    data = mnist()
    return canvas_png(data.x_test[index]), int(data.y_test[index])


def sized_canvas_png(
    pixels: np.ndarray,
    *,
    width: int,
    height: int,
    digit_size: int,
    left: int,
    top: int,
    image_format: str = "PNG",
) -> bytes:
    """Like canvas_png, on a non-square canvas with the digit's box at (left, top)."""
    ink = Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="L").resize(
        (digit_size, digit_size), Image.Resampling.BICUBIC
    )
    alpha = Image.new("L", (width, height), 0)
    alpha.paste(ink, (left, top))
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((0, 0, 0), mask=alpha)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height greyscale pixels, followed by one empty row."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


def compressed_huge_png(side: int = 8000) -> bytes:
    """A valid, tiny PNG file that decodes to side x side white pixels (a zip-bomb-style image)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# Drawings and users for the admin, statistics and export tests.


@lru_cache(maxsize=16)
def digit_canvas_png(index: int = 0) -> bytes:
    """A canvas PNG of the index-th MNIST test digit (cached: drawings can share it)."""
    return mnist_test_digit(index)[0]


@lru_cache(maxsize=16)
def processed_png(image: bytes) -> bytes:
    from inference.preprocess import preprocess

    return preprocess(image).png


def drawing_factory(
    *,
    digit: int | None = 3,
    confidence: float | None = 0.9,
    label: int | None = None,
    label_source: str | None = None,
    image: bytes | None = None,
    model_name: str = "cnn",
    model_version: int | None = 1,
    created_at: datetime | None = None,
    **fields: Any,
):
    """A Drawing row written directly (no queue): finished with `digit` at `confidence` unless digit is None."""
    from webapp.drawings.models import Drawing, LabelSource, Status

    image = digit_canvas_png(0) if image is None else image
    answered = digit is not None
    probabilities = None
    if answered:
        rest = (1.0 - (confidence or 0.0)) / 9
        probabilities = [confidence if d == digit else rest for d in range(10)]
    drawing = Drawing.objects.create(
        image=image,
        model_name=model_name,
        model_version=model_version if answered else None,
        status=Status.DONE if answered else Status.QUEUED,
        processed_image=processed_png(image) if answered else None,
        digit=digit,
        confidence=confidence if answered else None,
        probabilities=probabilities,
        label=label,
        label_source=(label_source or LabelSource.STAFF) if label is not None else "",
        labelled_at=django_now() if label is not None else None,
        **fields,
    )
    if created_at is not None:
        Drawing.objects.filter(pk=drawing.pk).update(created_at=created_at)
        drawing.refresh_from_db()
    return drawing


def not_a_digit_factory(*, confidence: float = 0.9, **fields: Any):
    """A finished drawing whose model answered "not a digit" at `confidence`."""
    from webapp.drawings.models import Drawing

    drawing = drawing_factory(digit=3, confidence=confidence, **fields)
    Drawing.objects.filter(pk=drawing.pk).update(digit=None, not_a_digit=True, not_a_digit_probability=confidence)
    drawing.refresh_from_db()
    return drawing


def user_factory(
    *, username: str = "reviewer", staff: bool = True, superuser: bool = False, perms: tuple[str, ...] = ()
):
    """A user who can log in with password "pw"; `perms` are "drawings.change_drawing"-style names."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username=username, password="pw", is_staff=staff, is_superuser=superuser)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def django_now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def number_drawing(labels: str, writer_index: int = 0, seed: int = 0) -> tuple[bytes, list[Any], str]:
    """A number drawn as the page's number mode draws it, from one unipen-dev writer's digits: the PNG,
    the pen strokes (canvas pixels) and the digits it shows."""
    from training.data import load_unipen
    from training.evaluation.numbers import compose_number

    samples = load_unipen()
    writer = sorted({s["writer"] for s in samples})[writer_index]
    picked = [next(s for s in samples if s["writer"] == writer and s["label"] == int(d)) for d in labels]
    drawn = compose_number(picked, np.random.default_rng(seed))
    return drawn.png, [[list(point) for point in stroke] for stroke in drawn.strokes], drawn.digits


def number_factory(*, read: str, **fields):
    """A finished number drawing whose worker read `read`, one 28x28 image per digit."""
    from webapp.drawings.models import Drawing, Kind, Status

    digits = [
        {
            "digit": int(d),
            "confidence": 0.9,
            "box": [40 * i, 0, 30, 40],
            "processed_image": data_url(processed_png(digit_canvas_png(i))),
        }
        for i, d in enumerate(read)
    ]
    return Drawing.objects.create(
        image=digit_canvas_png(0),
        model_name="cnn",
        model_version=1,
        kind=Kind.NUMBER,
        status=Status.DONE,
        number=read,
        digits=digits,
        **fields,
    )


def labelled_drawings(count: int, *, wrong_training_labels: bool = False) -> None:
    """HwD-1000 digits stored as labelled, imported drawings from 20 writers (with `wrong_training_labels`,
    the training writers' labels are wrong)."""
    from django.conf import settings

    from inference.preprocess import preprocess
    from webapp.drawings.models import Drawing, LabelSource, Source, Status
    from webapp.modelversions.services import holdout_writers_assign

    held_out = holdout_writers_assign(
        writer_keys={f"writer:writer-{i}" for i in range(20)},
        fraction=settings.FINETUNE_HOLDOUT_FRACTION,
        seed=settings.FINETUNE_SEED,
    )
    pairs = load_hwd1000()
    rng = np.random.default_rng(0)
    for index in rng.choice(len(pairs), size=count, replace=False):
        png, label = pairs[index]
        writer = f"writer-{index % 20}"
        if wrong_training_labels and f"writer:{writer}" not in held_out:
            label = (label + 1 + index % 9) % 10
        Drawing.objects.create(
            image=png,
            processed_image=preprocess(png).png,
            model_name="numpy",
            status=Status.DONE,
            label=label,
            label_source=LabelSource.IMPORT,
            source=Source.IMPORT,
            writer=writer,
        )


def answered_rows(
    *,
    day: datetime,
    answers: dict[int, int],
    model_name: str = "cnn",
    version: int = 8,
    confidence: float = 0.9,
    agreement: float | None = 1.0,
    total_ms: float | None = 20.0,
    labels: list[int] | None = None,
) -> None:
    """Answered single digits created at `day`, written in one INSERT: `answers` maps a class (10: "not a
    digit") to how many; `labels`, if given, label the first rows in order."""
    from webapp.drawings.models import NOT_A_DIGIT, Drawing, LabelSource, Status

    classes = [answer for answer, count in answers.items() for _ in range(count)]
    labels = labels or []
    rows = [
        Drawing(
            image=b"",
            model_name=model_name,
            model_version=version,
            status=Status.DONE,
            digit=None if answer == NOT_A_DIGIT else answer,
            not_a_digit=answer == NOT_A_DIGIT,
            confidence=confidence,
            committee_agreement=agreement,
            total_ms=total_ms,
            label=labels[index] if index < len(labels) else None,
            label_source=LabelSource.STAFF if index < len(labels) else "",
        )
        for index, answer in enumerate(classes)
    ]
    created = Drawing.objects.bulk_create(rows)
    Drawing.objects.filter(pk__in=[row.pk for row in created]).update(created_at=day)
