"""What each kind of job does, and how it is scheduled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    # One such job per organization runs at a time (procrastinate lock): scoring replaces
    # every verdict, and a report reads them.
    serial: bool
    # A newer request joins an equal queued job (see enqueue.dedupe_key).
    dedupe: bool
    queue: str = "work"


KINDS: dict[str, Kind] = {
    # Serial with scoring: an import changes what a running scoring job reads.
    "import": Kind(serial=True, dedupe=False),
    "score": Kind(serial=True, dedupe=True),
    "report": Kind(serial=True, dedupe=True),
    "draft_suggestions": Kind(serial=False, dedupe=False),
    "draft_summary": Kind(serial=False, dedupe=False),
    "webhook": Kind(serial=False, dedupe=False, queue="webhooks"),
}
