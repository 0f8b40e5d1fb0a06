"""Reports for the strategy office: build and store runs, read them as JSON/CSV/HTML, diff two.

"Latest" means one thing everywhere: the organization's newest run without filters, the run
its page shows (`/reports/latest?include_filtered=true` asks for the newest run of any kind).

Building runs as a job (202 + `/jobs/{id}`), never inside a request. Also the two pages of
the tiny web UI: `/` (organizations, with links to their latest report) and
`/orgs/{id}/report.html` (the latest stored report; a changed organization gets a report job
and a "recomputing" notice, not a wait).
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment import report, repository
from alignment.access.principal import Principal, Role
from alignment.bundle.text_rules import LookupId
from alignment.jobs import enqueue
from alignment.jobs import views as job_views
from alignment.models import Job, Organization, Team
from alignment.report import finding_rows, store
from alignment.report.config import body_path, check_filters_in
from alignment.report.facts import changed_since, decided_since
from alignment.report.findings import natural
from alignment.report.page import MAX_PER_PAGE, PER_PAGE, FindingsView, findings_view
from alignment.report.render import content_security_policy
from service import templating
from service.auth import SESSION_COOKIE, CurrentPrincipal, form_token
from service.deps import PageDep, SessionDep
from service.permissions import may_open
from service.rendered import Rendered, rendered
from service.routes.jobs import ACCEPTED, accepted

router = APIRouter(tags=["reports"])
Format = Literal["json", "csv", "html"]
FormatQuery = Annotated[Format, Query(alias="format", description="json (default), csv or html")]
INDEX_MAX_ORGS = 500  # the index says "showing N of M" past this, and points to `GET /orgs`
FORMATS = {200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}}}


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cycle: list[LookupId] = Field(default_factory=list, description="Cycles covered (default all).")
    team: list[LookupId] = Field(
        default_factory=list, description="Only findings about these teams."
    )
    perspective: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list, description="Only these finding kinds.")
    severity: list[str] = Field(default_factory=list)
    as_of: date | None = Field(
        default=None, description="Measure staleness on this day (default: latest check-in)."
    )
    settings: dict[str, Any] | None = Field(
        default=None, description="One-off overrides of the organization's report settings."
    )

    def filters(self) -> report.ReportFilters:
        return report.ReportFilters(
            cycle=tuple(self.cycle),
            team=tuple(self.team),
            perspective=tuple(self.perspective),
            kind=tuple(self.kind),
            severity=tuple(self.severity),
        )


def whole_run_file(run: report.ReportRun, fmt: Format) -> Response:
    """A whole run as a file: CSV, or the self-contained HTML page (every finding)."""
    if fmt == "csv":
        return Response(
            report.to_csv(run),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="report-{run.number}.csv"'},
        )
    return html_response(report.to_html(run))


def html_response(html: str | None) -> HTMLResponse:
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff",
        },
    )


def json_page(session: Session, run: report.ReportRun, view: FindingsView) -> Response:
    """The run's document with one page of its findings, read as rows."""
    shown = finding_rows.read_page(session, run.org_id, run.id, view)
    return JSONResponse(report.page_document(run, shown, view))


