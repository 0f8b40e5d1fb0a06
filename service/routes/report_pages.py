"""The report's two pages of the web UI: `/` (organizations, with links to their latest report)
and `/orgs/{id}/report.html` (the latest stored report; a changed organization gets a report job
and a "recomputing" notice, not a wait, with "Cancel this build" for whoever may cancel it:
report_job.py). The JSON and file reads are in `reports`.
"""

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from alignment import organizations, report
from alignment.access import audit
from alignment.access.principal import Principal, Role
from alignment.errors import Conflict, NotFound
from alignment.jobs import enqueue
from alignment.jobs import views as job_views
from alignment.jobs.cancel import cancel
from alignment.models import Job, Organization
from alignment.report import finding_rows, store
from alignment.report.facts import changed_since, decided_since
from alignment.report.page import FindingsView
from service import templating
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import SessionDep, write_nothing
from service.permissions import may_open
from service.routes import report_job
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
    org_id: str,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    view: ViewDep,
    job: int | None = None,
    build: bool = False,
    late: bool = False,
) -> Response:
    """The latest whole-organization report as a page (a filtered run made through the API is
    not the organization's picture), its findings filtered and paginated by the query (kept
    across pages). The page never builds: when there is no run yet, a
    record changed since the shown run, or the report settings changed, a report job is
    queued (joining one already waiting) and the page says it is being recomputed; with no
    run at all it answers 202 with a page that reloads itself. `?job=` follows one report job
    (where its Cancel sends the page): while it waits or runs the page shows it; once it was
    cancelled the page says so and queues no other in that visit (the person just stopped
    one); once it ended otherwise the page says how (built, or failed). A cancel
    stands for every visitor until something is edited or decided, the report settings
    change (report_job.stopped_build), or someone follows the
    notice's "Build it now" (`?build=1`, which queues and sends the page to that job).
    Otherwise the next reload of any open copy of the page would queue the build again.
    `?late=1` (set by the Cancel form's answer only): the cancel found the followed job ended,
    so its notice says there was nothing left to cancel; without it a followed job that ended
    says what it did. Both redirects keep the view's filters and page."""
    org = organizations.require_org(session, org_id)
    refuse_unknown_teams(session, org_id, view)
    followed = report_job.followed_job(session, principal, org_id, job) if job else None
    run = report.latest_run(session, org_id)
    changed = run is None or _outdated(session, run)
    if changed and followed is None and not build:
        followed = report_job.stopped_build(session, principal, org_id)
    building = None
    if followed is not None and followed.status in report_job.PENDING:
        building = followed
    elif changed and (followed is None or followed.status != "cancelled"):
        building = _whole_org_report_job(session, org_id, principal, request)
        if build:  # asked for: follow it, so that a reload does not ask again
            return RedirectResponse(_page_address(org_id, view, job=building.id), status_code=303)
    ticket = request.cookies.get(SESSION_COOKIE)
    token = form_token(ticket) if ticket else None
    notices = [
        report_job.shown_job(j, principal, token)
        for j in dict.fromkeys(j for j in (followed, building) if j is not None)
    ]
    if run is None:
        # 202 while the first report is being built; a cancelled build leaves nothing to wait for.
        waiting = None
        if building is not None:
            seconds = str(templating.RELOAD_SECONDS)
            waiting = {"Location": f"/jobs/{building.id}", "Retry-After": seconds}
        return templating.page(
            "recomputing.html.j2",
            status_code=202 if building else 200,
            headers=waiting,
            org={"id": org.id, "name": org.name},
            notices=notices,
            late=late,
            kept=_kept_query(view),
            waiting=building is not None,
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
    if notices:
        kept = _kept_query(view)
        said = "".join(
            report_job.notice(org_id, n, changed=changed, late=late, kept=kept) for n in notices
        )
        shown = _with_notice(shown, said, waiting=building is not None)
    return shown


@router.post("/orgs/{org_id}/report/jobs/{job_id}/cancel", include_in_schema=False)
def cancel_build(
    org_id: str, job_id: int, session: SessionDep, principal: CurrentPrincipal, view: ViewDep
) -> RedirectResponse:
    """The page's "Cancel this build": cancel the report job it shows, for the signed-in
    person, and show the page following that job (who cancelled it, or that it stops at its
    next step), with the filters the page had (the form's address carries them). A form from a
    page left open after the job ended changes nothing, nor is audited: the page says the job
    had already ended (`late=1`)."""
    if report_job.followed_job(session, principal, org_id, job_id) is None:
        raise NotFound(f"job {job_id} is not a report job of organization {org_id!r}")
    late = False
    try:
        done = cancel(session, job_id, principal=principal)
    except Conflict:  # it ended meanwhile
        write_nothing(session)
        late = True
    else:
        if not done.changed:
            write_nothing(session)
    page = _page_address(org_id, view, job=job_id, late=late)
    return RedirectResponse(page, status_code=303)


def _kept_query(view: FindingsView) -> str:
    """The view's filters and page as a query string without "?" ("" for none), which the
    notice's Cancel form and "build it now" link carry, so that the page they lead back to
    shows what the reader was looking at."""
    return view.query().removeprefix("?")


def _page_address(org_id: str, view: FindingsView, *, job: int, late: bool = False) -> str:
    """The report page following `job`, with the view's filters and page."""
    kept = _kept_query(view)
    page = f"/orgs/{quote(org_id, safe='')}/report.html?{kept + '&' if kept else ''}job={job}"
    return page + ("&late=1" if late else "")


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


def _with_notice(page: Response, said: str, *, waiting: bool) -> Response:
    """The stored run with the notices about its build job (report_job.py) right after
    <body>. While the job waits or runs, the page's script asks the page again every few
    seconds until it comes back without a waiting notice, then reloads, unless the reader
    touched a filter (a reload would wipe the search being typed): then it offers the new
    report as a link. Without JavaScript a meta refresh reloads it."""
    html = page.body.decode("utf-8")
    if waiting:
        seconds = templating.RELOAD_SECONDS
        refresh = f'<noscript><meta http-equiv="refresh" content="{seconds}"></noscript>'
        html = html.replace("</head>", refresh + "</head>", 1)
    html = html.replace("<body>", "<body>" + said, 1)
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
