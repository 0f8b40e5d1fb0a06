"""What each kind of job does. A handler runs inside the job's transaction and returns the
small result `GET /jobs/{id}` shows (ids and links to the full result, not the result)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from alignment.errors import NotFound
from alignment.models import Job

if TYPE_CHECKING:
    from pydantic import BaseModel

    from alignment.jobs.execute import Services

JobProgress = Callable[[int, int, str], None]
Handler = Callable[[Session, Job, "Services", JobProgress], dict[str, Any]]


def _org_url(org_id: str) -> str:
    return f"/orgs/{quote(org_id, safe='')}"


# The steps `ingest.import_bundle` reports: cycles, teams, objectives, OKRs, check-ins.
IMPORT_STEPS = 5


def import_bundle(
    session: Session, job: Job, services: Services, progress: JobProgress
) -> dict[str, Any]:
    """A bundle posted with `?background=true`: imported as `POST /bundles` would, then its
    upload removed, all in the job's transaction (a retry after a crash imports it again,
    which changes nothing the first attempt committed, since it committed nothing)."""
    from alignment.imports import import_document
    from alignment.jobs import SCORE_PARAMS, enqueue
    from alignment.models import BundleUpload

    upload = session.get(BundleUpload, job.params["upload"])
    if upload is None:
        raise NotFound(f"bundle upload {job.params['upload']} is gone (already imported?)")
    steps = [0]

    def on_step(label: str, _count: int) -> None:
        steps[0] = min(steps[0] + 1, IMPORT_STEPS)
        progress(steps[0], IMPORT_STEPS, f"imported {label}")

    progress(0, IMPORT_STEPS, "checking the bundle")
    summary = import_document(
        session,
        upload.body,
        prune=upload.prune,
        for_org=job.org_id,
        progress=on_step,
        # Queued before the rule existed: as its import was then.
        may_rename=job.params.get("may_rename", True),
    )
    session.delete(upload)
    out = summary.as_dict()
    if summary.changed:
        scoring = enqueue(session, job.org_id, "score", SCORE_PARAMS, requested_by=job.requested_by)
        out["scoring_job"] = f"/jobs/{scoring.job.id}"
    return out


# The phases of a score job, as its progress `label`; each counts from zero (docs/jobs.md).
EMBEDDING = "embedding texts"
ADJUDICATING = "adjudicating close calls"


def score(session: Session, job: Job, services: Services, progress: JobProgress) -> dict[str, Any]:
    """Scoring sends `okr.misaligned` for the orphans it makes (stage.py), whichever path
    scores. A job whose work a run already did (a report that scored first saw it waiting)
    succeeds without scoring again, and says so (scoring/runs.py)."""
    from alignment.adjudicate import configured_adjudicator
    from alignment.scoring.runs import covering_run, skipped_result
    from alignment.scoring.stage import score_organization

    run = covering_run(session, job, services.embedder.model_name)
    if run is not None:
        return skipped_result(run)
    adjudicator = None
    if job.params.get("adjudicate"):
        adjudicator = configured_adjudicator(job.params.get("adjudicate_max_calls", 25))
        adjudicator.progress = _model_calls(progress)
    summary = score_organization(
        session,
        job.org_id,
        embedder=services.embedder,
        adjudicator=adjudicator,
        progress=lambda done, total: progress(done, total, EMBEDDING),
    )
    return summary.as_dict()


def _model_calls(progress: JobProgress) -> Callable[[int, int], None]:
    """The LLM pass counts its model calls, after every text is embedded (stage.py): without
    this the job would show the finished embedding count for as long as the model is asked."""

    def report(done: int, total: int) -> None:
        # Nothing to ask: the embedding count stands, and is what the finished job shows.
        if total:
            progress(done, total, ADJUDICATING)

    return report


# The stages `report.build_report` announces, in order; the first only when it must score.
REPORT_STAGES = (
    "scoring (embedding new texts)",
    "reading records and verdicts",
    "collecting findings",
    "summarizing",
    "storing the run",
)


def report(session: Session, job: Job, services: Services, progress: JobProgress) -> dict[str, Any]:
    from alignment import report as reports
    from alignment.webhooks import emit

    p = job.params
    reached = [0]

    def on_stage(label: str) -> None:
        # A stage the build skips (no scoring needed) counts as done once a later one starts.
        if label in REPORT_STAGES:
            reached[0] = REPORT_STAGES.index(label)
        progress(reached[0], len(REPORT_STAGES), label)

    run = reports.build_report(
        session,
        job.org_id,
        embedder=services.embedder,
        filters=reports.ReportFilters(**{k: tuple(v) for k, v in p.get("filters", {}).items()}),
        as_of=date.fromisoformat(p["as_of"]) if p.get("as_of") else None,
        overrides=p.get("settings"),
        on_stage=on_stage,
    )
    # A build that says what the newest run with its filters says returns that run: `reused`.
    url = f"{_org_url(job.org_id)}/reports/{run.number}"
    result = {
        "report_id": run.number,
        "url": url,
        "findings": run.summary["counts"]["findings"],  # without reading them back
        "reused": run.reused,
    }
    # Sent for a reused run too: the report asked for is ready, and `reused` tells a
    # subscriber that fetches only new runs that it may skip this one (docs/jobs.md).
    emit(session, job.org_id, "report.completed", result)
    return result


def _drafting(kind: str) -> Handler:
    """The handler of a drafting job: the request it stores, validated again, then drafted."""

    def handler(session: Session, job: Job, services: Services, progress: JobProgress) -> dict:
        from alignment import abandonable
        from alignment.drafting import draft
        from alignment.drafting.schemas import SuggestionRequest, SummaryRequest
        from alignment.jobs.cancel import stop_if_cancel_requested

        by_kind: dict[str, tuple[type[BaseModel], Callable[..., Any]]] = {
            "suggestions": (SuggestionRequest, draft.draft_suggestions),
            "summary": (SummaryRequest, draft.draft_summary),
        }
        request_model, make = by_kind[kind]
        request = request_model.model_validate(job.params)
        # Counting no steps, the job would look only once the model has answered: it looks
        # while it waits instead, and a cancel abandons the call (abandonable.py).
        from alignment.drafting.offline_suggestions import NothingToSuggest

        try:
            with abandonable.looking(lambda: stop_if_cancel_requested(session, job.id)):
                made = make(
                    session,
                    job.org_id,
                    request,
                    drafter=services.drafter,
                    embedder=services.embedder,
                )
        except NothingToSuggest as declined:
            # An answer, not a failure: the job succeeds with the reason, nothing is stored,
            # and no `draft.created` is sent.
            return declined.declined()
        return _drafted(session, job, made)

    return handler


def _drafted(session: Session, job: Job, draft: Any) -> dict[str, Any]:
    from alignment.webhooks import emit

    result = {
        "draft_id": draft.id,
        "status": draft.status,
        "team": draft.team_id,
        "url": f"{_org_url(job.org_id)}/drafts/{quote(draft.id, safe='')}",
    }
    if draft.repeated:
        # An identical pending draft answered the repeated request: nothing new was created.
        return {**result, "repeated": True}
    emit(session, job.org_id, "draft.created", result)
    return result


def webhook(
    session: Session, job: Job, services: Services, progress: JobProgress
) -> dict[str, Any]:
    from alignment.webhooks.deliver import deliver

    return deliver(session, job.params["delivery_id"])


def webhook_failed(session: Session, job: Job, exc: BaseException, final: bool) -> None:
    from alignment.webhooks.deliver import record_failure

    record_failure(session, job.params["delivery_id"], exc, final=final)


HANDLERS: dict[str, Handler] = {
    "import": import_bundle,
    "score": score,
    "report": report,
    "draft_suggestions": _drafting("suggestions"),
    "draft_summary": _drafting("summary"),
    "webhook": webhook,
}


def import_failed(session: Session, job: Job, exc: BaseException, final: bool) -> None:
    """A bundle that breaks rules fails its job with every problem by path, as `POST /bundles`
    answers them; the upload is kept for a retry only while one is coming."""
    from alignment.models import BundleUpload

    details = getattr(exc, "details", None)
    if final:
        job.result = {"details": details} if details else None
        upload = session.get(BundleUpload, job.params["upload"])
        if upload is not None:
            session.delete(upload)


# Run in a fresh transaction after a failed attempt (the attempt's own rolled back).
ON_FAILURE: dict[str, Callable[[Session, Job, BaseException, bool], None]] = {
    "import": import_failed,
    "webhook": webhook_failed,
}


def import_cancelled(session: Session, job: Job) -> None:
    """A cancelled import imports nothing: its upload is not kept for a retry."""
    from alignment.models import BundleUpload

    upload = session.get(BundleUpload, job.params["upload"])
    if upload is not None:
        session.delete(upload)


def webhook_cancelled(session: Session, job: Job) -> None:
    """A cancelled delivery is not made (or, made already, not made again): its log says so."""
    from alignment.models import WebhookDelivery

    delivery = session.get(WebhookDelivery, job.params["delivery_id"])
    if delivery is not None and delivery.status == "pending":
        delivery.status = "failed"
        delivery.last_error = f"cancelled by {job.cancelled_by}"


# Run in the transaction that marks a job cancelled (its work's, if it ran, rolled back).
ON_CANCEL: dict[str, Callable[[Session, Job], None]] = {
    "import": import_cancelled,
    "webhook": webhook_cancelled,
}
