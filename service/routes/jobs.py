"""Jobs: long work answers 202 with the job's URL; the job is read here until it is done."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from alignment.access.principal import Role
from alignment.errors import NotFound
from alignment.jobs import Enqueued, views
from alignment.jobs.cancel import cancel
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep, write_nothing

router = APIRouter(tags=["jobs"])

ACCEPTED = {
    202: {
        "description": "Accepted: the work runs in the background; follow `Location` "
        "(GET /jobs/{id}) until `status` is `succeeded` (see `result`) or `failed` (`error`)."
    }
}


def accepted(enqueued: Enqueued, response: Response) -> dict[str, Any]:
    """The 202 answer: the job as it is now, where to follow it, and whether this request
    joined an equal job that was already waiting."""
    response.status_code = 202
    response.headers["Location"] = f"/jobs/{enqueued.job.id}"
    return {**views.render(enqueued.job), "deduplicated": enqueued.deduplicated}


@router.get("/jobs/{job_id}")
def get_job(job_id: int, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """One job of the caller's organization (a team lead: the jobs it asked for, and scoring
    jobs, which its writes join: their `Scoring-Job` header names one another person queued)."""
    job = views.get(session, principal.org_id, job_id)
    if not views.visible_to(principal, job):
        raise NotFound(f"job {job_id} not found")
    return views.render(job)


class CancelRequest(BaseModel):
    """Nothing to say: who cancels is the signed-in key, and a body naming anyone
    (`cancelled_by`) is refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")


CANCEL_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The job is cancelled (now, or by an earlier request: it says who)."},
    202: {
        "description": "The job is running: it stops at its next progress point, or before its "
        "work is stored, and ends `cancelled` with nothing kept; follow `Location`. A webhook "
        "delivery under way, whose POST cannot be taken back, is let finish (`succeeded`)."
    },
}


@router.post("/jobs/{job_id}/cancel", responses=CANCEL_ANSWERS)
def cancel_job(
    job_id: int,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    body: CancelRequest | None = None,
) -> dict[str, Any]:
    """Cancel a job: a queued or retrying one at once (no worker runs it), a running one as
    soon as it looks (`cancel_requested: true` until then). An admin cancels any job of its
    organization; anyone else a job it alone asked for, not a scoring job. A finished job is
    a 409; cancelling again answers the same and records nothing new."""
    done = cancel(session, job_id, principal=principal)
    if not done.changed:
        write_nothing(session)  # an earlier cancel stands: nothing changed, nor is audited
    response.headers["Location"] = f"/jobs/{job_id}"
    response.status_code = 200 if done.outcome == "cancelled" else 202
    return {**views.render(done.job), "outcome": done.outcome}


@router.get("/orgs/{org_id}/jobs")
def list_jobs(
    org_id: str,
    session: SessionDep,
    page: PageDep,
    principal: CurrentPrincipal,
    kind: Annotated[
        Literal["import", "score", "report", "draft_suggestions", "draft_summary", "webhook"]
        | None,
        Query(),
    ] = None,
    status: Annotated[
        Literal["queued", "running", "retrying", "succeeded", "failed", "cancelled"] | None,
        Query(),
    ] = None,
) -> dict[str, Any]:
    """The organization's jobs, newest first."""
    mine = principal.name if principal.role is Role.team_lead else None
    rows, total = views.listing(
        session,
        org_id,
        kind=kind,
        status=status,
        requested_by=mine,
        limit=page.limit,
        offset=page.offset,
    )
    return page.envelope([views.render(j) for j in rows], total)
