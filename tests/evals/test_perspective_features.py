"""The perspective-feature study: scores averaged within each perspective, 0 without one."""

from types import SimpleNamespace

import numpy as np

from evals.perspective_features import _by_perspective


def test_scores_are_averaged_within_each_perspective_and_zero_without_one() -> None:
    objectives = [
        SimpleNamespace(perspective="financial"),
        SimpleNamespace(perspective="customer"),
        SimpleNamespace(perspective="financial"),
        SimpleNamespace(perspective=None),
    ]
    score = np.array([[1.0, 5.0, 3.0, 9.0], [0.0, -1.0, 2.0, 4.0]])
    out = _by_perspective(SimpleNamespace(objectives=objectives), score)
    assert out.tolist() == [[2.0, 5.0, 2.0, 0.0], [1.0, -1.0, 1.0, 0.0]]
