"""Link scoring: rank an organization's strategic objectives for each OKR, calibrated to [0, 1].

Pure: documents and an `embed` callable in, ranked `Link`s out (no database, no web).
Method: every text field is embedded in one batch; a pair's similarity blends the whole-text
cosine with the best field-to-field cosine (OKR title, description, each key result vs the
objective's title, description, each KPI). Some objectives are close to everything, so each
objective's similarities are z-scored across the organization's OKRs, and each OKR's across the
objectives. Added to these: IDF-weighted shared stems, the teammates' pattern (OKRs of one team
tend to serve the same objectives), the team mission/check-ins, how much the OKR's key
results read like routine outputs (posters, newsletters, award entries) rather than outcomes,
and how well its key results, taken one by one, support each objective (a title can borrow an
objective's words while the key results measure something else).
Two of the features are the z-scores again after the organization's common component is removed
from every vector (link_features.centered_objective_z / centered_okr_z).
A logistic map fitted on labelled organizations (evals/fit.py writes calibration.json) turns
them into a score, which moves where people decided a teammate's link to the objective
(team_decisions.py); "aligned" needs a threshold and to be near the OKR's best score, "weak" a
lower threshold. Within each label the order also weighs the texts' shared words
(lexical_rank.py). A second map over the nine plain features alone (calibration.PLAIN) gives
each OKR its orphan score, the best score the orphan rule reads (alignment/verdicts.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from alignment.scoring.calibration import (
    LABELS,
    Calibration,
    calibration_for,
    label_codes,
    orphan_calibration_for,
)
from alignment.scoring.documents import Embed, Link, ObjectiveDoc, OkrDoc
from alignment.scoring.evidence import Explainer
from alignment.scoring.gc_paused import gc_paused
from alignment.scoring.lexical_rank import RANK_WEIGHT, org_words, rerank
from alignment.scoring.link_features import pair_scores_by
from alignment.scoring.team_decisions import TeamVotes, apply_votes

EVIDENCE_TOP = 3  # objectives per OKR that get evidence (plus any labelled aligned)
# Links the score stage stores per OKR (plus every aligned or weak one, and the pairs someone
# declared or decided): what reads, reports and people look at. Rank 11 of 200 explains
# nothing, and storing all pairs is 2 M rows for 10,000 OKRs x 200 objectives.
STORED_TOP = 10


class Scored(NamedTuple):
    links: dict[str, list[Link]]  # okr id -> objectives as Links, best first
    # okr id -> its best score under the orphan calibration: what the orphan rule compares
    # with the organization's median (alignment/verdicts.py)
    orphan_scores: dict[str, float]


def score_links(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    calibration: Calibration | None = None,
    top: int | None = None,
    keep: dict[str, set[str]] | None = None,
    rank_weight: float = RANK_WEIGHT,
    votes: TeamVotes | None = None,
) -> dict[str, list[Link]]:
    """okr id -> objectives as Links, best first (`score_okrs(...).links`): the links'
    calibration only, no orphan scores to compute."""
    calibration = calibration or calibration_for(len(objectives), len(okrs))
    return score_okrs(
        objectives, okrs, embed=embed, calibration=calibration, top=top, keep=keep,
        rank_weight=rank_weight, votes=votes,
    ).links  # fmt: skip


def score_okrs(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    calibration: Calibration | None = None,
    orphan_calibration: Calibration | None = None,
    top: int | None = None,
    keep: dict[str, set[str]] | None = None,
    rank_weight: float = RANK_WEIGHT,
    votes: TeamVotes | None = None,
) -> Scored:
    """Each OKR's links: objectives as Links, best first: aligned, then weak links, each ordered
    by the calibrated score fused with the lexical signal (lexical_rank.py), then the rest by
    score. Labels only follow scores, so with `rank_weight=0` this is the order by score alone.
    And each OKR's orphan score, under `orphan_calibration`.

    Calibrations: with neither given, the organization's pair (calibration_for,
    orphan_calibration_for); with `calibration` alone, it gives the orphan scores too (the
    evaluations fit one at a time).

    With `top`, only the `top` best objectives of each OKR, every link labelled aligned or
    weak, and the objectives named for it in `keep` (declared or decided pairs) are built,
    still in rank order; without it, every objective (the evaluations rank them all).
    Evidence is kept for the EVIDENCE_TOP best ranked and best scored objectives of each OKR
    and for any link labelled aligned, and built lazily (evidence.py: on first read, in one
    vectorized pass); the rest carry an empty tuple (nobody reads why rank 40 is low).
    `votes`: the objectives people confirmed or rejected for each OKR's teammates
    (team_decisions.py); they move both scores.
    """
    if not okrs:
        return Scored({}, {})
    if not objectives:
        return Scored({k.id: [] for k in okrs}, {})
    if calibration is None:
        calibration = calibration_for(len(objectives), len(okrs))
        orphan_calibration = orphan_calibration or orphan_calibration_for(
            len(objectives), len(okrs)
        )
    with gc_paused():
        return _score_okrs(
            objectives, okrs, embed, calibration, orphan_calibration or calibration, top, keep,
            rank_weight, votes,
        )  # fmt: skip


def _score_okrs(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    embed: Embed,
    calibration: Calibration,
    orphan_calibration: Calibration,
    top: int | None,
    keep: dict[str, set[str]] | None,
    rank_weight: float,
    votes: TeamVotes | None,
) -> Scored:
    # Split once: the stem overlap (a feature) and the lexical re-ranking both read the words.
    words = org_words(objectives, okrs)
    both = [calibration] if orphan_calibration == calibration else [calibration, orphan_calibration]
    scored, fields = pair_scores_by(both, objectives, okrs, embed=embed, words=words)
    probs = apply_votes(scored[0], objectives, okrs, votes)
    orphan = probs if len(scored) == 1 else apply_votes(scored[-1], objectives, okrs, votes)
    orphan_scores = dict(
        zip((k.id for k in okrs), np.round(orphan.max(axis=1), 4).tolist(), strict=True)
    )
    codes = label_codes(probs, calibration)
    by_score = _by_score(probs)
    order = rerank(by_score, probs, codes, objectives, okrs, weight=rank_weight, words=words)
    # Everything below is in rank order: column r of row k is the OKR's r-th best objective.
    ranked_codes = np.take_along_axis(codes, order, axis=1)
    shown = _shown(order, ranked_codes, objectives, okrs, top, keep)
    explained = _explained(order, by_score, ranked_codes)
    explain = Explainer(fields)
    ids = [o.id for o in objectives]
    # Every shown link at once, OKR by OKR in rank order (row-major), as plain lists: per-OKR
    # NumPy calls were a tenth of the time on 10,000 OKRs.
    rows, cols = np.nonzero(shown)
    objective = order[rows, cols]
    links = [
        Link(ids[o], score, label, explain.request(k, o) if why else ())
        for k, o, score, label, why in zip(
            rows.tolist(),
            objective.tolist(),
            np.round(probs[rows, objective], 4).tolist(),  # only the shown links' scores
            LABELS[ranked_codes[rows, cols]].tolist(),
            explained[rows, cols].tolist(),
            strict=True,
        )
    ]
    counts = shown.sum(axis=1).tolist()
    ends = np.cumsum(counts).tolist()
    ranked = {okr.id: links[end - n : end] for okr, end, n in zip(okrs, ends, counts, strict=True)}
    return Scored(ranked, orphan_scores)


def _by_score(probs: np.ndarray) -> np.ndarray:
    """Each row's objectives, highest score first, ties by objective index (a stable sort).

    NumPy's default argsort (a SIMD quicksort where the CPU has one) takes a third of the
    stable sort's time on 10,000 x 200, but puts tied scores in any order: the rows with a tie
    are sorted again, stably.
    """
    negated = -probs
    order = np.argsort(negated, axis=1)
    ranked = np.take_along_axis(negated, order, axis=1)
    tied = np.flatnonzero(~(ranked[:, 1:] > ranked[:, :-1]).all(axis=1))  # NaN: a tie too
    order[tied] = np.argsort(negated[tied], axis=1, kind="stable")
    return order


def _explained(order: np.ndarray, by_score: np.ndarray, ranked_codes: np.ndarray) -> np.ndarray:
    """(n_okrs, n_objectives) in rank order: which links get evidence. The EVIDENCE_TOP best
    ranked and every aligned link, and also the EVIDENCE_TOP best by score, so a link keeps
    the evidence it had before the lexical re-ranking moved it down."""
    top = (np.arange(order.shape[1]) < EVIDENCE_TOP)[None, :]
    explained = top | (ranked_codes == 2)
    moved = np.flatnonzero((order[:, :EVIDENCE_TOP] != by_score[:, :EVIDENCE_TOP]).any(axis=1))
    if moved.size:
        best = np.zeros((moved.size, order.shape[1]), dtype=bool)
        np.put_along_axis(best, by_score[moved, :EVIDENCE_TOP], True, axis=1)
        explained[moved] |= np.take_along_axis(best, order[moved], axis=1)
    return explained


def _shown(
    order: np.ndarray,
    ranked_codes: np.ndarray,
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    top: int | None,
    keep: dict[str, set[str]] | None,
) -> np.ndarray:
    """(n_okrs, n_objectives) in rank order: which links to build."""
    if top is None or top >= len(objectives):
        return np.ones(order.shape, dtype=bool)
    shown = (np.arange(len(objectives)) < top)[None, :] | (ranked_codes > 0)
    if keep:
        index = {o.id: i for i, o in enumerate(objectives)}
        named = np.zeros(order.shape, dtype=bool)
        for k, okr in enumerate(okrs):
            named[k, [index[o] for o in keep.get(okr.id, ()) if o in index]] = True
        shown |= np.take_along_axis(named, order, axis=1)
    return shown
