"""Similar OKRs of other teams vote, as a link feature: does the engine gain? (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.neighbour_vote K DEV_DIR...

The `team` feature lets teammates vote: OKRs of one team tend to serve the same objectives.
Here the vote comes from the K OKRs whose whole texts are closest to this one, whatever their
team (each weighted by its cosine, the OKR itself left out): two OKRs that read alike tend to
serve the same objective, so a terse OKR borrows the words of a longer sibling. The vote is
the neighbours' row z + column z, as the `team` feature's. Appended to
link_features.FEATURES for fitting and scoring alike; `evals.research` then runs as usual
(leave-one-org-out). Research only: nothing here changes what the service runs.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

from alignment.scoring import calibration, link_features


def neighbour_vote(p, k: int) -> np.ndarray:
    score = p.feature("row_z") + p.feature("col_z")
    n = len(p.okrs)
    if n < 3:
        return np.zeros_like(score)
    v = p.stack(p.k_full).astype(np.float64)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    k = min(k, n - 1)
    nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    w = np.maximum(np.take_along_axis(sim, nearest, axis=1), 0.0)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-9)
    return np.einsum("ik,ikj->ij", w, score[nearest])


def install(k: int) -> None:
    link_features.FEATURES = (*link_features.FEATURES, "neighbours")
    link_features.LINK_FEATURES["neighbours"] = lambda p: neighbour_vote(p, k)
    link_features.FEATURE_INPUTS["neighbours"] = ("row_z", "col_z")
    for name in ("DEFAULT", "SMALL_ORG"):
        cal = getattr(calibration, name)
        setattr(calibration, name, replace(cal, weights=(*cal.weights, 0.0)))


def main() -> None:
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        raise SystemExit(__doc__)
    install(int(sys.argv[1]))
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    from evals import research  # after the patch: research reads the patched modules

    research.main()


if __name__ == "__main__":
    main()
