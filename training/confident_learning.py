"""Which labels are likely wrong: confident learning (cleanlab) over out-of-sample probabilities.

The site runs `suspected_labels` over its trusted labels (`webapp.drawings.services.label_issues`) with
the probabilities each drawing got when it was answered; `training.evaluation.label_errors` measures it.
"""

from __future__ import annotations

import numpy as np


def suspected_labels(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the labels that confident learning finds likely wrong, and for each the class it
    suspects instead (the likeliest other class). `probabilities` has a column per class; classes no label
    uses are left out (cleanlab estimates every class's noise from its own labels)."""
    from cleanlab.filter import find_label_issues  # imports scikit-learn and pandas: only when asked

    labels = np.asarray(labels, dtype=int)
    if len(labels) == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    used = np.unique(labels)
    if len(used) < 2:  # one class: nothing to tell it apart from
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    columns = np.asarray(probabilities, dtype=np.float64)[:, used]
    columns = np.clip(columns, 1e-12, None)
    columns /= columns.sum(axis=1, keepdims=True)
    compact = np.searchsorted(used, labels)
    flagged = find_label_issues(compact, columns, return_indices_ranked_by="self_confidence", n_jobs=1)
    others = columns[flagged].copy()
    others[np.arange(len(flagged)), compact[flagged]] = -1.0
    return np.asarray(flagged, dtype=int), used[others.argmax(axis=1)]
