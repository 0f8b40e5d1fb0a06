"""How each kind of job is scheduled: serial per organization, deduplicated, its queue, its cap.
What each kind does is in `handlers`."""

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
    # Jobs of this kind one requester may have waiting or running in an organization at once.
    # Every organization's jobs share one queue (queue.py gives each a fair share); without a
    # cap, one key asking again and again would still fill it.
    most_waiting: int | None = None
    # The work reaches outside (a webhook's POST): once made it cannot be rolled back, so a
    # cancel asked for while it runs lets it finish (alignment/jobs/cancel.py).
    sends_out: bool = False


KINDS: dict[str, Kind] = {
    # Serial with scoring: an import changes what a running scoring job reads.
    "import": Kind(serial=True, dedupe=False),
    "score": Kind(serial=True, dedupe=True),
    "report": Kind(serial=True, dedupe=True),
    # Five: a person asks for a few drafts (objectives, teams) and reads them; more waiting at
    # once is a script or an impatient retry loop, whose next asks can wait for these.
    "draft_suggestions": Kind(serial=False, dedupe=False, most_waiting=5),
    "draft_summary": Kind(serial=False, dedupe=False, most_waiting=5),
    "webhook": Kind(serial=False, dedupe=False, queue="webhooks", sends_out=True),
}
