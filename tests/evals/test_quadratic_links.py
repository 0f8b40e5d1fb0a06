"""Link calibrations with pairwise products of the features (a study, evals/README.md)."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from alignment.scoring import calibration, link_features
from evals import research
from tests.alignment.test_link_scores import OBJECTIVES, OKRS, embed

N = len(link_features.FEATURES)


def _interaction_data(rng: np.random.Generator, n: int = 4000):
    """Pairs whose label needs both of two features high: no linear map separates it."""
    x = rng.normal(loc=0.5, scale=2.0, size=(n, N))
    y = (x[:, 0] - 0.5) * (x[:, 3] - 0.5) + 0.3 * rng.normal(size=n) > 1.0
    return x, y


def test_the_folded_calibration_computes_what_the_fit_learned() -> None:
    x, y = _interaction_data(np.random.default_rng(7))
    cal = research._fit_quadratic(x, y, calibration.PLAIN, c=1.0)
    assert len(cal.quadratic) == N * (N + 1) // 2 and len(cal.center) == len(cal.scale) == N
    # The same model fitted directly on the standardized features and their products.
    z = (x - np.asarray(cal.center)) / np.asarray(cal.scale)
    zz = np.stack([z[:, i] * z[:, j] for i, j in calibration.quadratic_pairs(N)], axis=1)
    u = np.concatenate([z, (zz - zz.mean(axis=0)) / zz.std(axis=0)], axis=1)
    direct = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(u, y).predict_proba(u)[:, 1]
    assert np.abs(calibration.calibrated(x, cal) - direct).max() < 5e-3  # 4-decimal rounding
    linear = LogisticRegression(C=1.0, max_iter=10_000).fit(x, y).predict_proba(x)[:, 1]
    assert roc_auc_score(y, calibration.calibrated(x, cal)) > roc_auc_score(y, linear) + 0.1


def test_scores_summed_feature_by_feature_equal_the_calibrated_tensor() -> None:
    rng = np.random.default_rng(8)
    cal = replace(
        calibration.PLAIN,
        center=tuple(rng.normal(size=N)),
        scale=tuple(rng.uniform(0.5, 2.0, size=N)),
        quadratic=tuple(rng.normal(scale=0.1, size=N * (N + 1) // 2)),
    )
    x = link_features.pair_features(OBJECTIVES, OKRS, embed=embed).x
    summed, _ = link_features.pair_scores(OBJECTIVES, OKRS, embed=embed, calibration=cal)
    assert np.allclose(summed, calibration.calibrated(x, cal), rtol=0, atol=1e-12)
    linear, _ = link_features.pair_scores(
        OBJECTIVES, OKRS, embed=embed, calibration=calibration.PLAIN
    )
    assert not np.allclose(summed, linear, atol=1e-3)  # the products do move the scores


def test_the_quadratic_fit_refuses_a_feature_subset() -> None:
    with pytest.raises(ValueError, match="every feature, pointwise"):
        research.fit_links([], None, calibration.PLAIN, only=("sim",), quadratic_c=0.1)