async def findings_query(
    page: Annotated[int, Query(ge=1, le=store.MAX_RUN_ID, description="Page of findings.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
    severity: Annotated[str, Query(max_length=40)] = "",
    category: Annotated[str, Query(max_length=40)] = "",
    kind: Annotated[str, Query(max_length=60)] = "",
    team: Annotated[LookupId, Query(max_length=200, description="Findings about this team.")] = "",
    q: Annotated[str, Query(max_length=200, description="Text, id or finding key.")] = "",
) -> FindingsView:
    """Which findings a read lists: the same query on the JSON reads and the page."""
    return findings_view(
        page=page, per_page=per_page, severity=severity, category=category, kind=kind,
        team=team, q=q,
    )  # fmt: skip


ViewDep = Annotated[FindingsView, Depends(findings_query)]


@router.post("/orgs/{org_id}/reports", status_code=202, responses=ACCEPTED)
def create_report(
    org_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    body: ReportIn | None = None,
) -> dict[str, Any]:
    """Queue a job that builds and stores a report run (scoring first if the organization's
    verdicts are stale). 202 with the job; its `result` names the run (`report_id`, `url`).

    The filters and settings are checked now, each error named by its place in this body."""
    body = body or ReportIn()
    # Here, not in the job: building may score first, a long wait for an error found at once.
    repository.require_org(session, org_id)
    check_filters_in(session, org_id, body.filters(), path=body_path)
    if body.settings:
        stored = store.load_settings(session, org_id)
        merged = {**stored, **body.settings}
        report.parse_config(merged, path="$.settings", sent=body.settings)
    job = enqueue(session, org_id, "report", report_params(body), requested_by=principal.name)
    return accepted(job, response)


def report_params(body: ReportIn) -> dict[str, Any]:
    """The job's parameters: only what was given, so equal requests are equal jobs."""
    params: dict[str, Any] = {}
    filters = {k: list(v) for k, v in body.filters().model_dump().items() if v}
    if filters:
        params["filters"] = filters
    if body.as_of:
        params["as_of"] = body.as_of.isoformat()
    if body.settings:
        params["settings"] = body.settings
    return params


@router.get("/orgs/{org_id}/reports")
def list_reports(org_id: str, session: SessionDep, page: PageDep) -> dict[str, Any]:
    """Stored runs, newest first (headers and counts, no findings)."""
    items, total = report.list_runs(session, org_id, limit=page.limit, offset=page.offset)
    return page.envelope(items, total)


@router.get("/orgs/{org_id}/reports/settings")
def get_report_settings(org_id: str, session: SessionDep) -> dict[str, Any]:
    """The organization's stored overrides and the configuration they produce."""
    repository.require_org(session, org_id)
    return {
        "overrides": store.load_settings(session, org_id),
        "effective": report.effective_config(session, org_id).model_dump(mode="json"),
    }


@router.put("/orgs/{org_id}/reports/settings")
def put_report_settings(org_id: str, body: dict[str, Any], session: SessionDep) -> dict[str, Any]:
    """Replace the organization's overrides (any field of the report configuration)."""
    repository.require_org(session, org_id)
    config = report.parse_config(body, sent=body)
    effective = config.model_dump(mode="json")
    overrides = {name: effective[name] for name in body}  # as read: [" Hold", "hold"] -> ["hold"]
    store.save_settings(session, org_id, overrides)
    return {"overrides": overrides, "effective": effective}


@router.get("/orgs/{org_id}/reports/latest", responses=FORMATS)
def latest_report(
    org_id: str,
    session: SessionDep,
    view: ViewDep,
    request: Request,
    fmt: FormatQuery = "json",
    include_filtered: Annotated[
        bool, Query(description="The newest run of any kind, filtered or not.")
    ] = False,
) -> Response:
    """The organization's latest report: its newest run without filters (what its page
    shows); a filtered run made for one question does not replace it.

    JSON lists one page of findings (`findings_page` says which, with links to the next and
    previous pages; the query filters them as the page's do); CSV and HTML are the whole run."""
    ref = store.latest_run_ref(session, org_id, include_filtered=include_filtered)
    if ref is None:
        raise report.NoReport(org_id, include_filtered=include_filtered)
    if fmt == "html":  # a whole-run file, too big and too rarely read to keep
        return whole_run_file(report.get_run(session, org_id, ref.number), fmt)

    def rendering() -> Rendered:
        run = report.get_run(session, org_id, ref.number)
        response = json_page(session, run, view) if fmt == "json" else whole_run_file(run, fmt)
        headers = {k: v for k, v in response.headers.items() if k == "content-disposition"}
        return bytes(response.body), response.media_type or "", headers

    shape = f"json{view.query()}" if fmt == "json" else fmt
    entry = rendered.run(org_id, ref, shape, rendering)
    return entry.response(request.headers)


@router.get("/orgs/{org_id}/reports/{report_id}", responses=FORMATS)
def get_report(
    org_id: str, report_id: int, session: SessionDep, view: ViewDep, fmt: FormatQuery = "json"
) -> Response:
    """One stored run: JSON with one page of findings (as `latest`), or the whole run."""
    run = report.get_run(session, org_id, report_id)
    return json_page(session, run, view) if fmt == "json" else whole_run_file(run, fmt)


@router.get("/orgs/{org_id}/reports/{report_id}/diff")
def diff_reports(
    org_id: str,
    report_id: int,
    session: SessionDep,
    against: Annotated[int, Query(description="The earlier run to compare with.")],
) -> dict[str, Any]:
    """Findings new in this run, resolved since `against`, and unchanged (by finding key)."""
    current = report.get_run(session, org_id, report_id)
    return report.diff_runs(current, report.get_run(session, org_id, against))


# --- the web UI ----------------------------------------------------------------------------


# HEAD too (uptime checks and link previews probe pages that way), kept out of the schema.
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.head("/", response_class=HTMLResponse, include_in_schema=False)
def index(request: Request, session: SessionDep, principal: CurrentPrincipal) -> HTMLResponse:
    only = None if principal.role is Role.platform_admin else principal.org_id
    orgs, total = repository.list_orgs(session, limit=INDEX_MAX_ORGS, offset=0, only=only)
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
        "teams": _team_links(session, org.id, principal),
        "report_id": number,
        "report_created": created.strftime("%Y-%m-%d %H:%M") if created else None,
    }


def _team_links(session: Session, org_id: str, principal: Principal) -> list[dict[str, str]]:
    """The team pages this principal may open: a team lead its own, the deciders every team,
    in natural id order (T-2 before T-10)."""
    if not may_open(principal, "/orgs/{org_id}/team/{team_id}"):
        return []
    teams = session.execute(select(Team.id, Team.name).where(Team.org_id == org_id)).all()
    every = principal.role is not Role.team_lead
    return [
        {"id": t, "name": n}
        for t, n in sorted(teams, key=lambda row: natural(row[0]))
        if every or t in principal.team_ids
    ]


@router.get(
    "/orgs/{org_id}/report.html",
    response_class=HTMLResponse,
    tags=["reports"],
    responses={202: {"description": "No report yet: one is being built; the page reloads."}},
)
def report_page(
    org_id: str, session: SessionDep, principal: CurrentPrincipal, view: ViewDep
) -> Response:
    """The latest whole-organization report as a page (a filtered run made through the API is
    not the organization's picture), its findings filtered and paginated by the query (kept
    across pages). The page never builds: when there is no run yet, a
    record changed since the shown run, or the report settings changed, a report job is
    queued (joining one already waiting) and the page says it is being recomputed; with no
    run at all it answers 202 with a page that reloads itself."""
    org = repository.require_org(session, org_id)
    run = report.latest_run(session, org_id)
    job = None
    if run is None or _outdated(session, run):
        job = _whole_org_report_job(session, org_id, principal)
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
        )
    rows = finding_rows.read_page(session, org_id, run.id, view)
    counts = finding_rows.team_counts(session, org_id, run.id)
    html = report.to_html(run, view, shown=rows, team_counts=counts, may=_report_links(principal))
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


