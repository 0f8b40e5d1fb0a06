"""The report page's build job, as the page shows it: the notice above the report (building,
being cancelled, cancelled, or already ended), with "Cancel" for whoever may cancel it.

The page follows one job by its address (`?job=`, where its Cancel form sends it back), as the
team page follows a drafting job; without it, the page shows the job it queued or joined. Who
may cancel is the job's own rule (alignment/jobs/cancel.py), the one `POST /jobs/{id}/cancel`
applies, for the signed-in person. The form carries the page's CSRF token like every form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment import report
from alignment.access.principal import Principal
from alignment.errors import NotFound
from alignment.jobs import views as job_views
from alignment.jobs.cancel import WAITING, may_cancel
from alignment.models import Job
from alignment.report.facts import changed_since, decided_since
from alignment.report.store import ReportSettings
from service import templating
from service.routes.forms import decided_at_text

PENDING = (*WAITING, "running")
# Report jobs looked through for the newest whole-organization one (the rest answer someone's
# filtered question through the API).
RECENT = 50


def followed_job(session: Session, principal: Principal, org_id: str, job_id: int) -> Job | None:
    """The whole-organization report job `?job=` names, or None when it is not one this page
    shows: another kind, a report with filters (someone's own question, not this page's
    picture), or a job the person may not read."""
    try:
        job = job_views.get(session, org_id, job_id)
    except NotFound:
        return None
    if job.kind != "report" or job.params or not job_views.visible_to(principal, job):
        return None
    return job


def stopped_build(session: Session, principal: Principal, org_id: str) -> Job | None:
    """The organization's newest whole-organization report job, when a person cancelled it and
    nothing was edited or decided since, nor the report settings changed: a page opened
    meanwhile (another tab, a colleague's page reloading itself) shows that cancel instead of
    queueing the build again, which would undo the cancel within seconds and credit the new
    build to whoever's page reloaded. The page's "Build it now" link (`?build=1`) or any change
    queues the next one."""
    newest = session.scalars(
        select(Job)
        .where(Job.org_id == org_id, Job.kind == "report")
        .order_by(Job.id.desc())
        .limit(RECENT)
    )
    job = next((j for j in newest if not j.params), None)
    if job is None or job.status != "cancelled" or job.finished_at is None:
        return None
    if changed_since(session, org_id, job.finished_at):
        return None
    if decided_since(session, org_id, job.finished_at):
        return None
    if settings_changed_since(session, org_id, job.finished_at):
        return None
    return job if job_views.visible_to(principal, job) else None


def settings_changed_since(session: Session, org_id: str, since: datetime) -> bool:
    """Whether the report settings were stored after `since` and differ from what the
    organization's latest whole report was built with (any stored settings count when there is
    no report yet): a PUT that stores the settings the report already has changes nothing."""
    stored = session.get(ReportSettings, org_id)
    if stored is None or stored.updated_at <= since:
        return False
    run = report.latest_run(session, org_id)
    if run is None:
        return True
    return run.config != report.effective_config(session, org_id).model_dump(mode="json")


def shown_job(job: Job, principal: Principal, token: str | None) -> dict[str, Any]:
    """What the notice says of `job`; `token`: the form's CSRF token (None for a key sent as
    a header, which has no form to post and cancels through the API)."""
    return {
        "id": job.id,
        "status": job.status,
        "pending": job.status in PENDING,
        "progress_label": job.progress_label,
        "cancel_requested_by": job.cancel_requested_by if job.cancel_requested_at else None,
        "cancelled_by": job.cancelled_by,
        "ended_at_text": decided_at_text(job.finished_at) if job.finished_at else None,
        "may_cancel": token is not None and may_cancel(principal, job),
        "token": token,
    }


def notice(
    org_id: str, job: dict[str, Any], *, changed: bool, late: bool = False, kept: str = ""
) -> str:
    """The notice as HTML (autoescaped); `changed`: the shown run no longer shows the
    organization, which is why the job builds; `late`: a Cancel found the job already ended
    (only then "nothing left to cancel"); `kept`: the view's query ("kind=orphan_okr"), which
    the Cancel form and the "build it now" link carry back to the page."""
    return (
        templating.templates()
        .get_template("_report_job.html.j2")
        .render(org_id=org_id, job=job, changed=changed, late=late, kept=kept)
    )
