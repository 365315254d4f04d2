"""How well each model says "that is not a digit", and what it costs the digits.

    python -m training.evaluation.rejection --model all|cnn|dense|numpy --version 4 5 6 [--output F.json]
        [--update-cards] [--shift 0 0.5 1] [--committee]

For each version: the share of unipen-dev's letters it rejects (those of the fine-tuning split's held-out
writers, and all of them), of generated negatives it rejects (`training.negatives`, made from MNIST's
test digits with a seed training never used, by kind), and of unipen-dev's digits it wrongly rejects;
and its accuracy on MNIST test and unipen-dev standard, a rejected digit counted wrong. Drawings go
through the page's rendering and preprocessing (`training.evaluation.accuracy.website_set`, cached).

A ten-class version has no "not a digit" class; for it the figures are those of the other way to say it,
a threshold on the confidence, set so that it rejects `THRESHOLD_DIGITS_REJECTED` of unipen-dev's digits.
With `--shift S`, an 11-class version is also measured with its "not a digit" log-probability raised by S
(a point further along its curve of letters rejected against digits lost; 0 is the version as served).
With `--committee`, "not a digit" is the committee's, as the site decides it (`inference.committee`: the
mean margin of the version and of the newest version of each other model).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from inference import registry
from inference.answer import NOT_A_DIGIT, not_a_digit_margins
from inference.committee import CommitteeModel, newest_committee
from inference.models import DigitModel
from training.calibration import finetune_holdout_mask
from training.data import load_mnist, load_unipen, load_unipen_letters
from training.evaluation.accuracy import predict, website_set
from training.negatives import KINDS, make_negatives

GENERATED_COUNT = 2000
GENERATED_SEED = 2026_11_26
THRESHOLD_DIGITS_REJECTED = 0.01


def measure(name: str, version: int, shift: float = 0.0, committee: bool = False) -> dict[str, Any]:
    """The rejection figures and accuracies of one model version (its "not a digit" raised by `shift`;
    decided by the committee with `committee`)."""
    model: DigitModel | CommitteeModel = (
        newest_committee(name, version) if committee else registry.get_model(name, version)
    )
    digits = website_set("unipen", "standard", "ours")
    digit_probabilities = predict(model, digits.x)
    if digit_probabilities.shape[1] > NOT_A_DIGIT:
        result = _measure(model, version, digit_probabilities, lambda p: not_a_digit_margins(p) > -shift)
        if isinstance(model, CommitteeModel) and model.voter_versions:
            result["rule"] = "committee (" + ", ".join(f"{n} v{v}" for n, v in model.voter_versions.items()) + ")"
        return {**result, "rule": f"{result['rule']}, raised by {shift:g}"} if shift else result
    threshold = float(np.quantile(digit_probabilities.max(axis=1), THRESHOLD_DIGITS_REJECTED))
    result = _measure(model, version, digit_probabilities, lambda p: p.max(axis=1) < threshold)
    return {**result, "rule": f"confidence below {threshold:.4f}"}


def _measure(
    model: Any, version: int, digit_probabilities: np.ndarray, rejects: Callable[[np.ndarray], np.ndarray]
) -> dict[str, Any]:
    """The figures of one version whose rule `rejects` turns probabilities into "not a digit"."""
    mnist = load_mnist()
    letters = website_set("letters", "standard", "ours")
    letters_held_out = finetune_holdout_mask(load_unipen_letters())
    digits = website_set("unipen", "standard", "ours")
    digits_held_out = finetune_holdout_mask(load_unipen())
    generated = make_negatives(GENERATED_COUNT, digits=mnist.x_test, seed=GENERATED_SEED)
    kinds = np.array([KINDS[i % len(KINDS)] for i in range(GENERATED_COUNT)])
    letters_rejected = rejects(predict(model, letters.x))
    generated_rejected = rejects(predict(model, generated))
    digit_answers = _answers(digit_probabilities, rejects)
    mnist_answers = _answers(predict(model, mnist.x_test), rejects)
    return {
        "version": version,
        "rule": "11th class",
        "letters_held_out_rejected": float(letters_rejected[letters_held_out].mean()),
        "letters_held_out": int(letters_held_out.sum()),
        "letters_all_rejected": float(letters_rejected.mean()),
        "generated_rejected": {kind: float(generated_rejected[kinds == kind].mean()) for kind in KINDS},
        "unipen_digits_rejected": float(np.mean(digit_answers == NOT_A_DIGIT)),
        "unipen_held_out_digits_rejected": float(np.mean(digit_answers[digits_held_out] == NOT_A_DIGIT)),
        "mnist_digits_rejected": float(np.mean(mnist_answers == NOT_A_DIGIT)),
        "mnist_test_accuracy": float(np.mean(mnist_answers == mnist.y_test)),
        "unipen_standard_accuracy": float(np.mean(digit_answers == digits.y)),
        "unipen_held_out_accuracy": float(np.mean(digit_answers[digits_held_out] == digits.y[digits_held_out])),
    }


def _answers(probabilities: np.ndarray, rejects: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Each drawing's answer: its most probable class, or NOT_A_DIGIT where the rule rejects it."""
    return np.where(rejects(probabilities), NOT_A_DIGIT, probabilities.argmax(axis=1))


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def markdown(results: list[tuple[str, dict[str, Any]]]) -> str:
    """One row per model version."""
    header = [
        "model",
        "rule",
        "letters held out",
        "all letters",
        *(f"generated {kind}" for kind in KINDS),
        "unipen digits rejected",
        "MNIST digits rejected",
        "MNIST test acc.",
        "unipen standard acc.",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, r in results:
        cells = [
            f"{name} v{r['version']}",
            r["rule"],
            _percent(r["letters_held_out_rejected"]),
            _percent(r["letters_all_rejected"]),
            *(_percent(r["generated_rejected"][kind]) for kind in KINDS),
            _percent(r["unipen_digits_rejected"]),
            _percent(r["mnist_digits_rejected"]),
            _percent(r["mnist_test_accuracy"]),
            _percent(r["unipen_standard_accuracy"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=[*registry.MODEL_NAMES, "all"], required=True)
    parser.add_argument("--version", type=int, nargs="+", required=True, help="versions to measure")
    parser.add_argument("--output", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--update-cards", action="store_true", help="write the figures into the model cards")
    parser.add_argument(
        "--shift", type=float, nargs="+", default=[0.0], help='raise "not a digit" by these log-probabilities'
    )
    parser.add_argument("--committee", action="store_true", help='"not a digit" decided by the committee')
    args = parser.parse_args(argv)
    if args.update_cards and (args.shift != [0.0] or args.committee):
        parser.error("--update-cards writes the figures of the versions alone: leave out --shift and --committee")
    names = list(registry.MODEL_NAMES) if args.model == "all" else [args.model]
    results = [
        (name, measure(name, version, shift, args.committee))
        for name in names
        for version in args.version
        for shift in args.shift
    ]
    print(markdown(results), end="")
    if args.update_cards:
        for name, result in results:
            card = registry.read_card(name, result["version"])
            figures = {key: value for key, value in result.items() if key != "version"}
            registry.card_update(name, result["version"], {"metrics": {**card["metrics"], "not_a_digit": figures}})
    if args.output:
        args.output.write_text(json.dumps([{"model": name, **result} for name, result in results], indent=2) + "\n")


if __name__ == "__main__":
    main()
