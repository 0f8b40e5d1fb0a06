import numpy as np
import pytest

from alignment.scoring import calibration, link_features
from evals import listwise_links, research

ROUTINE = link_features.FEATURES.index("routine")
LEX = link_features.FEATURES.index("lex")


def _org(rng: np.random.Generator, okrs: int = 30, objectives: int = 5):
    """Gold objectives stand out on `lex` only; `routine` is per OKR (lower for orphans)."""
    x = rng.normal(size=(okrs, objectives, len(link_features.FEATURES)))
    gold = np.zeros((okrs, objectives), dtype=bool)
    gold[np.arange(okrs), rng.integers(0, objectives, okrs)] = True
    gold[: okrs // 5] = False  # orphans
    x[..., LEX] += 3.0 * gold
    x[..., ROUTINE] = np.where(gold.any(axis=1), -1.0, 1.0)[:, None] + rng.normal(size=(okrs, 1))
    return x, gold


def test_the_ranking_stage_weighs_what_picks_the_objective_and_never_a_per_okr_feature() -> None:
    rng = np.random.default_rng(3)
    data = [_org(rng) for _ in range(4)]
    w = listwise_links.ranking_weights(data)
    assert w[ROUTINE] == 0.0
    assert w[LEX] == max(w) and w[LEX] > 1.0


def test_two_stage_ranks_gold_first_and_holds_orphans_low_through_the_per_okr_feature() -> None:
    rng = np.random.default_rng(4)
    train, test = [_org(rng) for _ in range(4)], _org(rng)
    weights, bias = listwise_links.two_stage(train)
    assert weights[ROUTINE] < 0  # routine-looking OKRs score lower everywhere
    x, gold = test
    scores = x @ weights + bias
    served = gold.any(axis=1)
    hits = gold[np.flatnonzero(served), scores[served].argmax(axis=1)]
    assert hits.mean() > 0.8
    # Within an OKR the calibrated scores order objectives as the ranking stage does.
    ranking = listwise_links.ranking_weights(train)
    assert np.array_equal(np.argsort(-scores, axis=1), np.argsort(-(x @ ranking), axis=1))
    assert scores[~served].max(axis=1).mean() < scores[served].max(axis=1).mean()


def test_the_ranking_gradient_matches_finite_differences_with_several_gold_objectives() -> None:
    rng = np.random.default_rng(5)
    x, gold = _org(rng)
    gold[5:10, :2] = True  # OKRs serving two objectives: their mass is shared
    data = [(x, gold)]
    w = rng.normal(size=len(link_features.FEATURES))
    w[ROUTINE] = 0.0
    loss = lambda v: listwise_links.ranking_loss(v, data, 0.01)[0]  # noqa: E731
    grad = listwise_links.ranking_loss(w, data, 0.01)[1]
    step = np.eye(len(w)) * 1e-6
    numeric = np.array([(loss(w + e) - loss(w - e)) / 2e-6 for e in step])
    numeric[ROUTINE] = 0.0  # a per-OKR feature's weight is held at 0, not descended
    assert np.allclose(grad, numeric, atol=1e-6)
    assert grad[ROUTINE] == 0.0


def test_the_two_stage_fit_refuses_a_feature_subset() -> None:
    with pytest.raises(ValueError, match="pass `only` or `listwise_l2`"):
        research.fit_links([], None, calibration.DEFAULT, only=("sim",), listwise_l2=0.001)
