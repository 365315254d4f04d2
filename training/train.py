"""Train the Inkwell models on MNIST and write `MODEL_DIR/<name>/<version>/` with a model card.

python -m training.train --model cnn|dense|numpy|all [--epochs N] [--limit N] [--version V] [--negatives N]

With `--negatives N` (the default), N drawings that are not digits (`training.negatives`) join MNIST's
training set as an 11th class, "not a digit"; `--negatives 0` trains the ten-class models of versions 1-4.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference import registry
from inference.answer import DIGIT_CLASSES, NOT_A_DIGIT
from training.augment import Augmentation, augment
from training.backends import Backend, Decay, backend_class
from training.cards import build_card
from training.data import Mnist, load_mnist
from training.metrics import accuracy
from training.negatives import make_negatives, with_negatives
from training.settings import hwd1000_dir

# Generated drawings that are not digits added to MNIST's 60,000 (a fifth), and how many unseen ones,
# made from MNIST's test digits with another seed, the card's rejection rate is measured on.
DEFAULT_NEGATIVES = 15000
NEGATIVES_TEST = 2000


@dataclass(frozen=True)
class Recipe:
    """How one model is trained."""

    title: str
    framework: str
    description: str
    epochs: int
    batch_size: int
    learning_rate: float
    final_learning_rate: float


RECIPES = {
    "cnn": Recipe(
        title="Convolutional network",
        framework="tensorflow",
        description="Four 3x3 convolutions with batch norm in two blocks, then a dense head (Keras).",
        epochs=20,
        batch_size=128,
        learning_rate=2e-3,
        final_learning_rate=2e-5,
    ),
    "dense": Recipe(
        title="Dense network",
        framework="tensorflow",
        description="Fully connected 784-512-512-10 with dropout (Keras).",
        epochs=30,
        batch_size=128,
        learning_rate=1e-3,
        final_learning_rate=1e-5,
    ),
    "numpy": Recipe(
        title="From-scratch NumPy network",
        framework="numpy",
        description="Fully connected 784-512-256-10, forward and backward pass written in NumPy.",
        epochs=40,
        batch_size=128,
        learning_rate=1e-3,
        final_learning_rate=1e-5,
    ),
}


def _next_version(name: str) -> int:
    found = registry.versions(name)
    return found[-1] + 1 if found else 1


def train_model(
    name: str,
    *,
    mnist: Mnist,
    epochs: int | None = None,
    limit: int | None = None,
    version: int | None = None,
    seed: int = 20231125,
    augmentation: Augmentation = Augmentation(),
    negatives: int = DEFAULT_NEGATIVES,
) -> dict[str, Any]:
    """Train one model, evaluate it and write its artifact and card; returns the card."""
    recipe = RECIPES[name]
    epochs = epochs or recipe.epochs
    if limit:
        mnist = Mnist(mnist.x_train[:limit], mnist.y_train[:limit], mnist.x_test, mnist.y_test, mnist.checksums)
    version = version or _next_version(name)
    directory = registry.artifact_dir(name, version)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    x_train, y_train = mnist.x_train, mnist.y_train
    negatives = min(negatives, len(x_train) // 4)  # a fifth of the training set at most (smoke runs)
    if negatives:
        x_train, y_train = with_negatives(x_train, y_train, make_negatives(negatives, digits=x_train, seed=seed))
    classes = DIGIT_CLASSES + (1 if negatives else 0)
    backend = backend_class(recipe.framework).build(name, seed=seed, classes=classes)
    batches = int(np.ceil(len(x_train) / recipe.batch_size))
    backend.set_learning_rate(Decay(recipe.learning_rate, recipe.final_learning_rate, epochs, batches))
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        print(f"{name} epoch {epoch + 1}/{epochs}", flush=True)
        images = augment(x_train, y_train, augmentation, rng)
        backend.epoch(images, y_train, batch_size=recipe.batch_size, rng=rng, progress=True)
    backend.save(directory)
    seconds = time.perf_counter() - started
    training = {"epochs": epochs, "seed": seed, "augmentation": augmentation.describe(), "seconds": round(seconds, 1)}
    return model_card_write(name, version, backend, mnist=mnist, training=training, negatives=negatives)


def model_card_write(
    name: str, version: int, backend: Backend, *, mnist: Mnist, training: dict[str, Any], negatives: int
) -> dict[str, Any]:
    """Measure a version just trained and write its card: the recipe, `training` (epochs, seed,
    augmentation, seconds), the data and the metrics. Returns the card."""
    recipe = RECIPES[name]
    metrics = {"mnist_test_accuracy": accuracy(backend.predict(mnist.x_test), mnist.y_test)}
    if hwd1000_dir() is not None:
        from training.evaluation.accuracy import website_set

        hwd = website_set("hwd1000", "standard", "ours")
        metrics["hwd1000_accuracy"] = accuracy(backend.predict(hwd.x), hwd.y)
    if negatives:
        unseen = make_negatives(NEGATIVES_TEST, digits=mnist.x_test, seed=training["seed"] + 1)
        metrics["negatives_test_rejected"] = float(np.mean(backend.predict(unseen).argmax(axis=1) == NOT_A_DIGIT))
    card = build_card(
        name=name,
        version=version,
        title=recipe.title,
        framework=recipe.framework,
        description=recipe.description,
        architecture=backend.architecture,
        parameters=backend.parameter_count,
        metrics=metrics,
        training={
            "epochs": training["epochs"],
            "batch_size": recipe.batch_size,
            "learning_rate": [recipe.learning_rate, recipe.final_learning_rate],
            "optimizer": "Adam, exponential decay",
            "augmentation": training["augmentation"],
            "seed": training["seed"],
            "seconds": training["seconds"],
            "cpu_cores": os.cpu_count(),
        },
        data={
            "train": "MNIST train" + (" and generated negatives (training.negatives)" if negatives else ""),
            "train_images": int(len(mnist.x_train)),
            "negatives": negatives,
            "classes": backend.classes,
            "test_images": int(len(mnist.x_test)),
            "checksums_sha256": mnist.checksums,
        },
    )
    registry.write_card(name, version, card)
    print(f"{name} v{version}: {metrics} in {training['seconds']:.0f} s", flush=True)
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*RECIPES, "all"], required=True)
    parser.add_argument("--epochs", type=int, help="override the recipe's epoch count")
    parser.add_argument("--limit", type=int, help="train on the first N images only (smoke runs)")
    parser.add_argument("--version", type=int, help="version number to write (default: next free)")
    parser.add_argument("--seed", type=int, default=20231125)
    parser.add_argument("--mnist-dir", type=Path, help="overrides MNIST_DIR")
    parser.add_argument(
        "--negatives", type=int, default=DEFAULT_NEGATIVES, help="generated non-digits, an 11th class (0: ten classes)"
    )
    args = parser.parse_args(argv)
    mnist = load_mnist(args.mnist_dir)
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        train_model(
            name,
            mnist=mnist,
            epochs=args.epochs,
            limit=args.limit,
            version=args.version,
            seed=args.seed,
            negatives=args.negatives,
        )


if __name__ == "__main__":
    main()
