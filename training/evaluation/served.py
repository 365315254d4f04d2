"""The models as the site serves them, side by side: "not a digit" decided by the committee, a refused
digit counted wrong, unipen-dev on the fine-tuning split's held-out writers only.

    python -m training.evaluation.served [--model cnn dense numpy ensemble] [--version cnn=9 ...]
        [--output F.json]

`ensemble` is "best of three": the mean of the three committee answers' probabilities (each already
calibrated by its version's temperature), measured here as a candidate model choice. Columns: MNIST test
(all 10,000), each unipen-dev drawing variant of the held-out writers, the held-out writers' letters
refused, and the digits refused on MNIST and on the held-out writers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from inference import registry
from inference.answer import NOT_A_DIGIT
from inference.committee import CommitteeModel
from training.calibration import finetune_holdout_mask
from training.data import load_mnist, load_unipen, load_unipen_letters
from training.evaluation.accuracy import predict, website_set
from training.evaluation.website import UNIPEN_VARIANTS

ENSEMBLE = "ensemble"


class Predictor(Protocol):
    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class MeanOfCommittees:
    """Best of three: the mean of the committees' probabilities, the argmax its answer."""

    def __init__(self, members: list[CommitteeModel]) -> None:
        self.members = members

    def predict(self, batch: np.ndarray) -> np.ndarray:
        rows = [member.predict(batch) for member in self.members]
        width = max(row.shape[1] for row in rows)
        padded = [np.pad(row, ((0, 0), (0, width - row.shape[1]))) for row in rows]
        return np.mean(padded, axis=0)


def _committee(name: str, versions: dict[str, int]) -> CommitteeModel:
    """`name` at its chosen version, judged with the chosen versions of the others."""
    chosen = registry.get_model(name, versions.get(name))
    members = [registry.get_model(other, versions.get(other)) for other in registry.MODEL_NAMES if other != name]
    return CommitteeModel(chosen, members)


def served_model(name: str, versions: dict[str, int]) -> Predictor:
    """A model as the site would serve it, or best of three for `ensemble`; `versions` by name (default: newest)."""
    if name == ENSEMBLE:
        return MeanOfCommittees([_committee(member, versions) for member in registry.MODEL_NAMES])
    return _committee(name, versions)


def _refused(probabilities: np.ndarray) -> np.ndarray:
    return np.argmax(probabilities, axis=1) == NOT_A_DIGIT


def measure(model: Predictor) -> dict[str, float]:
    """The served figures of one model (fractions)."""
    mnist = load_mnist()
    mnist_rows = predict(model, mnist.x_test)
    figures = {
        "mnist_test": float(np.mean(np.argmax(mnist_rows, axis=1) == mnist.y_test)),
        "mnist_digits_refused": float(_refused(mnist_rows).mean()),
    }
    held_out = finetune_holdout_mask(load_unipen())
    for variant in UNIPEN_VARIANTS:
        drawings = website_set("unipen", variant, "ours")
        rows = predict(model, drawings.x[held_out])
        figures[f"unipen_{variant}"] = float(np.mean(np.argmax(rows, axis=1) == drawings.y[held_out]))
        if variant == "standard":
            figures["unipen_digits_refused"] = float(_refused(rows).mean())
    letters = website_set("letters", "standard", "ours")
    letters_held_out = finetune_holdout_mask(load_unipen_letters())
    figures["letters_refused"] = float(_refused(predict(model, letters.x[letters_held_out])).mean())
    return figures


COLUMNS = [
    ("mnist_test", "MNIST"),
    *((f"unipen_{variant}", variant) for variant in UNIPEN_VARIANTS),
    ("letters_refused", "letters refused"),
    ("mnist_digits_refused", "MNIST digits refused"),
    ("unipen_digits_refused", "unipen digits refused"),
]


def markdown(results: dict[str, dict[str, Any]]) -> str:
    """One row per model, in %."""
    lines = ["| model | " + " | ".join(title for _, title in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for label, figures in results.items():
        lines.append(f"| {label} | " + " | ".join(f"{figures[key] * 100:.2f}" for key, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", nargs="+", choices=[*registry.MODEL_NAMES, ENSEMBLE], default=["cnn", ENSEMBLE])
    parser.add_argument("--version", nargs="*", default=[], metavar="MODEL=VERSION", help="default: the newest")
    parser.add_argument("--output", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    versions = {name: int(version) for name, version in (item.split("=", 1) for item in args.version)}
    results: dict[str, dict[str, Any]] = {}
    for name in args.model:
        label = name if name == ENSEMBLE else f"{name} v{versions.get(name, registry.latest_version(name))}"
        results[label] = measure(served_model(name, versions))
    print(markdown(results), end="")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
