"""Learning from decisions: a confirmed link is a vote for the OKR's teammates."""

from __future__ import annotations

import numpy as np
from scipy.special import logit

from alignment.scoring.documents import ObjectiveDoc, OkrDoc
from alignment.scoring.team_decisions import TEAM_CONFIRMED_LOGIT, nudged, team_votes

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
