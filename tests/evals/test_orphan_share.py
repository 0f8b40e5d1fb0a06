"""The orphan rule's share is chosen for precision: the highest recall whose flags are right
at least PRECISION_FLOOR of the time, else the most precise (evals/orphan_share.py)."""

import numpy as np
import pytest

from evals.orphan_share import PRECISION_FLOOR, SHARES, Candidates, choose, flags


def org(ratios: list[float], orphan: list[bool], unflaggable_orphans: int = 0) -> Candidates:
    """Candidates (OKRs the orphan rule could flag) of one organization; labelled orphans
    that got a link are not candidates but still count for recall."""
    return Candidates(
        np.array(ratios), np.array(orphan, dtype=bool), sum(orphan) + unflaggable_orphans
    )


def test_flags_pool_right_and_wrong_flags_over_organizations() -> None:
    found = [org([0.05, 0.2], [True, False]), org([0.1], [False], unflaggable_orphans=2)]
    assert flags(found, 0.06) == (1, 1, 3)
    assert flags(found, 0.15) == (1, 2, 3)
    assert flags(found, 0.25) == (1, 3, 3)


def test_highest_recall_among_shares_precise_enough() -> None:
    # True orphans far under the median; a plan whose OKRs all have parents sits at 0.2-0.3.
    styles = org([0.05, 0.08, 0.11, 0.13], [True, True, True, False])
    plan = org([0.15, 0.21, 0.22, 0.25, 0.28], [False] * 5)
    share = choose([styles, plan])
    right, flagged, _ = flags([styles, plan], share)
    assert right / flagged >= PRECISION_FLOOR
    assert right == 3  # every orphan it can reach at that precision
    assert share <= 0.13  # a larger share would add the false flags
    # A share that catches more orphans but flags a plan's OKR is not chosen.
    assert flags([styles, plan], 0.16)[1] - flags([styles, plan], 0.16)[0] >= 2


def test_without_a_precise_enough_share_the_most_precise_wins() -> None:
    noisy = org([0.05, 0.06, 0.07, 0.2], [False, True, False, True])
    share = choose([noisy])
    right, flagged, _ = flags([noisy], share)
    best = max(flags([noisy], s)[0] / max(flags([noisy], s)[1], 1) for s in SHARES)
    assert flagged and right / flagged == best < PRECISION_FLOOR


def test_a_small_organization_is_scored_with_the_small_organization_calibration(
    monkeypatch,
) -> None:
    """Fit organizations too small for per-organization z-scores get a leave-one-org-out fit of
    the absolute features for both scores; passed-only ones the shipped small-organization
    calibration. The others get both link calibrations, each fitted on the other organizations."""
    from alignment.scoring import calibration
    from evals import orphan_share, research

    def fake_org(name: str, n_objectives: int, n_okrs: int) -> research.Org:
        return research.Org(name, "dev", [None] * n_objectives, [None] * n_okrs, [], {})

    big, small, small_also = fake_org("big", 6, 20), fake_org("small", 1, 3), fake_org("s2", 2, 2)
    big_also = fake_org("b2", 5, 12)
    fits = []

    def fit_links(orgs, embed, base, only=None):
        fits.append(([o.name for o in orgs], base, only))
        return f"{base} fitted on {[o.name for o in orgs]}"

    scored_with = {}

    def candidates(org, cals, embed):
        scored_with[org.name] = tuple(cals)
        return Candidates(np.array([0.01]), np.array([True]), 1)

    monkeypatch.setattr(research, "fit_links", fit_links)
    monkeypatch.setattr(orphan_share, "candidates", candidates)

    class Cal(str):  # a calibration by name, with the weak threshold the share stays under
        weak = 0.2

    bases = orphan_share.Bases("link base", "orphan base", "small base")
    shipped = orphan_share.Bases(Cal("shipped links"), Cal("shipped orphans"), Cal("shipped small"))
    orphan_share.choose_share([big, small], [small_also, big_also], None, bases, shipped)

    assert fits == [
        (["small"], "link base", None),
        (["small"], "orphan base", None),
        (["big"], "small base", calibration.ABSOLUTE),
    ]
    assert scored_with == {
        "big": ("link base fitted on ['small']", "orphan base fitted on ['small']"),
        "small": ("small base fitted on ['big']",) * 2,
        "s2": ("shipped small",) * 2,
        "b2": ("shipped links", "shipped orphans"),
    }


def test_candidates_are_okrs_neither_score_links_and_their_ratio_is_the_plain_one(
    monkeypatch,
) -> None:
    """An OKR the links' calibration labels aligned, or the plain one weak, cannot be flagged;
    the others' ratio is their plain best score over the plain median."""
    from alignment.scoring import calibration, link_features
    from evals import orphan_share, research

    links_cal = calibration.Calibration(weights=(), bias=0.0, aligned=0.5, weak=0.25)
    plain_cal = calibration.Calibration(weights=(), bias=0.0, aligned=0.5, weak=0.25)
    links = np.array([[0.9, 0.1], [0.1, 0.1], [0.1, 0.1], [0.1, 0.1]])  # first: aligned
    plain = np.array([[0.1, 0.05], [0.3, 0.1], [0.02, 0.01], [0.2, 0.1]])  # second: weak
    monkeypatch.setattr(
        link_features, "pair_scores_by", lambda cals, *a, **k: ([links, plain], None)
    )
    org = research.Org(
        "o", "dev", [None, None], [type("K", (), {"id": i})() for i in "abcd"], [],
        {"links": {"a": [], "b": ["x"], "c": [], "d": ["x"]}},
    )  # fmt: skip
    found = orphan_share.candidates(org, orphan_share.Pair(links_cal, plain_cal), None)
    median = np.median(plain.max(axis=1))  # 0.15
    assert found.ratio.tolist() == pytest.approx([0.02 / median, 0.2 / median])  # c, d
    assert found.orphan.tolist() == [True, False]
    assert found.orphans == 2  # a is a labelled orphan the rule cannot flag: it still counts


def test_no_share_above_the_ceiling_is_chosen() -> None:
    styles = org([0.05, 0.08, 0.11, 0.13], [True, True, True, True])
    assert choose([styles]) > 0.13
    assert choose([styles], ceiling=0.1) <= 0.1
