"""The label value (committee disagreement and margin) and the review order (spread over answers and writers)."""

from __future__ import annotations

import numpy as np

from inference.review_order import CANDIDATES_PER_PAGE_SLOT, label_values, member_agreements, review_order


def one_hot(classes: list[int], width: int = 11, sure: float = 1.0) -> np.ndarray:
    rows = np.full((len(classes), width), (1 - sure) / (width - 1))
    rows[np.arange(len(classes)), classes] = sure
    return rows


def test_members_sure_of_the_same_class_teach_nothing_and_disagreement_teaches_most():
    agree = [one_hot([3, 7]), one_hot([3, 7]), one_hot([3, 7])]
    assert label_values(agree).tolist() == [0.0, 0.0]
    split = [one_hot([3]), one_hot([3]), one_hot([5])]
    unsure = [one_hot([3], sure=0.55), one_hot([3], sure=0.55), one_hot([3], sure=0.55)]
    values = [label_values(split)[0], label_values(unsure)[0]]
    # Two of three say 3 (mean margin 1/3) and one member disagrees: 2/3 + 1/3.
    assert np.isclose(values[0], 1 - 1 / 3 + 1 / 3)
    assert np.isclose(values[1], 1 - (0.55 - 0.045))
    assert values[0] > values[1] > 0


def test_agreement_is_the_share_of_members_answering_as_their_mean():
    members = [one_hot([3, 1, 2]), one_hot([3, 1, 4]), one_hot([5, 1, 6])]
    assert member_agreements(members).tolist() == [2 / 3, 1.0, 1 / 3]


def test_ten_class_members_count_as_never_saying_not_a_digit():
    rows = [one_hot([10]), one_hot([4], width=10)]
    value = label_values(rows)[0]
    assert np.isclose(value, 1.0 + 0.5)  # the mean is split between 10 and 4; one of two disagrees


def test_the_order_is_most_valuable_first_and_writers_and_answers_take_turns():
    values = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    answers = np.array([1, 1, 1, 2, 2, 1])
    writers = ["a", "a", "b", "c", "c", "b"]
    order = review_order(values, answers, writers).tolist()
    # Answer 1: a's best (0), b's best (2), a's next (1), b's next (5); answer 2: c (3), then c (4).
    # The answers take turns, the more valuable drawing first at each turn.
    assert order == [0, 3, 2, 4, 1, 5]


def test_a_page_is_the_order_over_each_answers_best_candidates():
    rng = np.random.default_rng(0)
    count = 400
    values = rng.random(count)
    answers = rng.integers(0, 3, count)
    writers = [f"w{i % 7}" for i in range(count)]
    page = review_order(values, answers, writers, page=5)
    assert len(page) == 5
    for index in page:
        same_answer = values[answers == answers[index]]
        assert np.sum(same_answer > values[index]) < 5 * CANDIDATES_PER_PAGE_SLOT
    assert len(set(answers[page].tolist())) == 3
