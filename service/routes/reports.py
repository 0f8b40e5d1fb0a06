"""Reports for the strategy office: build and store runs, read them as JSON/CSV/HTML, diff two.

"Latest" means one thing everywhere: the organization's newest run without filters, the run
its page shows (`/reports/latest?include_filtered=true` asks for the newest run of any kind).

Building runs as a job (202 + `/jobs/{id}`), never inside a request. The report's pages of
the web UI (`/`, `/orgs/{id}/report.html`) are in `report_pages`.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from alignment import report, repository
from alignment.bundle.schema import Date
from alignment.bundle.text_rules import LookupId
from alignment.errors import NotFound
from alignment.jobs import enqueue
from alignment.models import Team
from alignment.report import finding_rows, store
from alignment.report.config import body_path, check_filters_in
from alignment.report.page import MAX_PER_PAGE, PER_PAGE, FindingsView, findings_view
from alignment.report.render import content_security_policy
from alignment.settings import get_settings
from service.auth import CurrentPrincipal
from service.deps import PageDep, SessionDep
from service.rendered import Rendered, rendered
from service.routes.jobs import ACCEPTED, accepted

router = APIRouter(tags=["reports"])
Format = Literal["json", "csv", "html"]
FormatQuery = Annotated[Format, Query(alias="format", description="json (default), csv or html")]
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
    as_of: Date | None = Field(
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


def whole_run_file(run: report.ReportRun, fmt: Format, request: Request) -> Response:
    """A whole run as a file: CSV, or the self-contained HTML page (every finding), whose links
    name this service, so they still lead here from a saved file: GOLDENTHREAD_PUBLIC_URL, else
    the request's address (its Host, and the scheme uvicorn read, trusting X-Forwarded-Proto
    only from FORWARDED_ALLOW_IPS; behind a proxy that rewrites Host, set the setting)."""
    if fmt == "csv":
        return Response(
            report.to_csv(run),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="report-{run.number}.csv"'},
        )
    site = get_settings().service.public_url or str(request.base_url)
    return html_response(report.to_html(run, site=site))


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


# A filter may be repeated (`?kind=a&kind=b`), as the POST body takes a list; each value as the
# single one was bounded.
Kinds = list[Annotated[str, StringConstraints(max_length=60)]]
Named = list[Annotated[str, StringConstraints(max_length=40)]]
TeamIds = list[Annotated[LookupId, StringConstraints(max_length=200)]]


async def findings_query(
    page: Annotated[int, Query(ge=1, le=store.MAX_RUN_ID, description="Page of findings.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = PER_PAGE,
    severity: Annotated[Named, Query(description="Repeat for several.")] = [],  # noqa: B006
    category: Annotated[Named, Query(description="Repeat for several.")] = [],  # noqa: B006
    kind: Annotated[Kinds, Query(description="Repeat for several.")] = [],  # noqa: B006
    team: Annotated[
        TeamIds, Query(description="Findings about these teams (repeat for several).")
    ] = [],  # noqa: B006
    perspective: Annotated[
        Named, Query(description="Findings about these perspectives (repeat for several).")
    ] = [],  # noqa: B006
    q: Annotated[str, Query(max_length=200, description="Text, id or finding key.")] = "",
) -> FindingsView:
    """Which findings a read lists: the same query on the JSON reads and the page."""
    return findings_view(
        page=page, per_page=per_page, severity=severity, category=category, kind=kind,
        team=team, perspective=perspective, q=q,
    )  # fmt: skip


def refuse_unknown_teams(session: Session, org_id: str, view: FindingsView) -> None:
    """A team filter naming no team of the organization is a 422 at `query.team`, as the
    record lists and `POST /reports` refuse one, not an empty list that reads as "no findings
    about it". Run once the organization is known to exist (an unknown one is a 404)."""
    repository.refuse_unknown_filters(
        session, org_id, [("team", team, Team, "team") for team in view.team]
    )


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
    filters = body.filters().as_dict()
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
    refuse_unknown_teams(session, org_id, view)
    if fmt == "html":  # a whole-run file, too big and too rarely read to keep
        return whole_run_file(report.get_run(session, org_id, ref.number), fmt, request)

    def rendering() -> Rendered:
        run = report.get_run(session, org_id, ref.number)
        response = (
            json_page(session, run, view) if fmt == "json" else whole_run_file(run, fmt, request)
        )
        headers = {k: v for k, v in response.headers.items() if k == "content-disposition"}
        return bytes(response.body), response.media_type or "", headers

    shape = f"json{view.query()}" if fmt == "json" else fmt
    entry = rendered.run(org_id, ref, shape, rendering)
    return entry.response(request.headers)


@router.get("/orgs/{org_id}/reports/{report_id}", responses=FORMATS)
def get_report(
    org_id: str,
    report_id: int,
    session: SessionDep,
    view: ViewDep,
    request: Request,
    fmt: FormatQuery = "json",
) -> Response:
    """One stored run: JSON with one page of findings (as `latest`), or the whole run."""
    run = report.get_run(session, org_id, report_id)
    refuse_unknown_teams(session, org_id, view)
    return json_page(session, run, view) if fmt == "json" else whole_run_file(run, fmt, request)


@router.get("/orgs/{org_id}/reports/{report_id}/diff")
def diff_reports(
    org_id: str,
    report_id: int,
    session: SessionDep,
    against: Annotated[int, Query(description="The earlier run to compare with.")],
) -> dict[str, Any]:
    """Findings new in this run, resolved since `against`, and unchanged (by finding key)."""
    repository.require_org(session, org_id)  # past here a missing run is the parameter's fault
    current = _named_run(session, org_id, report_id, "path.report_id")
    return report.diff_runs(current, _named_run(session, org_id, against, "query.against"))


def _named_run(session: Session, org_id: str, number: int, where: str) -> Any:
    """The run, or 404 pointing at the parameter that named a run that does not exist."""
    try:
        return report.get_run(session, org_id, number)
    except NotFound as exc:
        raise NotFound(exc.message, details=[{"path": where, "message": "no such report"}]) from exc
