"""Which augmentations help? Train the same small recipe with each augmentation switched off in turn
and measure MNIST test, HwD-1000 and unipen-dev accuracy. The recipe is the dense network's.

    python -m training.evaluation.ablation [--epochs 8] [--seed 1] [--variant "all" --variant "none" ...]

Prints a markdown table. Nothing is written to MODEL_DIR.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from training.augment import NONE, Augmentation, augment
from training.backends import Backend, Decay, backend_class
from training.data import load_mnist
from training.evaluation.accuracy import website_set
from training.metrics import accuracy

VARIANTS: dict[str, Augmentation] = {
    "none": NONE,
    "all": Augmentation(),
    "all but rotation": dataclasses.replace(Augmentation(), rotation_degrees=0),
    "all but scale and aspect": dataclasses.replace(Augmentation(), scale=0, aspect=0),
    "all but shear": dataclasses.replace(Augmentation(), shear=0),
    "all but shift": dataclasses.replace(Augmentation(), shift=0),
    "all plus elastic (1.2 px)": dataclasses.replace(Augmentation(), elastic=1.2),
    "all but thickness": dataclasses.replace(Augmentation(), thickness=0),
    "all but writing conventions": dataclasses.replace(Augmentation(), conventions=0),
}
SETS = {
    "HwD-1000": ("hwd1000", "standard"),
    "unipen standard": ("unipen", "standard"),
    "unipen small": ("unipen", "small"),
    "unipen thin": ("unipen", "thin"),
    "unipen thick": ("unipen", "thick"),
}


def train_dense(x: np.ndarray, y: np.ndarray, spec: Augmentation, epochs: int, seed: int) -> Backend:
    """The dense network trained with the augmentation `spec` (batches of 128, rate 1e-3 decaying to 1e-5)."""
    backend = backend_class("tensorflow").build("dense", seed=seed)
    backend.set_learning_rate(Decay(1e-3, 1e-5, epochs, int(np.ceil(len(x) / 128))))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        backend.epoch(augment(x, y, spec, rng), y, batch_size=128, rng=rng, progress=False)
    return backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="only these variants (repeatable)")
    args = parser.parse_args()
    mnist = load_mnist()
    sets = {name: website_set(*key, "ours") for name, key in SETS.items()}
    print(f"Dense network, {args.epochs} epochs, seed {args.seed}; accuracy %")
    print("| augmentation | MNIST test | " + " | ".join(sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    for label, spec in VARIANTS.items():
        if args.variant and label not in args.variant:
            continue
        model = train_dense(mnist.x_train, mnist.y_train, spec, args.epochs, args.seed)
        row = [accuracy(model.predict(mnist.x_test), mnist.y_test)]
        row += [accuracy(model.predict(s.x), s.y) for s in sets.values()]
        print(f"| {label} | " + " | ".join(f"{v * 100:.2f}" for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
