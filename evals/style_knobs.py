"""`evals.research` with one style-sensitive scoring constant changed (issue 11, idea 4).

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.style_knobs KNOB VALUE DEV_DIR...

KNOB is `row_floor` (link_features.ROW_FLOOR, the spread floor of an OKR's row z-score, set on
the original dev style) or `full_weight` (the blend of whole-text and best field-pair cosine).
The change applies to fitting and scoring alike, so the leave-one-org-out figures printed by
`evals.research` are what the engine would reach with that constant. Research only: nothing
here changes what the service runs.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from alignment.scoring import calibration, link_features


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[1] not in ("row_floor", "full_weight"):
        raise SystemExit(__doc__)
    knob, value, sources = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    if knob == "row_floor":
        link_features.ROW_FLOOR = value
    else:
        calibration.DEFAULT = replace(calibration.DEFAULT, full_weight=value)
        link_features.pair_features.__kwdefaults__["full_weight"] = value
    from evals import research  # after the patch: research reads calibration.DEFAULT

    sys.argv = ["evals.research", *sources]
    research.main()


if __name__ == "__main__":
    main()
