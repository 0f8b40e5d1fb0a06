"""The report's two pages of the web UI: `/` (organizations, with links to their latest report)
and `/orgs/{id}/report.html` (the latest stored report; a changed organization gets a report job
and a "recomputing" notice, not a wait). The JSON and file reads are in `reports`.
"""

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from alignment import organizations, report
from alignment.access import audit
from alignment.access.principal import Principal, Role
from alignment.jobs import enqueue
from alignment.jobs import views as job_views
from alignment.models import Job, Organization
from alignment.report import finding_rows, store
from alignment.report.facts import changed_since, decided_since
from service import templating
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep
from service.permissions import may_open
from service.routes.nav import org_nav, team_links
from service.routes.reports import ViewDep, html_response, refuse_unknown_teams

router = APIRouter(tags=["reports"])
INDEX_MAX_ORGS = 500  # the index says "showing N of M" past this, and points to `GET /orgs`


# HEAD too (uptime checks and link previews probe pages that way), kept out of the schema.
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.head("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, session: SessionDep, principal: CurrentPrincipal) -> HTMLResponse:
    only = None if principal.role is Role.platform_admin else principal.org_id
    orgs, total = organizations.list_orgs(session, limit=INDEX_MAX_ORGS, offset=0, only=only)
    latest = store.latest_runs(session)
    # A link the role may not follow would only answer 403: the page leaves it out.
    may = {
        "map": may_open(principal, "/orgs/{org_id}/strategy-map"),
        "report": may_open(principal, "/orgs/{org_id}/report.html"),
        "downloads": may_open(principal, "/orgs/{org_id}/reports/{report_id}"),
        "review": may_open(principal, "/orgs/{org_id}/review"),
    }
    ticket = request.cookies.get(SESSION_COOKIE)
    return templating.page(
        "index.html.j2",
        orgs=[_org_row(session, o, principal, latest.get(o.id)) for o in orgs],
        total=total,
        may=may,
        signed_in=principal.name,
        sign_out_token=form_token(ticket) if ticket else None,
    )


def _org_row(
    session: Session, org: Organization, principal: Principal, latest: tuple[int, datetime] | None
) -> dict[str, Any]:
    """One organization on the index: its team pages and its latest report (number, created)."""
    number, created = latest or (None, None)
    return {
        "id": org.id,
        "name": org.name,
        "teams": team_links(session, org.id, principal),
        "report_id": number,
        "report_created": created.strftime("%Y-%m-%d %H:%M") if created else None,
    }


@router.get(
    "/orgs/{org_id}/report.html",
    response_class=HTMLResponse,
    tags=["reports"],
    responses={202: {"description": "No report yet: one is being built; the page reloads."}},
)
def report_page(
    org_id: str, request: Request, session: SessionDep, principal: CurrentPrincipal, view: ViewDep
) -> Response:
    """The latest whole-organization report as a page (a filtered run made through the API is
    not the organization's picture), its findings filtered and paginated by the query (kept
    across pages). The page never builds: when there is no run yet, a
    record changed since the shown run, or the report settings changed, a report job is
    queued (joining one already waiting) and the page says it is being recomputed; with no
    run at all it answers 202 with a page that reloads itself."""
    org = organizations.require_org(session, org_id)
    refuse_unknown_teams(session, org_id, view)
    run = report.latest_run(session, org_id)
    job = None
    if run is None or _outdated(session, run):
        job = _whole_org_report_job(session, org_id, principal, request)
    if run is None:
        return templating.page(
            "recomputing.html.j2",
            status_code=202,
            headers={
                "Location": f"/jobs/{job.id}" if job else "",
                "Retry-After": str(templating.RELOAD_SECONDS),
            },
            org={"id": org.id, "name": org.name},
            job=job,
            nav=org_nav(session, principal, org_id, "report"),
        )
    rows = finding_rows.read_page(session, org_id, run.id, view)
    counts = finding_rows.team_counts(session, org_id, run.id)
    html = report.to_html(
        run,
        view,
        shown=rows,
        team_counts=counts,
        may=_report_links(principal),
        team_pages=team_links(session, org_id, principal),
        signed_in=principal.name,
    )
    shown = html_response(html)
    # As every page (templating.page): a signed-in person's data, kept in no cache.
    shown.headers["Cache-Control"] = "no-store"
    if job is not None:
        shown = _with_notice(shown, job.id)
    return shown


def _report_links(principal: Principal) -> dict[str, bool]:
    """The pages the report may link for this reader: the ones its role may open (an
    integration key reads the report, not the OKR, objective, team or review pages)."""
    return {
        "okr": may_open(principal, "/orgs/{org_id}/okr/{okr_id}"),
        "objective": may_open(principal, "/orgs/{org_id}/objective/{objective_id}"),
        "team": may_open(principal, "/orgs/{org_id}/team/{team_id}"),
        "map": may_open(principal, "/orgs/{org_id}/strategy-map"),
        "review": may_open(principal, "/orgs/{org_id}/review"),
    }


def _whole_org_report_job(
    session: Session, org_id: str, principal: Principal, request: Request
) -> Job:
    """The job building the organization's next whole report: the one already waiting, or a new
    one. A waiting job with parameters (filters, a date, one-off settings) answers someone's own
    question, not the organization's picture this page shows."""
    job = job_views.pending(session, org_id, "report")
    if job is None or job.params:
        job = enqueue(session, org_id, "report", {}, requested_by=principal.name).job
        _audit_queued(session, principal, request, job)
    return job


def _audit_queued(session: Session, principal: Principal, request: Request, job: Job) -> None:
    """A GET that queued work wrote, as `POST /orgs/{org_id}/reports` does: its entry, which
    `authorize` adds only for the write methods, in the same transaction as the job. It names
    the job (as a create's entry names what it made). A page that served the stored run, or
    showed the job already waiting, wrote nothing and has none."""
    audit.record(
        session,
        principal,
        f"{request.method} {request.scope['route'].path}",
        org_id=job.org_id,
        record=f"/jobs/{job.id}",
        details={k: v for k, v in request.query_params.items() if k != "csrf"} or None,
        request_id=request.scope.get("state", {}).get("request_id"),
    )


def _with_notice(page: Response, job_id: int) -> Response:
    """The stored run, marked as being recomputed (a banner right after <body>). The page's
    script asks the page again every few seconds until it comes back without the banner, then
    reloads, unless the reader touched a filter (a reload would wipe the search being typed):
    then it offers the new report as a link. Without JavaScript a meta refresh reloads it."""
    seconds = templating.RELOAD_SECONDS
    banner = (
        f'<div role="status" class="recomputing" data-wait-seconds="{seconds}" '
        'style="background:#fff4ce;padding:.5em 1em;border-bottom:1px solid #d8b600">'
        f"Recomputing: something changed since this report was built. Job #{job_id} is "
        f"building a new one; <span data-wait>this page reloads itself every {seconds} "
        "seconds until it is in.</span></div>"
    )
    refresh = f'<noscript><meta http-equiv="refresh" content="{seconds}"></noscript>'
    html = page.body.decode("utf-8").replace("</head>", refresh + "</head>", 1)
    html = html.replace("<body>", "<body>" + banner, 1)
    headers = {k: v for k, v in page.headers.items() if k.lower() != "content-length"}
    return HTMLResponse(html, headers=headers)


# HEAD answers whether the page is there without building or storing anything.
@router.head("/orgs/{org_id}/report.html", response_class=HTMLResponse, include_in_schema=False)
def report_page_head(org_id: str, session: SessionDep) -> Response:
    organizations.require_org(session, org_id)
    answer = html_response(None)
    # No length: the GET's is not known without building the page, and a 0 would be false.
    del answer.headers["content-length"]
    answer.headers["Cache-Control"] = "no-store"  # as the GET's page
    return answer


def _outdated(session: Session, run: report.ReportRun) -> bool:
    """Whether the run no longer shows the organization: its settings or records changed."""
    settings = report.effective_config(session, run.org_id).model_dump(mode="json")
    # confirmed_at: an edit a later build found to change nothing does not ask again.
    return (
        run.config != settings
        or changed_since(session, run.org_id, run.confirmed_at)
        or decided_since(session, run.org_id, run.confirmed_at)
    )
