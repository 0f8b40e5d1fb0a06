"""Stable verdicts: a rescoring does not relabel an OKR nothing about which has changed.

Scores are relative to the organization (z-scores across OKRs, teammates, the organization's
own spread), so adding, editing or approving one OKR moves every other OKR's scores a little,
and a score near a threshold could flip an unrelated OKR's verdict. People learn to ignore a
report whose verdicts change for no reason of their own. So a link keeps its stored label
while its OKR's text (`okr_hash`) and its context (the objectives, the calibration, the model:
`context_hash`) are what they were when the label was decided; its score is always the new one.
An OKR's context also holds the objectives people decided for its teammates, which move its
scores on purpose (team_decisions.py). Anything that changes either decides the OKR's labels
afresh; people's verdicts still override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace

from alignment.models import content_hash
from alignment.scoring.calibration import Calibration
from alignment.scoring.documents import Link, ObjectiveDoc, OkrDoc
from alignment.scoring.team_decisions import TeamVotes


def context_fingerprint(
    objectives: Sequence[ObjectiveDoc], calibrations: Sequence[Calibration], model: str
) -> str:
    """`calibrations`: the links' and the orphan rule's (calibration_for and
    orphan_calibration_for)."""
    parts = sorted("\x1f".join((o.id, o.title, o.description or "", *o.kpis)) for o in objectives)
    # Empty fields (a linear map has no products, the plain one no feature names) are left out,
    # and one calibration serving both (SMALL_ORG) is hashed alone: a context keeps the hash it
    # had before those fields, and the second calibration, existed, so stored labels are not
    # decided afresh for nothing.
    fields = [sorted((k, v) for k, v in asdict(c).items() if v != ()) for c in calibrations]
    one = all(f == fields[0] for f in fields)
    return content_hash(model, repr(fields[0] if one else fields), *parts)


def okr_contexts(okrs: Sequence[OkrDoc], context: str, votes: TeamVotes) -> dict[str, str]:
    """okr id -> its context hash: the organization's, plus its team's decided objectives."""
    return {
        o.id: content_hash(context, *moved) if (moved := votes.of(o.id)) else context for o in okrs
    }


def keep_earlier_labels(
    links: Mapping[str, list[Link]], earlier: Mapping[tuple[str, str], str]
) -> dict[str, list[Link]]:
    """`earlier`: (OKR, objective) -> the stored label, only for OKRs whose text and context
    did not change. A pair that was not stored before keeps its new label."""
    out: dict[str, list[Link]] = {}
    for okr_id, ranked in links.items():
        out[okr_id] = [
            replace(link, label=earlier[(okr_id, link.objective_id)])
            if (okr_id, link.objective_id) in earlier
            and earlier[(okr_id, link.objective_id)] != link.label
            else link
            for link in ranked
        ]
    return out
