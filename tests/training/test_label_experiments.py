"""The label experiments' parts: confident learning's suspects, the label flips, and the budget's report."""

from __future__ import annotations

import numpy as np

from training.confident_learning import suspected_labels
from training.evaluation.label_budget import chosen, markdown, plot_svg, summary
from training.evaluation.label_errors import flipped_labels


def test_suspected_labels_are_the_ones_a_sure_answer_contradicts_and_name_the_answer():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    probabilities = np.full((500, 11), 0.02 / 10)
    probabilities[np.arange(500), labels] = 0.98
    wrong = np.array([3, 70, 222, 404])
    labels_given = labels.copy()
    labels_given[wrong] = (labels[wrong] + 1) % 10
    flagged, suspected = suspected_labels(labels_given, probabilities)
    assert sorted(flagged.tolist()) == wrong.tolist()
    assert dict(zip(flagged.tolist(), suspected.tolist(), strict=True)) == {i: int(labels[i]) for i in wrong}


def test_no_labels_or_one_class_suspect_nothing():
    assert [len(a) for a in suspected_labels(np.zeros(0, int), np.zeros((0, 11)))] == [0, 0]
    assert [len(a) for a in suspected_labels(np.full(5, 4), np.full((5, 11), 1 / 11))] == [0, 0]


def test_flips_change_exactly_the_share_asked_to_another_digit():
    labels = np.arange(1000) % 10
    noisy, flipped = flipped_labels(labels, 0.05, seed=3)
    assert len(flipped) == 50 and len(set(flipped.tolist())) == 50
    assert np.all(noisy[flipped] != labels[flipped]) and np.all((noisy >= 0) & (noisy < 10))
    unchanged = np.setdiff1d(np.arange(1000), flipped)
    assert np.array_equal(noisy[unchanged], labels[unchanged])


def test_the_order_takes_its_first_labels_and_random_takes_a_seeded_sample():
    order = np.array([5, 2, 9, 0, 1, 3, 4, 6, 7, 8])
    assert chosen("review order", 3, order, seed=1).tolist() == [5, 2, 9]
    assert chosen("random", 4, order, seed=1).tolist() == chosen("random", 4, order, seed=1).tolist()
    assert len(set(chosen("random", 10, order, seed=2).tolist())) == 10


def test_the_report_summarises_over_seeds():
    runs = [
        {
            "strategy": s,
            "labels": n,
            "seed": seed,
            "holdout_accuracy": a,
            "mnist_test_accuracy": 0.98,
            "base_holdout_accuracy": 0.9,
            "answered_wrong": 1,
            "writers": 3,
        }
        for s, n, seed, a in [
            ("review order", 10, 1, 0.95),
            ("review order", 10, 2, 0.97),
            ("random", 10, 1, 0.91),
            ("random", 10, 2, 0.93),
            ("review order", 30, 1, 0.98),
            ("random", 30, 1, 0.94),
        ]
    ]
    results = {"model": "dense", "base_versions": {"dense": 5}, "holdout": 100, "runs": runs}
    rows = {(r["strategy"], r["labels"]): r for r in summary(results)}
    assert rows[("review order", 10)]["mean"] == np.mean([0.95, 0.97])
    assert (rows[("random", 10)]["min"], rows[("random", 10)]["max"]) == (0.91, 0.93)
    assert "| 10 | review order | 96.00 % (95.00-97.00)" in markdown(results)
    assert plot_svg(results).startswith("<svg") and plot_svg(results).count("<polyline") == 2
