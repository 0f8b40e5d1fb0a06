"""Three verdicts per OKR: `aligned`, `needs_review` (the engine is unsure) or `orphan`.

An OKR is aligned when at least one objective is labelled `aligned`; an orphan only when even
its best objective is below the `weak` threshold; in between (its best match is `weak`: close
to the line or short of the margin) the engine is unsure and a person should look, so it goes to
the review queue instead of being reported as an orphan.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

OkrVerdict = Literal["aligned", "needs_review", "orphan"]


def okr_verdict(labels: Sequence[str | None]) -> OkrVerdict:
    """`labels`: the OKR's link labels, best-ranked first ("aligned" | "weak" | "none")."""
    if "aligned" in labels:
        return "aligned"
    if labels and labels[0] == "weak":
        return "needs_review"
    return "orphan"
