"""Learning from decisions: a confirmed link is a vote for the OKR's teammates."""

from __future__ import annotations

import numpy as np
from scipy.special import logit

from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from alignment.scoring.team_decisions import (
    TEAM_CONFIRMED_LOGIT,
    TEAM_REJECTED_LOGIT,
    apply_votes,
    decided_votes,
    nudged,
    team_votes,
)

OBJECTIVES = [ObjectiveDoc(f"SO-{i}", f"Objective {i}", None, None, ()) for i in (1, 2, 3)]


def okr(okr_id: str, team: str | None) -> OkrDoc:
    return OkrDoc(okr_id, f"OKR {okr_id}", None, (), (), None, team)


OKRS = [okr("A1", "a"), okr("A2", "a"), okr("A3", "a"), okr("B1", "b"), okr("X", None)]


def test_votes_leave_out_the_confirmed_okr_and_other_teams() -> None:
    votes = team_votes(OKRS, [("A1", "SO-2"), ("B1", "SO-3"), ("X", "SO-1")])
    # A1's own confirmation is no vote for A1; B1 has no teammate; X has no team.
    assert votes == {"A2": frozenset({"SO-2"}), "A3": frozenset({"SO-2"})}
    both = team_votes(OKRS, [("A1", "SO-2"), ("A2", "SO-2")])
    assert both["A1"] == both["A2"] == both["A3"] == frozenset({"SO-2"})


def test_nudge_moves_only_the_voted_scores_by_the_logit_weight() -> None:
    probs = np.array([[0.2, 0.5, 0.7]] * len(OKRS))
    out = nudged(probs, OBJECTIVES, OKRS, {"A2": frozenset({"SO-2", "SO-9"})})
    changed = np.argwhere(out != probs)
    assert changed.tolist() == [[1, 1]]  # A2's SO-2; an unknown objective is ignored
    assert np.isclose(logit(out[1, 1]) - logit(0.5), TEAM_CONFIRMED_LOGIT)
    assert nudged(probs, OBJECTIVES, OKRS, {}) is probs


def test_a_rejection_leans_teammates_away_unless_a_teammate_confirmed_it() -> None:
    verdicts = {("A1", "SO-2"): "rejected", ("A1", "SO-3"): "rejected", ("A3", "SO-3"): "confirmed"}
    votes = decided_votes(OKRS, verdicts)
    assert votes.confirmed == {"A1": frozenset({"SO-3"}), "A2": frozenset({"SO-3"})}
    # SO-3 was confirmed for A3, so A2 does not lean away from it; A3 does lean from SO-2.
    assert votes.rejected == {"A2": frozenset({"SO-2"}), "A3": frozenset({"SO-2", "SO-3"})}
    assert votes.of("A2") == ("+SO-3", "-SO-2") and votes.of("B1") == ()
    probs = np.full((len(OKRS), 3), 0.5)
    out = apply_votes(probs, OBJECTIVES, OKRS, votes)
    assert np.isclose(logit(out[1, 2]), TEAM_CONFIRMED_LOGIT)  # A2, SO-3
    assert np.isclose(logit(out[1, 1]), -TEAM_REJECTED_LOGIT)  # A2, SO-2
    assert (out[3:] == 0.5).all()  # B1 and X: no teammate decided anything
    assert apply_votes(probs, OBJECTIVES, OKRS, None) is probs
