"""The drift flag's threshold: the most precise one that keeps the recall target."""

import numpy as np

from evals import research


def _flags(scores: list[float], thresholds: list[float]) -> dict[float, np.ndarray]:
    p = np.asarray(scores)
    return {t: p >= t for t in thresholds}


def test_picks_the_most_precise_threshold_that_keeps_recall() -> None:
    # 10 drifting check-ins and 10 clean ones; higher thresholds drop clean ones first.
    y = np.array([True] * 10 + [False] * 10)
    scores = [0.9] * 7 + [0.5] * 3 + [0.5] * 4 + [0.3] * 6
    flags = _flags(scores, [0.2, 0.4, 0.6])
    # 0.2: P 0.50, R 1.0; 0.4: P 10/14, R 1.0 (the best F1, 0.83, which the old rule took);
    # 0.6: P 1.00 R 0.7 -> reaches the 0.70 recall target with the best precision.
    assert research.flag_threshold(flags, y) == 0.6


def test_recall_below_the_target_is_not_bought_with_precision() -> None:
    y = np.array([True] * 10 + [False] * 10)
    scores = [0.9] * 6 + [0.5] * 4 + [0.5] * 4 + [0.3] * 6
    flags = _flags(scores, [0.2, 0.4, 0.6])
    # 0.6 is perfectly precise but finds 6 of 10 (< 0.70): 0.4 (P 10/14, R 1.0) is chosen.
    assert research.flag_threshold(flags, y) == 0.4


def test_falls_back_to_f1_when_no_threshold_reaches_the_target() -> None:
    y = np.array([True] * 10 + [False] * 10)
    scores = [0.9] * 3 + [0.5] * 3 + [0.1] * 4 + [0.5] * 1 + [0.3] * 9
    flags = _flags(scores, [0.4, 0.6])
    # 0.4: 6 of 10 (F1 2*6/17 = 0.71); 0.6: 3 of 10 (F1 6/13 = 0.46).
    assert research.flag_threshold(flags, y) == 0.4


def test_the_review_band_reaches_down_to_the_review_recall() -> None:
    # 20 drifting check-ins spread over the scores, 20 clean ones low.
    y = np.array([True] * 20 + [False] * 20)
    scores = [0.9] * 14 + [0.5] * 2 + [0.3] * 2 + [0.1] * 2 + [0.05] * 20
    flags = _flags(scores, [0.1, 0.3, 0.5, 0.7])
    # Flag at 0.7 (14 of 20); 0.5 reaches 16 (0.80), 0.3 reaches 18 (0.90 >= 0.85).
    assert research.review_threshold(flags, y, 0.7) == 0.3
    # Nothing below the flag reaches it: the lowest level tried.
    assert research.review_threshold(flags, np.array([True] * 40), 0.7) == 0.1
    assert research.review_threshold(flags, y, 0.1) == 0.1  # no band below the lowest level
