"""Every organization's jobs share one queue; an organization's n-th waiting job runs after
every other organization's first n (alignment/jobs/queue.py), not after all of them."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from alignment.bundle import parse_bundle
from alignment.ingest import import_bundle
from alignment.jobs import SCORE_PARAMS, enqueue
from tests.factories import small_bundle

ASK = {"team": "T-1", "objectives": ["SO-1"]}


def _queued(session: Session, org: str, kind: str, params: dict, who: str) -> int:
    return enqueue(session, org, kind, params, requested_by=who).job.queue_job_id


def test_a_busy_organization_waits_for_its_own_work_not_everyone_elses(session: Session) -> None:
    for org in ("busy", "quiet"):
        import_bundle(session, parse_bundle(small_bundle(org)))
    busy = [_queued(session, "busy", "draft_suggestions", ASK, f"lead-{n}") for n in range(3)]
    busy.append(_queued(session, "busy", "score", SCORE_PARAMS, "office"))
    quiet = _queued(session, "quiet", "draft_suggestions", ASK, "lead")
    queues = {
        row.queue_name
        for row in session.execute(
            text("SELECT queue_name FROM procrastinate_jobs WHERE id = ANY(:ids)"),
            {"ids": [*busy, quiet]},
        )
    }
    assert queues == {"work"}
    # The order procrastinate's fetch takes them in (priority first, then the oldest).
    order = session.scalars(
        text(
            "SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids) ORDER BY priority DESC, id ASC"
        ),
        {"ids": [*busy, quiet]},
    ).all()
    assert order == [busy[0], quiet, busy[1], busy[2], busy[3]]
    assert "ORDER BY jobs.priority DESC, jobs.id ASC" in _fetch_function(session)


def _fetch_function(session: Session) -> str:
    return session.scalar(text("SELECT pg_get_functiondef('procrastinate_fetch_job_v2'::regproc)"))


def test_jobs_sharing_a_lock_keep_the_order_they_were_asked_in(session: Session) -> None:
    """Waiting jobs that finish must not lift a later import above an earlier one: the older
    bundle would be applied last."""
    import_bundle(session, parse_bundle(small_bundle("busy")))
    drafts = [_queued(session, "busy", "draft_suggestions", ASK, f"lead-{n}") for n in range(3)]
    first = _queued(session, "busy", "import", {"upload": 1}, "tool")
    session.execute(  # the drafts ran
        text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = ANY(:ids)"),
        {"ids": drafts},
    )
    session.execute(
        text("UPDATE jobs SET status = 'succeeded' WHERE queue_job_id = ANY(:ids)"),
        {"ids": drafts},
    )
    second = _queued(session, "busy", "import", {"upload": 2}, "tool")
    order = session.scalars(
        text(
            "SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids) ORDER BY priority DESC, id ASC"
        ),
        {"ids": [first, second]},
    ).all()
    assert order == [first, second]
