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
A logistic map fitted on labelled organizations (evals/research.py) turns them into a score;
"aligned" needs a threshold and to be near the OKR's best score, "weak" a lower threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alignment.scoring import lexical
from alignment.scoring.calibration import Calibration, calibrated, calibration_for, label_links
from alignment.scoring.documents import Embed, Evidence, Link, ObjectiveDoc, OkrDoc
from alignment.scoring.link_features import PairFeatures, pair_features

EVIDENCE_TOP = 3  # objectives per OKR that get evidence (plus any labelled aligned)
# Links the score stage stores per OKR (plus every aligned or weak one, and the pairs someone
# declared or decided): what reads, reports and people look at. Rank 11 of 200 explains
# nothing, and storing all pairs is 2 M rows for 10,000 OKRs x 200 objectives.
STORED_TOP = 10


class _Explainer:
    """Evidence for chosen pairs: the 1-3 most similar (OKR field, objective field) pairs."""

    def __init__(self, pf: PairFeatures) -> None:
        self.pf = pf
        texts = [*pf.okr_fields.texts, *pf.obj_fields.texts]
        self.idf = lexical.Idf(lexical.stems(t) for t in texts)
        self.k_ends = np.append(pf.okr_fields.starts[1:], len(pf.okr_fields.texts))
        self.o_ends = np.append(pf.obj_fields.starts[1:], len(pf.obj_fields.texts))
        self.surface: dict[str, dict[str, str]] = {}

    def _surface(self, text: str) -> dict[str, str]:
        if text not in self.surface:
            self.surface[text] = lexical.stem_set_with_surface(text)
        return self.surface[text]

    def __call__(self, k: int, o: int) -> tuple[Evidence, ...]:
        pf = self.pf
        r0, c0 = int(pf.okr_fields.starts[k]), int(pf.obj_fields.starts[o])
        block = pf.field_sim[r0 : self.k_ends[k], c0 : self.o_ends[o]]
        width = block.shape[1]
        out = []
        for flat in np.argsort(-block, axis=None)[:3]:
            r, c = r0 + int(flat) // width, c0 + int(flat) % width
            a, b = pf.okr_fields.texts[r], pf.obj_fields.texts[c]
            terms = lexical.shared_terms(self._surface(a), self._surface(b), self.idf)
            sim = round(float(pf.field_sim[r, c]), 4)
            out.append(Evidence(pf.okr_fields.names[r], a, pf.obj_fields.names[c], b, sim, terms))
        return tuple(out)


def score_links(
    objectives: Sequence[ObjectiveDoc],
    okrs: Sequence[OkrDoc],
    *,
    embed: Embed,
    calibration: Calibration | None = None,
    top: int | None = None,
    keep: dict[str, set[str]] | None = None,
) -> dict[str, list[Link]]:
    """okr id -> objectives as Links, ranked by calibrated score (highest first).

    With `top`, only the `top` best objectives of each OKR, every link labelled aligned or
    weak, and the objectives named for it in `keep` (declared or decided pairs) are built,
    still in rank order; without it, every objective (the evaluations rank them all).
    Evidence is computed for the EVIDENCE_TOP best objectives of each OKR and for any link
    labelled aligned; the rest carry an empty tuple (nobody reads why rank 40 is low,
    and computing it would dominate the cost on large organizations).
    """
    if not okrs:
        return {}
    if not objectives:
        return {k.id: [] for k in okrs}
    calibration = calibration or calibration_for(len(objectives), len(okrs))
    pf = pair_features(objectives, okrs, embed=embed, full_weight=calibration.full_weight)
    probs = calibrated(pf.x, calibration)
    order = np.argsort(-probs, axis=1, kind="stable")
    labels = label_links(probs, calibration)
    explain = _Explainer(pf)
    ids = [o.id for o in objectives]
    rounded = np.round(probs, 4)
    wanted = _wanted(order, labels, ids, okrs, top, keep)
    if wanted is not None:
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(len(ids))[None, :], axis=1)
    out: dict[str, list[Link]] = {}
    for k, okr in enumerate(okrs):
        if wanted is None:
            chosen = order[k].tolist()
        else:
            rank_of = ranks[k]
            chosen = sorted(wanted[k], key=lambda o: rank_of[o])
        out[okr.id] = [
            Link(
                ids[o],
                float(rounded[k, o]),
                str(labels[k, o]),
                explain(k, o) if rank < EVIDENCE_TOP or labels[k, o] == "aligned" else (),
            )
            for rank, o in enumerate(chosen)
        ]
    return out


def _wanted(
    order: np.ndarray,
    labels: np.ndarray,
    ids: list[str],
    okrs: Sequence[OkrDoc],
    top: int | None,
    keep: dict[str, set[str]] | None,
) -> list[set[int]] | None:
    """Per OKR, the objective indexes to build (None: all of them)."""
    if top is None or top >= len(ids):
        return None
    index = {o: i for i, o in enumerate(ids)}
    notable = labels != "none"
    wanted = []
    for k, okr in enumerate(okrs):
        chosen = set(order[k, :top].tolist())
        chosen.update(np.flatnonzero(notable[k]).tolist())
        chosen.update(index[o] for o in (keep or {}).get(okr.id, ()) if o in index)
        wanted.append(chosen)
    return wanted
