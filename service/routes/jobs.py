"""Jobs: long work answers 202 with the job's URL; the job is read here until it is done."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from alignment.access.principal import Role
from alignment.errors import NotFound
from alignment.jobs import Enqueued, views
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep

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
    shared = job.kind == "score"  # organization-wide figures a team lead reads anyway
    if principal.role is Role.team_lead and job.requested_by != principal.name and not shared:
        raise NotFound(f"job {job_id} not found")
    return views.render(job)


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
        Literal["queued", "running", "retrying", "succeeded", "failed"] | None, Query()
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
