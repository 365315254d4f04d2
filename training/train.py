"""Train the Inkwell models on MNIST and write `MODEL_DIR/<name>/<version>/` with a model card.

python -m training.train --model cnn|dense|numpy|all [--epochs N] [--limit N] [--version V]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference import registry
from inference.models import KERAS_FILE, NUMPY_FILE
from inference.numpy_net import NumpyNet
from training.augment import Augmentation
from training.cards import build_card, write_card
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
NUMPY_SIZES = (784, 512, 256, 10)


def _train_keras(
    name: str, recipe: Recipe, mnist: Mnist, epochs: int, augmentation: Augmentation, seed: int
) -> tuple[Any, list[str], int]:
    import keras

    from training.architectures import BUILDERS, describe
    from training.augment import augment

    keras.utils.set_random_seed(seed)
    model = BUILDERS[name]()
    steps = epochs * int(np.ceil(len(mnist.x_train) / recipe.batch_size))
    schedule = keras.optimizers.schedules.ExponentialDecay(
        recipe.learning_rate, steps, recipe.final_learning_rate / recipe.learning_rate
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        print(f"{name} epoch {epoch + 1}/{epochs}", flush=True)
        model.fit(
            augment(mnist.x_train, mnist.y_train, augmentation, rng),
            mnist.y_train,
            batch_size=recipe.batch_size,
            epochs=1,
            shuffle=True,
            verbose=2 if os.environ.get("CI") else 1,
        )
    return model, describe(model), model.count_params()


def _train_numpy(
    recipe: Recipe, mnist: Mnist, epochs: int, augmentation: Augmentation, seed: int
) -> tuple[NumpyNet, list[str], int]:
    from training.numpy_trainer import train_numpy_net

    net = NumpyNet.initialise(NUMPY_SIZES, seed)
    train_numpy_net(
        net,
        mnist.x_train,
        mnist.y_train,
        epochs=epochs,
        batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        final_learning_rate=recipe.final_learning_rate,
        augmentation=augmentation,
        seed=seed,
    )
    layers = [f"Dense({n}, relu)" for n in NUMPY_SIZES[1:-1]] + ["Dense(10, softmax)"]
    return net, layers, net.parameter_count


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
    directory = registry.model_dir() / name / str(version)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    predict: Callable[[np.ndarray], np.ndarray]
    if recipe.framework == "numpy":
        model, layers, parameters = _train_numpy(recipe, mnist, epochs, augmentation, seed)
        model.save(directory / NUMPY_FILE)
        predict = model.predict
    else:
        from training.architectures import save_for_serving

        model, layers, parameters = _train_keras(name, recipe, mnist, epochs, augmentation, seed)
        save_for_serving(model, directory / KERAS_FILE)
        predict = lambda x: model.predict(x, batch_size=1000, verbose=0)  # noqa: E731
    seconds = time.perf_counter() - started
    metrics = {"mnist_test_accuracy": accuracy(predict(mnist.x_test), mnist.y_test)}
    if hwd1000_dir() is not None:
        from training.evaluate import website_set

        hwd = website_set("hwd1000", "standard", "ours")
        metrics["hwd1000_accuracy"] = accuracy(predict(hwd.x), hwd.y)
    card = build_card(
        name=name,
        version=version,
        title=recipe.title,
        framework=recipe.framework,
        description=recipe.description,
        architecture=layers,
        parameters=int(parameters),
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
    write_card(directory, card)
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
