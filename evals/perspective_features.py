"""The perspective an OKR's team (or the OKR itself) works in, as a link feature: does the
engine gain? (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.perspective_features {team|own|both} DEV_DIR...

Most wrong first picks on dev and dev-styles name an objective of another Balanced Scorecard
perspective than the right one (evals/README.md, "The objective's perspective as a field"). A
gloss of the perspective did not help; here the perspective is learned from the organization
itself. `team`: the teammates' scores (row z + column z, as the `team` feature) averaged over
all objectives of one perspective, so a team whose OKRs serve customer objectives lifts every
customer objective a little for its next OKR. `own`: the OKR's own row z averaged the same way
(an OKR that reads as financial overall). Objectives without a perspective get 0. The feature
is appended to link_features.FEATURES for fitting and scoring alike; `evals.research` then runs
as usual (leave-one-org-out). Research only: nothing here changes what the service runs.
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

from alignment.scoring import calibration, link_features


def _by_perspective(p, score: np.ndarray) -> np.ndarray:
    out = np.zeros_like(score)
    groups: dict[str, list[int]] = {}
    for j, o in enumerate(p.objectives):
        if o.perspective:
            groups.setdefault(o.perspective, []).append(j)
    for cols in groups.values():
        out[:, cols] = score[:, cols].mean(axis=1, keepdims=True)
    return out


def team_perspective(p) -> np.ndarray:
    return _by_perspective(p, link_features._team(p.okrs, p.feature("row_z") + p.feature("col_z")))


def own_perspective(p) -> np.ndarray:
    return _by_perspective(p, p.feature("row_z"))


ADDED = {"team": {"team_persp": team_perspective}, "own": {"own_persp": own_perspective}}
ADDED["both"] = {**ADDED["team"], **ADDED["own"]}


def install(which: str) -> None:
    added = ADDED[which]
    link_features.FEATURES = (*link_features.FEATURES, *added)
    link_features.LINK_FEATURES.update(added)
    for name in added:
        link_features.FEATURE_INPUTS[name] = ("row_z", "col_z")
    zeros = (0.0,) * len(added)
    for name in ("DEFAULT", "SMALL_ORG"):
        cal = getattr(calibration, name)
        setattr(calibration, name, replace(cal, weights=(*cal.weights, *zeros)))


def main() -> None:
    if len(sys.argv) < 3 or sys.argv[1] not in ADDED:
        raise SystemExit(__doc__)
    install(sys.argv[1])
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    from evals import research  # after the patch: research reads the patched modules

    research.main()


if __name__ == "__main__":
    main()
