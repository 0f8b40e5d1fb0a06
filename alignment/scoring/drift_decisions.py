"""People's verdicts on check-ins: they outrank the drift score while what they judged holds.

A person decides whether a check-in is about its OKR (`on_topic`) or about other work
(`drifting`), usually one the engine was unsure about (verdict `needs_review`). The decision
is kept while the check-in's text and the OKR and key result it is filed under are what they
were (`judged_hash`); move or reword the check-in and the engine decides again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from alignment.models import content_hash
from alignment.scoring.drift import DriftItem, DriftScore

PEOPLE_VERDICTS = ("drifting", "on_topic")


def judged_hash(text: str, okr_id: str, key_result_id: str | None) -> str:
    return content_hash(text, okr_id, key_result_id or "")


def item_hash(item: DriftItem) -> str:
    return judged_hash(item.text, item.okr.id, item.key_result.id if item.key_result else None)


def apply_decisions(
    scores: Sequence[DriftScore],
    items: Sequence[DriftItem],
    decisions: Mapping[str, tuple[str, str, str]],
) -> list[DriftScore]:
    """`decisions`: check-in id -> (verdict, the hash judged, who decided). A decision on a
    check-in whose text or place has changed since is ignored."""
    current = {it.id: item_hash(it) for it in items}
    out = []
    for s in scores:
        verdict, judged, who = decisions.get(s.checkin_id, (None, None, None))
        if verdict in PEOPLE_VERDICTS and current.get(s.checkin_id) == judged:
            s = replace(s, verdict=verdict, drifting=verdict == "drifting", decided_by=who)
        out.append(s)
    return out
