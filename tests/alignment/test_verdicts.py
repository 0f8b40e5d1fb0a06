"""Three-way verdicts and the stored comparison with the organization's median."""

from __future__ import annotations

from typing import NamedTuple

from alignment.verdicts import (
    ORPHAN_SHARE_OF_MEDIAN,
    Comparison,
    compare_with_median,
    reference_score,
    verdicts,
)


class L(NamedTuple):
    label: str
    score: float


def org(best: dict[str, float]) -> dict[str, list[L]]:
    return {okr: [L("none", s), L("none", s / 2)] for okr, s in best.items()}


def test_an_okr_far_under_the_median_is_an_orphan_and_one_near_it_needs_review() -> None:
    share = ORPHAN_SHARE_OF_MEDIAN
    links = org({"a": 1.0, "b": 1.0, "c": 1.0, "far": 0.5 * share, "near": 2 * share})
    assert reference_score(links) == 1.0
    said = verdicts(links)
    assert said["far"] == "orphan" and said["near"] == "needs_review"


def test_adding_okrs_moves_the_median_but_not_a_kept_comparison() -> None:
    # Best scores in two clusters: five unrelated low OKRs drag the median between them.
    low = 0.8 * ORPHAN_SHARE_OF_MEDIAN
    first = org({"a": 1.0, "b": 1.0, "c": 1.0, "d": low, "x": low})
    compared = compare_with_median(first, {})
    assert compared["x"] == Comparison(True, low, 1.0)
    grown = {**first, **org({f"new{n}": 0.5 for n in range(5)})}
    assert reference_score(grown) * ORPHAN_SHARE_OF_MEDIAN < low  # today's median would differ
    assert verdicts(grown)["x"] == "needs_review"

    kept = compare_with_median(grown, {k: c for k, c in compared.items()})
    assert kept["x"] == compared["x"]
    assert kept["new0"].reference == reference_score(grown)  # new OKRs meet today's median
    said = verdicts(grown, (), {k: c.far_below for k, c in kept.items()})
    assert said["x"] == "orphan"


def test_labels_and_people_outrank_the_stored_comparison() -> None:
    links = {
        "aligned": [L("aligned", 0.1)],
        "weak": [L("weak", 0.1)],
        "rejected": [L("none", 5.0)],
        "stored": [L("none", 5.0)],
        "unstored": [L("none", 5.0)],
    }
    far = {"aligned": True, "weak": True, "rejected": False, "stored": True}
    said = verdicts(links, ["rejected"], far)  # the OKRs people called orphans
    assert said == {
        "aligned": "aligned",
        # The comparison is of the orphan score: the links' weak label does not outrank it.
        "weak": "orphan",
        "rejected": "orphan",
        "stored": "orphan",
        "unstored": "needs_review",  # compared with today's median: it is the median
    }


def test_an_okr_without_links_is_not_compared() -> None:
    compared = compare_with_median({"a": [L("none", 1.0)], "empty": []}, {})
    assert set(compared) == {"a"}


def test_the_orphan_scores_not_the_link_scores_meet_the_median() -> None:
    """With orphan scores (link_scores.Scored), the median and each comparison are theirs: an
    OKR whose links score as well as the others' is still far below on its orphan score."""
    links = org({"a": 0.9, "b": 0.9, "c": 0.9, "x": 0.9})
    orphan = {"a": 0.8, "b": 0.8, "c": 0.8, "x": 0.05}
    assert verdicts(links)["x"] == "needs_review"
    assert reference_score(links, orphan) == 0.8
    compared = compare_with_median(links, {}, orphan)
    assert compared["x"] == Comparison(True, 0.05, 0.8)
    assert verdicts(links, orphan_scores=orphan) == {
        "a": "needs_review",
        "b": "needs_review",
        "c": "needs_review",
        "x": "orphan",
    }
    weak = {**links, "x": [L("weak", 0.3)]}
    assert verdicts(weak, orphan_scores=orphan)["x"] == "orphan"
    aligned = {**links, "x": [L("aligned", 0.9)]}
    assert verdicts(aligned, orphan_scores=orphan)["x"] == "aligned"


def test_without_orphan_scores_a_weak_link_is_never_far_below() -> None:
    """The shipped share is under both weak thresholds (evals.fit refuses a fit where it is
    not), so a link labelled weak scores above the share of any median."""
    from alignment.scoring import calibration

    weak = (calibration.DEFAULT.weak, calibration.PLAIN.weak, calibration.SMALL_ORG.weak)
    assert min(weak) >= ORPHAN_SHARE_OF_MEDIAN
    links = {**org({"a": 1.0, "b": 1.0, "c": 1.0}), "x": [L("weak", calibration.PLAIN.weak)]}
    assert verdicts(links)["x"] == "needs_review"
