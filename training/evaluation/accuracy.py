"""Evaluate trained models and print a markdown table (MNIST, HwD-1000, unipen-dev, preprocessing).

    python -m training.evaluation.accuracy --model all|cnn|dense|numpy [--version V] [--output results.json]

Website-style sets go through the full path of a drawing (PNG bytes -> preprocessing -> model).
Rendering and preprocessing them takes minutes, so the 28x28 arrays are cached under
`INKWELL_CACHE_DIR` (default `<repo>/.cache`), keyed by a hash of the set, its variant, the
preprocessing and the source of the code that makes them.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import inference.images
import inference.preprocess
import inference.strokes
import training.evaluation.reference
from inference import registry
from inference.answer import DIGIT_CLASSES, NOT_A_DIGIT
from inference.committee import newest_committee
from inference.preprocess import preprocess
from inference.strokes import render_strokes, to_png_bytes
from training import settings
from training.data import Mnist, load_hwd1000, load_mnist, load_unipen, load_unipen_letters
from training.evaluation.reference import reference_preprocess
from training.evaluation.website import UNIPEN_VARIANTS
from training.metrics import accuracy, confusion_matrix, most_confused, per_class_accuracy

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
CANVAS = 400
CANVAS_DIGIT = 240
CONFUSED_PAIRS = 3
# Bump when the drawing code in this module changes, so cached arrays are made again.
CACHE_FORMAT = 1
COMPARISON_SETS = {"hwd1000": "HwD-1000", "unipen": "unipen standard", "mnist-canvas": "MNIST test on 400 px canvas"}

Preprocessing = Callable[[bytes], np.ndarray]
PREPROCESSINGS: dict[str, Preprocessing] = {
    "reference": reference_preprocess,
    "ours": lambda data: preprocess(data).pixels,
}
# The code each preprocessing depends on: a change to it invalidates the cached arrays.
PREPROCESSING_SOURCES = {
    "ours": [inference.preprocess.__file__, inference.images.__file__],
    "reference": [inference.preprocess.__file__, inference.images.__file__, training.evaluation.reference.__file__],
}


DATA_DIRECTORIES = {
    "hwd1000": settings.hwd1000_dir,
    "unipen": settings.unipen_dir,
    "letters": settings.unipen_dir,
    "mnist-canvas": settings.mnist_dir,
}


@dataclass(frozen=True)
class LabelledImages:
    """28x28 float32 images in [0, 1] and their labels."""

    x: np.ndarray
    y: np.ndarray


def cache_dir() -> Path:
    """Where preprocessed evaluation arrays are kept (`INKWELL_CACHE_DIR`, default `<repo>/.cache`)."""
    configured = os.environ.get("INKWELL_CACHE_DIR", "").strip()
    return Path(configured) if configured else ROOT / ".cache"


def mnist_canvas_png(pixels: np.ndarray) -> bytes:
    """An MNIST digit drawn on a 400 px canvas: upscaled to 240 px, dark ink on white, as a PNG."""
    ink = Image.fromarray(np.round(pixels * 255).astype(np.uint8)).resize(
        (CANVAS_DIGIT, CANVAS_DIGIT), Image.Resampling.BICUBIC
    )
    image = Image.new("RGB", (CANVAS, CANVAS), (255, 255, 255))
    corner = (CANVAS - CANVAS_DIGIT) // 2
    mask = Image.new("L", (CANVAS, CANVAS), 0)
    mask.paste(ink, (corner, corner))
    image.paste((0, 0, 0), mask=mask)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def _mnist() -> Mnist:
    return load_mnist()


def _hwd1000_drawings() -> tuple[Iterator[bytes], np.ndarray]:
    pairs = load_hwd1000()
    return (png for png, _ in pairs), np.array([label for _, label in pairs], dtype=np.int64)


def _unipen_drawings(variant: str, *, letters: bool = False) -> tuple[Iterator[bytes], np.ndarray]:
    """unipen-dev drawn the way the page draws (one of `training.evaluation.website.UNIPEN_VARIANTS`); its letters,
    labelled NOT_A_DIGIT, with `letters`."""
    spec = UNIPEN_VARIANTS[variant]
    records = load_unipen_letters() if letters else load_unipen()
    drawings = (
        to_png_bytes(
            render_strokes(
                record["strokes"],
                height_fraction=spec.height_fraction,
                stroke_width=spec.stroke_width,
                centre=spec.centre,
            )
        )
        for record in records
    )
    labels = [NOT_A_DIGIT if letters else record["label"] for record in records]
    return drawings, np.array(labels, dtype=np.int64)


def _mnist_canvas_drawings() -> tuple[Iterator[bytes], np.ndarray]:
    mnist = _mnist()
    return (mnist_canvas_png(pixels) for pixels in mnist.x_test), mnist.y_test


def _source_hash(paths: Iterable[str]) -> str:
    """A hash of what the code does, not of its layout: reformatting keeps the cache valid."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(ast.dump(ast.parse(Path(path).read_text())).encode())
    return digest.hexdigest()


