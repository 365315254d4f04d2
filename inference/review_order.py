"""Which drawings a reviewer should label first: the ones whose label teaches the models most.

A drawing's *label value* comes from the served models' own answers: it is high when they disagree
(query by committee) and when their averaged answer has a small margin between its two likeliest classes
(uncertainty sampling). The *review order* takes the most valuable drawings first, spread over what the
models answered and over writers, so that a page of review is not forty copies of one person's scribble.
The site's review pages and `training.evaluation.label_budget` (which measures the order) use these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.answer import DIGIT_CLASSES, NOT_A_DIGIT

CLASSES = NOT_A_DIGIT + 1
# The label value ranges over [0, 2]: 1 - margin in [0, 1], plus the share of members that disagree.
MAXIMUM_LABEL_VALUE = 2.0
# How many of each answer's most valuable drawings the order considers for one page (times the page).
CANDIDATES_PER_PAGE_SLOT = 4


def _eleven_classes(rows: np.ndarray) -> np.ndarray:
    """Rows of 10 or 11 probabilities as 11 (a ten-class model never says "not a digit")."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.shape[1] == DIGIT_CLASSES:
        rows = np.column_stack([rows, np.zeros(len(rows))])
    return rows


def member_agreements(member_rows: Sequence[np.ndarray]) -> np.ndarray:
    """Per drawing, the share of members whose own answer is the class of their mean probabilities (1 when
    they all answer the same)."""
    members = np.stack([_eleven_classes(rows) for rows in member_rows])
    consensus = members.mean(axis=0).argmax(axis=1)
    return (members.argmax(axis=2) == consensus).mean(axis=0)


def label_values(member_rows: Sequence[np.ndarray]) -> np.ndarray:
    """Per drawing, how much its label would teach: `1 - margin` of the members' mean probabilities (the
    gap between its two likeliest classes) plus the share of members whose own answer is not the mean's.
    0 when every member is sure of the same class, 2 at most."""
    mean = np.stack([_eleven_classes(rows) for rows in member_rows]).mean(axis=0)
    top_two = np.sort(mean, axis=1)[:, -2:]
    margin = top_two[:, 1] - top_two[:, 0]
    return np.round(1.0 - margin + (1.0 - member_agreements(member_rows)), 6)


def review_order(
    values: np.ndarray, answers: np.ndarray, writers: Sequence[str], *, page: int | None = None
) -> np.ndarray:
    """Indices of the drawings in the order to review them.

    Within each answer, writers take turns (each writer's most valuable drawing, then each one's next);
    across answers, the answers take turns in the same way; ties go to the more valuable drawing, then
    the earlier index. With `page`, only each answer's `page * CANDIDATES_PER_PAGE_SLOT` most valuable
    drawings are ordered and the first `page` returned: what one page of review shows (the site
    pre-selects the same candidates in SQL)."""
    values = np.asarray(values, dtype=np.float64)
    answers = np.asarray(answers)
    count = len(values)
    indices = np.arange(count)
    by_value = np.lexsort((indices, -values))  # most valuable first, then by index
    if page is not None:
        seen: dict[int, int] = {}
        kept = []
        for index in by_value:
            answer = int(answers[index])
            seen[answer] = seen.get(answer, 0) + 1
            if seen[answer] <= page * CANDIDATES_PER_PAGE_SLOT:
                kept.append(index)
        by_value = np.array(kept, dtype=int)
    writer_rank = np.zeros(count, dtype=int)
    answer_rank = np.zeros(count, dtype=int)
    writer_turns: dict[tuple[int, str], int] = {}
    for index in by_value:
        key = (int(answers[index]), writers[index])
        writer_rank[index] = writer_turns.get(key, 0)
        writer_turns[key] = writer_rank[index] + 1
    answer_turns: dict[int, int] = {}
    for index in sorted(by_value, key=lambda i: (writer_rank[i], -values[i], i)):
        answer = int(answers[index])
        answer_rank[index] = answer_turns.get(answer, 0)
        answer_turns[answer] = answer_rank[index] + 1
    order = sorted(by_value, key=lambda i: (answer_rank[i], -values[i], i))
    return np.array(order if page is None else order[:page], dtype=int)
