"""The two centered link features and the two link calibrations (calibration.DEFAULT ranks and
labels, calibration.PLAIN gives the orphan score), with the real packaged MiniLM model."""

from __future__ import annotations

import numpy as np

from alignment.scoring import calibration, link_features
from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from alignment.scoring.link_features import ROW_FLOOR
from alignment.scoring.link_scores import score_okrs
from tests.alignment.test_link_scores import embed

OBJECTIVES = [
    ObjectiveDoc("SO-1", "Grow recurring revenue from enterprise customers", None, None, ()),
    ObjectiveDoc("SO-2", "Delight customers with fast, friendly support", None, None, ()),
    ObjectiveDoc("SO-3", "Run a reliable, secure cloud platform", None, None, ()),
    ObjectiveDoc("SO-4", "Grow our people's skills through coaching", None, None, ()),
]
TITLES = [
    "Close ten new enterprise contracts",
    "Answer every support ticket within an hour",
    "Cut platform outages in half",
    "Run a coaching programme for every engineer",
    "Plan the office summer party",
]


def okrs(titles: list[str]) -> list[OkrDoc]:
    return [OkrDoc(f"O-{i}", t, None, (), (), None) for i, t in enumerate(titles)]


def _z(x: np.ndarray, axis: int, floor: float) -> np.ndarray:
    sd = np.maximum(x.std(axis=axis, keepdims=True), floor)
    return (x - x.mean(axis=axis, keepdims=True)) / sd


def test_centered_z_scores_are_the_cosines_after_the_objectives_mean_is_removed() -> None:
    """Title-only documents: each similarity is the cosine of two titles. Centered, it is the
    cosine of the titles' vectors minus the mean objective vector, renormalized."""
    x = link_features.pair_features(
        OBJECTIVES, okrs(TITLES), embed=embed, features=("col_z_c", "row_z_c")
    ).x
    objective = embed([o.title for o in OBJECTIVES]).astype(np.float64)
    okr = embed(TITLES).astype(np.float64)
    mean = objective.mean(axis=0)

    def center(v: np.ndarray) -> np.ndarray:
        shifted = (v - mean) / np.linalg.norm(v - mean, axis=1, keepdims=True)
        return shifted.astype(np.float32).astype(np.float64)

    sim = center(okr) @ center(objective).T
    assert np.allclose(x[..., 0], _z(sim, 0, 0.05), atol=1e-5)
    assert np.allclose(x[..., 1], _z(sim, 1, ROW_FLOOR), atol=1e-5)
    # Not the plain z-scores: the common component moved them.
    plain = link_features.pair_features(OBJECTIVES, okrs(TITLES), embed=embed).x
    assert not np.allclose(x[..., 1], plain[..., link_features.FEATURES.index("row_z")])


def test_adding_okrs_does_not_move_an_okrs_centered_row() -> None:
    """The mean is the objectives' only: more OKRs leave each OKR's own row (row_z_c) as it was."""
    names = ("row_z_c",)
    before = link_features.pair_features(OBJECTIVES, okrs(TITLES), embed=embed, features=names).x
    more = [*TITLES, "Publish a quarterly newsletter", "Win two industry awards"]
    after = link_features.pair_features(OBJECTIVES, okrs(more), embed=embed, features=names).x
    assert np.allclose(after[: len(TITLES)], before, atol=1e-9)


def test_both_calibrations_scored_together_equal_each_scored_alone() -> None:
    pair = [calibration.DEFAULT, calibration.PLAIN]
    (links, orphan), _ = link_features.pair_scores_by(pair, OBJECTIVES, okrs(TITLES), embed=embed)
    alone = [
        link_features.pair_scores(OBJECTIVES, okrs(TITLES), embed=embed, calibration=c)[0]
        for c in pair
    ]
    assert np.array_equal(links, alone[0]) and np.array_equal(orphan, alone[1])
    assert not np.allclose(links, orphan)  # two maps, two scores


def test_the_orphan_score_is_the_best_plain_score() -> None:
    scored = score_okrs(OBJECTIVES, okrs(TITLES), embed=embed)
    plain, _ = link_features.pair_scores(
        OBJECTIVES, okrs(TITLES), embed=embed, calibration=calibration.PLAIN
    )
    assert scored.orphan_scores == {
        f"O-{i}": round(float(best), 4) for i, best in enumerate(plain.max(axis=1))
    }
    # The links are the centered calibration's.
    links, _ = link_features.pair_scores(
        OBJECTIVES, okrs(TITLES), embed=embed, calibration=calibration.DEFAULT
    )
    assert sorted(lk.score for lk in scored.links["O-0"]) == sorted(np.round(links[0], 4).tolist())
    # The party serves nothing: its orphan score is the lowest.
    assert min(scored.orphan_scores, key=scored.orphan_scores.get) == "O-4"


def test_centering_chunk_by_chunk_gives_the_one_pass_values_bit_for_bit() -> None:
    """The fitted calibration was fitted on one-pass centering: chunking (for speed) must not
    move a single bit of a centered vector, or labels near a threshold could change."""
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((1000, 384)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    mean = rows[:40].astype(np.float64).mean(axis=0)
    shifted = rows.astype(np.float64) - mean
    one_pass = (shifted / np.linalg.norm(shifted, axis=1, keepdims=True)).astype(np.float32)
    chunked = link_features.centered_rows(rows, mean, chunk=96)  # a last chunk shorter
    assert chunked.dtype == np.float32
    assert np.array_equal(chunked, one_pass)
