"""Train the Inkwell models on MNIST and write `MODEL_DIR/<name>/<version>/` with a model card.

python -m training.train --model cnn|dense|numpy|all [--epochs N] [--limit N] [--version V]
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
from training.augment import Augmentation, augment
from training.backends import Decay, backend_class
from training.cards import build_card
from training.data import Mnist, load_mnist
from training.metrics import accuracy
from training.settings import hwd1000_dir


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
    backend = backend_class(recipe.framework).build(name, seed=seed)
    batches = int(np.ceil(len(mnist.x_train) / recipe.batch_size))
    backend.set_learning_rate(Decay(recipe.learning_rate, recipe.final_learning_rate, epochs, batches))
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        print(f"{name} epoch {epoch + 1}/{epochs}", flush=True)
        images = augment(mnist.x_train, mnist.y_train, augmentation, rng)
        backend.epoch(images, mnist.y_train, batch_size=recipe.batch_size, rng=rng, progress=True)
    backend.save(directory)
    seconds = time.perf_counter() - started
    metrics = {"mnist_test_accuracy": accuracy(backend.predict(mnist.x_test), mnist.y_test)}
    if hwd1000_dir() is not None:
        from training.evaluate import website_set

        hwd = website_set("hwd1000", "standard", "ours")
        metrics["hwd1000_accuracy"] = accuracy(backend.predict(hwd.x), hwd.y)
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
            "epochs": epochs,
            "batch_size": recipe.batch_size,
            "learning_rate": [recipe.learning_rate, recipe.final_learning_rate],
            "optimizer": "Adam, exponential decay",
            "augmentation": augmentation.describe(),
            "seed": seed,
            "seconds": round(seconds, 1),
            "cpu_cores": os.cpu_count(),
        },
        data={
            "train": "MNIST train",
            "train_images": int(len(mnist.x_train)),
            "test_images": int(len(mnist.x_test)),
            "checksums_sha256": mnist.checksums,
        },
    )
    registry.write_card(name, version, card)
    print(f"{name} v{version}: {metrics} in {seconds:.0f} s -> {directory}", flush=True)
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*RECIPES, "all"], required=True)
    parser.add_argument("--epochs", type=int, help="override the recipe's epoch count")
    parser.add_argument("--limit", type=int, help="train on the first N images only (smoke runs)")
    parser.add_argument("--version", type=int, help="version number to write (default: next free)")
    parser.add_argument("--seed", type=int, default=20231125)
    parser.add_argument("--mnist-dir", type=Path, help="overrides MNIST_DIR")
    args = parser.parse_args(argv)
    mnist = load_mnist(args.mnist_dir)
    names = list(RECIPES) if args.model == "all" else [args.model]
    for name in names:
        train_model(name, mnist=mnist, epochs=args.epochs, limit=args.limit, version=args.version, seed=args.seed)


if __name__ == "__main__":
    main()