def website_set(dataset: str, variant: str, preprocessing: str) -> LabelledImages:
    """A drawing set (`hwd1000`, `unipen` with a variant, `mnist-canvas`) through a preprocessing.

    Loaded from the cache when the set, variant, preprocessing and their code are unchanged.
    """
    spec = UNIPEN_VARIANTS[variant] if dataset in ("unipen", "letters") else None
    sources = [*PREPROCESSING_SOURCES[preprocessing], inference.strokes.__file__]
    key = json.dumps(
        {
            "format": CACHE_FORMAT,
            "dataset": dataset,
            "directory": str(DATA_DIRECTORIES[dataset]()),
            "variant": repr(spec),
            "preprocessing": preprocessing,
            "code": _source_hash(sources),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = cache_dir() / f"eval-{dataset}-{variant}-{preprocessing}-{digest}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return LabelledImages(x=stored["x"], y=stored["y"])
    if dataset == "hwd1000":
        drawings, labels = _hwd1000_drawings()
    elif dataset == "unipen":
        drawings, labels = _unipen_drawings(variant)
    elif dataset == "letters":
        drawings, labels = _unipen_drawings(variant, letters=True)
    elif dataset == "mnist-canvas":
        drawings, labels = _mnist_canvas_drawings()
    else:
        raise ValueError(f"Unknown evaluation set {dataset!r}.")
    print(f"preprocessing {dataset} ({variant}, {preprocessing}); cached in {path}", file=sys.stderr, flush=True)
    function = PREPROCESSINGS[preprocessing]
    x = np.stack([function(data) for data in drawings]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, x=x, y=labels)
    partial.replace(path)
    for stale in path.parent.glob(f"eval-{dataset}-{variant}-{preprocessing}-*.npz"):
        if stale != path:
            stale.unlink()
    return LabelledImages(x=x, y=labels)


def predict(model: Any, images: np.ndarray) -> np.ndarray:
    """Probabilities for all images, in batches of BATCH."""
    return np.concatenate([model.predict(images[start : start + BATCH]) for start in range(0, len(images), BATCH)])


def evaluate_model(name: str, version: int | None = None, committee: bool = False) -> dict[str, Any]:
    """All measurements of one model version as a JSON-ready dict ("not a digit" decided by the committee
    of the newest versions with `committee`, as the site decides it)."""
    model = newest_committee(name, version) if committee else registry.get_model(name, version)
    mnist = _mnist()
    sets = {
        "mnist_test": LabelledImages(mnist.x_test, mnist.y_test),
        "hwd1000": website_set("hwd1000", "standard", "ours"),
        **{f"unipen_{variant}": website_set("unipen", variant, "ours") for variant in UNIPEN_VARIANTS},
    }
    result: dict[str, Any] = {
        "version": model.version,
        "accuracy": {},
        "per_class": {},
        "confused": {},
        "preprocessing": {},
    }
    for set_name, images in sets.items():
        probabilities = predict(model, images.x)
        result["accuracy"][set_name] = accuracy(probabilities, images.y)
        if set_name in ("mnist_test", "unipen_standard"):
            matrix = confusion_matrix(np.argmax(probabilities, axis=1), images.y, classes=probabilities.shape[1])
            digits = per_class_accuracy(matrix)[:DIGIT_CLASSES]
            result["per_class"][set_name] = [float(value) for value in digits]
            result["confused"][set_name] = most_confused(matrix, CONFUSED_PAIRS)
    for dataset in COMPARISON_SETS:
        result["preprocessing"][dataset] = {}
        for preprocessing in PREPROCESSINGS:
            images = website_set(dataset, "standard", preprocessing)
            result["preprocessing"][dataset][preprocessing] = accuracy(predict(model, images.x), images.y)
    return result


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """The results as markdown tables (accuracy in %)."""
    names = list(results)
    variants = list(UNIPEN_VARIANTS)
    lines = ["## Accuracy (%)", ""]
    lines += _table(
        ["model", "version", "MNIST test", "HwD-1000", *(f"unipen {variant}" for variant in variants)],
        [
            [
                name,
                str(results[name]["version"]),
                _percent(results[name]["accuracy"]["mnist_test"]),
                _percent(results[name]["accuracy"]["hwd1000"]),
                *(_percent(results[name]["accuracy"][f"unipen_{variant}"]) for variant in variants),
            ]
            for name in names
        ],
    )
    for set_name, title in (("mnist_test", "MNIST test"), ("unipen_standard", "unipen standard")):
        lines += ["", f"## Per-class accuracy (%), {title}", ""]
        lines += _table(
            ["model", *map(str, range(10))],
            [[name, *map(_percent, results[name]["per_class"][set_name])] for name in names],
        )
    lines += ["", "## Most confused pairs (true -> predicted: count)", ""]
    lines += _table(
        ["model", "MNIST test", "unipen standard"],
        [
            [
                name,
                *(
                    ", ".join(f"{true} -> {guess}: {count}" for true, guess, count in results[name]["confused"][key])
                    for key in ("mnist_test", "unipen_standard")
                ),
            ]
            for name in names
        ],
    )
    lines += ["", "## Preprocessing: the 2023 reference vs ours (accuracy %)", ""]
    columns = COMPARISON_SETS.items()
    lines += _table(
        ["model", *(f"{title} {which}" for _, title in columns for which in ("reference", "ours"))],
        [
            [
                name,
                *(
                    _percent(results[name]["preprocessing"][key][which])
                    for key, _ in columns
                    for which in ("reference", "ours")
                ),
            ]
            for name in names
        ],
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*registry.MODEL_NAMES, "all"], required=True)
    parser.add_argument("--version", type=int, help="version to evaluate (default: the latest of each model)")
    parser.add_argument("--output", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--update-cards", action="store_true", help="write the MNIST, HwD-1000 and unipen figures into the model cards"
    )
    parser.add_argument("--committee", action="store_true", help='"not a digit" decided by the committee')
    args = parser.parse_args(argv)
    if args.update_cards and args.committee:
        parser.error("--update-cards writes the figures of the versions alone: leave out --committee")
    names = list(registry.MODEL_NAMES) if args.model == "all" else [args.model]
    results = {name: evaluate_model(name, args.version, args.committee) for name in names}
    print(markdown(results), end="")
    if args.update_cards:
        for name, result in results.items():
            card = registry.read_card(name, result["version"])
            figures = {
                "mnist_test_accuracy": result["accuracy"]["mnist_test"],
                "hwd1000_accuracy": result["accuracy"]["hwd1000"],
                "unipen_accuracy": {variant: result["accuracy"][f"unipen_{variant}"] for variant in UNIPEN_VARIANTS},
            }
            registry.card_update(name, result["version"], {"metrics": {**card["metrics"], **figures}})
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
