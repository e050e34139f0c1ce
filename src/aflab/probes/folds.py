"""Cross-validation folds grouped by query.

A query's free and paid samples share its request, so their activations share most of what the
request puts there: a probe that saw one of them in training could recognise the other in testing
without having learnt the label. Every fold therefore keeps each query whole, on one side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Split = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class FoldPlan:
    """The folds of one probe's rows (index arrays: training side, test side). ``status`` says
    why there are none; ``note`` says what was changed from what was asked (fewer folds)."""

    splits: list[Split] = field(default_factory=list)
    k: int = 0
    status: str | None = None
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is None


def minority_groups(labels: np.ndarray, groups: np.ndarray) -> int:
    """How many groups hold at least one sample of the rarer class (0 when a class is absent):
    no more folds than that can each hold it on their test side."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    return min(len(np.unique(groups[labels == value])) for value in (0, 1))


def grouped_folds(labels: np.ndarray, groups: np.ndarray, k: int, seed: int) -> FoldPlan:
    """Stratified folds with no group on both sides; ``k`` is lowered to the number of groups of
    the minority class when there are fewer (a note says so), and below 2 there is no plan."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels, groups = np.asarray(labels), np.asarray(groups)
    if len(np.unique(labels)) < 2:
        return FoldPlan(status="one class")
    available = minority_groups(labels, groups)
    if available < 2:
        return FoldPlan(status=f"too few queries ({available} with the minority class)")
    note = None
    if available < k:
        note = f"{k} folds asked, {available} made: {available} queries hold the minority class"
        k = available
    _, codes = np.unique(groups, return_inverse=True)  # sklearn sorts mixed types badly
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    splits = [
        (train, test)
        for train, test in splitter.split(np.zeros(len(labels)), labels, codes)
        if len(test)
    ]
    return FoldPlan(splits=splits, k=len(splits), note=note)


def transfer_splits(
    plan: FoldPlan, values: np.ndarray, train_value: str, test_value: str
) -> list[Split]:
    """The plan's folds cut down to training rows whose key is ``train_value`` and test rows
    whose key is ``test_value``: a query still never sits on both sides, though it has rows of
    both values (its free and its paid sample)."""
    values = np.asarray(values)
    return [
        (train[values[train] == train_value], test[values[test] == test_value])
        for train, test in plan.splits
    ]
