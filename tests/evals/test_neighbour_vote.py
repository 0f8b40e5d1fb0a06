"""The neighbour-vote study: the closest other OKRs vote by cosine, never the OKR itself."""

from types import SimpleNamespace

import numpy as np
import pytest

from evals.neighbour_vote import neighbour_vote


def _pairs(vectors: list[list[float]], score: np.ndarray) -> SimpleNamespace:
    texts = [f"okr {i}" for i in range(len(vectors))]
    rows = dict(zip(texts, np.asarray(vectors, dtype=np.float32), strict=True))
    parts = {"row_z": score, "col_z": np.zeros_like(score)}
    return SimpleNamespace(
        okrs=texts,
        k_full=texts,
        stack=lambda ts: np.stack([rows[t] for t in ts]),
        feature=parts.__getitem__,
    )


def test_the_nearest_others_vote_by_cosine_and_the_okr_itself_does_not() -> None:
    vectors = [[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]]
    score = np.array([[9.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    vote = neighbour_vote(_pairs(vectors, score), k=2)
    # OKR 0's nearest others are 1 (cosine 0.8) and 2 (0.6).
    assert vote[0] == pytest.approx([0.8 / 1.4 * 1.0, 0.6 / 1.4 * 1.0])
    # OKR 1 is nearest to 2 (0.96) and 0 (0.8): its own 9 never counts for 0, nor 0's for itself.
    assert vote[1] == pytest.approx([0.8 / 1.76 * 9.0, 0.96 / 1.76 * 1.0])


def test_an_organization_of_two_gets_no_vote() -> None:
    score = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert not neighbour_vote(_pairs([[1.0, 0.0], [0.0, 1.0]], score), k=3).any()
