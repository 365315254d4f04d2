"""How faithful the saliency maps are: the deletion metric on unipen-dev digits drawn like the page.

    python -m training.evaluation.explanations [--model all] [--count 500] [--fraction 0.1]

For each digit, the model's answer is explained (`inference.saliency`, the steps the worker uses), then
the `fraction` most salient ink pixels are removed (set to 0), and, apart, the same number of ink
pixels chosen at random (`RANDOM_DRAWS` draws, averaged). A faithful map makes the first removal change
the answer, or drop the probability of the answer, far more than the second. Digits: the first
`count` of a seeded shuffle of unipen-dev, standard rendering (`training.evaluation.accuracy.website_set`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from inference import registry
from inference.answer import DIGIT_CLASSES
from inference.models import DigitModel
from inference.saliency import delete_pixels, deletion_order, integrated_gradients, steps_for

RANDOM_DRAWS = 3
SEED = 16


@dataclass(frozen=True)
class Deletion:
    """Mean drop of the answer's (calibrated) probability, and share of answers that changed."""

    salient_drop: float
    random_drop: float
    salient_changed: float
    random_changed: float


def digit_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """The ten digits' probabilities given that it is a digit. A model with a "not a digit" class moves
    probability there when any ink is deleted, at random too (broken strokes), which is not what the
    metric asks: how much the deleted ink spoke for the digit."""
    digits = probabilities[:, :DIGIT_CLASSES]
    return digits / digits.sum(axis=1, keepdims=True)


def deletion_metric(
    model: DigitModel, images: np.ndarray, fraction: float = 0.1, seed: int = SEED, steps: int | None = None
) -> Deletion:
    """The deletion metric of `model`'s saliency maps over `images` (N, 28, 28)."""
    rng = np.random.default_rng(seed)
    probabilities = digit_probabilities(model.predict(images))
    answers = probabilities.argmax(axis=1)
    salient, randoms, owners = [], [], []
    for index, (pixels, answer) in enumerate(zip(images, answers, strict=True)):
        attribution = integrated_gradients(model, pixels, int(answer), steps or steps_for(model.name))
        order = deletion_order(attribution, pixels)
        count = max(1, int(round(fraction * len(order))))
        salient.append(delete_pixels(pixels, order[:count]))
        for _ in range(RANDOM_DRAWS):
            randoms.append(delete_pixels(pixels, rng.choice(order, size=count, replace=False)))
            owners.append(index)
    after_salient = digit_probabilities(model.predict(np.stack(salient)))
    after_random = digit_probabilities(model.predict(np.stack(randoms)))
    rows = np.arange(len(images))
    owner = np.array(owners)
    base = probabilities[rows, answers]
    return Deletion(
        salient_drop=float(np.mean(base - after_salient[rows, answers])),
        random_drop=float(np.mean(base[owner] - after_random[np.arange(len(owner)), answers[owner]])),
        salient_changed=float(np.mean(after_salient.argmax(axis=1) != answers)),
        random_changed=float(np.mean(after_random.argmax(axis=1) != answers[owner])),
    )


def unipen_sample(count: int, seed: int = SEED) -> np.ndarray:
    """`count` unipen-dev digits (standard rendering, preprocessed), a seeded random choice."""
    from training.evaluation.accuracy import website_set

    drawings = website_set("unipen", "standard", "ours")
    return drawings.x[np.random.default_rng(seed).permutation(len(drawings.x))[:count]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*registry.MODEL_NAMES, "all"], default="all")
    parser.add_argument("--count", type=int, default=500, help="unipen-dev digits")
    parser.add_argument("--fraction", type=float, default=0.1, help="share of the ink removed")
    args = parser.parse_args(argv)
    images = unipen_sample(args.count)
    names = list(registry.MODEL_NAMES) if args.model == "all" else [args.model]
    print(f"Deletion of {args.fraction:.0%} of the ink, {len(images)} unipen-dev digits (standard rendering)")
    print()
    print("| model | version | IG steps | confidence drop, salient | random | answer changed, salient | random |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        model = registry.get_model(name)
        result = deletion_metric(model, images, args.fraction)
        print(
            f"| {name} | {model.version} | {steps_for(name)} | {100 * result.salient_drop:.1f} points "
            f"| {100 * result.random_drop:.1f} points | {100 * result.salient_changed:.1f} % "
            f"| {100 * result.random_changed:.1f} % |",
            flush=True,
        )


if __name__ == "__main__":
    main()