def _whole_org_report_job(session: Session, org_id: str, principal: Principal) -> Job:
    """The job building the organization's next whole report: the one already waiting, or a new
    one. A waiting job with parameters (filters, a date, one-off settings) answers someone's own
    question, not the organization's picture this page shows."""
    job = job_views.pending(session, org_id, "report")
    if job is None or job.params:
        job = enqueue(session, org_id, "report", {}, requested_by=principal.name).job
    return job


def _with_notice(page: Response, job_id: int) -> Response:
    """The stored run, marked as being recomputed (a banner right after <body>). The page
    reloads itself every few seconds (a meta refresh: its policy allows no fetch to poll the
    job) until the new run is in, when it comes back without the banner."""
    banner = (
        '<div role="status" class="recomputing" style="background:#fff4ce;padding:.5em 1em;'
        'border-bottom:1px solid #d8b600">Recomputing: something changed since this report '
        f"was built. Job #{job_id} is building a new one; this page reloads itself every "
        f"{templating.RELOAD_SECONDS} seconds until it is in.</div>"
    )
    refresh = f'<meta http-equiv="refresh" content="{templating.RELOAD_SECONDS}">'
    html = page.body.decode("utf-8").replace("</head>", refresh + "</head>", 1)
    html = html.replace("<body>", "<body>" + banner, 1)
    headers = {k: v for k, v in page.headers.items() if k.lower() != "content-length"}
    return HTMLResponse(html, headers=headers)


# HEAD answers whether the page is there without building or storing anything.
@router.head("/orgs/{org_id}/report.html", response_class=HTMLResponse, include_in_schema=False)
def report_page_head(org_id: str, session: SessionDep) -> Response:
    repository.require_org(session, org_id)
    return html_response(None)


def _outdated(session: Session, run: report.ReportRun) -> bool:
    """Whether the run no longer shows the organization: its settings or records changed."""
    settings = report.effective_config(session, run.org_id).model_dump(mode="json")
    # confirmed_at: an edit a later build found to change nothing does not ask again.
    return (
        run.config != settings
        or changed_since(session, run.org_id, run.confirmed_at)
        or decided_since(session, run.org_id, run.confirmed_at)
    )
