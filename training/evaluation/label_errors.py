"""Which labels are likely wrong: confident learning (cleanlab) over out-of-sample probabilities.

    python -m training.evaluation.label_errors [--model cnn] [--flip 0.05] [--seeds 1 2 3 4 5] [--json out.json]

`training.confident_learning.suspected_labels` is what the site runs over its trusted labels, with the
probabilities each drawing got when it was answered. This command measures it: it flips `--flip` of
unipen-dev's digit labels at random to another digit, answers every drawing with the committee of base
versions (trained on MNIST and generated negatives only, never on unipen-dev), as the site would have,
and counts how many of the flipped labels are found (recall) and how many of those flagged were flipped
(precision).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference import registry
from inference.committee import CommitteeModel
from training.confident_learning import suspected_labels

BASE_VERSIONS = {"cnn": 5, "dense": 5, "numpy": 5}
DIGIT_LABELS = 10


def flipped_labels(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`labels` with `share` of them (chosen at random) changed to another digit at random, and which."""
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(labels), size=round(len(labels) * share), replace=False)
    noisy = np.asarray(labels).copy()
    noisy[flipped] = (noisy[flipped] + rng.integers(1, DIGIT_LABELS, size=len(flipped))) % DIGIT_LABELS
    return noisy, flipped


def answered_probabilities(model: str, x: np.ndarray) -> np.ndarray:
    """What the site stores for `x` answered by `model` among the base versions: the chosen model's
    probabilities, with "not a digit" the committee's."""
    members = [registry.get_model(name, version) for name, version in BASE_VERSIONS.items()]
    chosen = next(member for member in members if member.name == model)
    committee = CommitteeModel(chosen, members)
    return np.concatenate([committee.predict(x[i : i + 1000]) for i in range(0, len(x), 1000)])


def experiment(model: str, share: float, seeds: Sequence[int]) -> dict[str, Any]:
    """Recall and precision of `suspected_labels` on unipen-dev with `share` of its labels flipped."""
    from training.evaluation.accuracy import website_set

    drawings = website_set("unipen", "standard", "ours")
    probabilities = answered_probabilities(model, drawings.x)
    runs = []
    for seed in seeds:
        noisy, flipped = flipped_labels(drawings.y, share, seed)
        flagged, suspected = suspected_labels(noisy, probabilities)
        found = np.intersect1d(flagged, flipped)
        truth = dict(zip(flipped.tolist(), drawings.y[flipped].tolist(), strict=True))
        runs.append(
            {
                "seed": seed,
                "flipped": len(flipped),
                "flagged": len(flagged),
                "found": len(found),
                "recall": len(found) / len(flipped),
                "precision": len(found) / len(flagged) if len(flagged) else 0.0,
                "suspected_right": float(
                    np.mean([suspected[list(flagged).index(i)] == truth[i] for i in found]) if len(found) else 0.0
                ),
            }
        )
        print(json.dumps(runs[-1]), flush=True)
    answers = probabilities.argmax(axis=1)
    return {
        "model": model,
        "base_versions": BASE_VERSIONS,
        "drawings": len(drawings.y),
        "answered_wrong": int(np.sum(answers != drawings.y)),
        "flip": share,
        "runs": runs,
    }


def markdown(results: dict[str, Any]) -> str:
    """The runs as the docs' table, with their mean."""
    lines = [
        f"{results['drawings']:,} unipen-dev digits answered by {results['model']} "
        f"v{results['base_versions'][results['model']]} with the base committee "
        f"({results['answered_wrong']} answered wrong); {results['flip'] * 100:g} % of the labels flipped.",
        "",
        "| seed | flipped | flagged | flipped and flagged | recall | precision | suspected label right |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results["runs"]:
        lines.append(
            f"| {run['seed']} | {run['flipped']} | {run['flagged']} | {run['found']} | {run['recall'] * 100:.1f} % "
            f"| {run['precision'] * 100:.1f} % | {run['suspected_right'] * 100:.1f} % |"
        )
    mean = {key: np.mean([run[key] for run in results["runs"]]) for key in ("recall", "precision", "suspected_right")}
    lines.append(
        f"| mean | | | | {mean['recall'] * 100:.1f} % | {mean['precision'] * 100:.1f} % "
        f"| {mean['suspected_right'] * 100:.1f} % |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(BASE_VERSIONS), default="cnn")
    parser.add_argument("--flip", type=float, default=0.05, help="the share of labels flipped")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--json", type=Path, help="write the runs here")
    args = parser.parse_args(argv)
    results = experiment(args.model, args.flip, args.seeds)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
