"""Pages that show the golden thread (server-rendered; all user text autoescaped): the
strategy map, one OKR, one strategic objective. The review queue's page is `review_page`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from alignment import review
from alignment.access.principal import Principal
from alignment.detail_views import objective_detail, okr_detail
from alignment.repository import require_org
from alignment.scoring.drift import DEFAULT as DRIFT
from alignment.scoring.reads import stored_verdicts
from alignment.strategy_map import strategy_map
from service.auth import CurrentPrincipal
from service.deps import SessionDep
from service.permissions import may_open
from service.routes.nav import org_nav
from service.templating import page

router = APIRouter(include_in_schema=False)


@router.get("/orgs/{org_id}/strategy-map", response_class=HTMLResponse)
def strategy_map_page(
    org_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    # Links only to what the role may open: every role reads the map, not every page it names.
    may = {
        "report": may_open(principal, "/orgs/{org_id}/report.html"),
        "review": may_open(principal, "/orgs/{org_id}/review"),
        "okr": may_open(principal, "/orgs/{org_id}/okr/{okr_id}"),
        "objective": may_open(principal, "/orgs/{org_id}/objective/{objective_id}"),
    }
    return page(
        "strategy_map.html.j2",
        m=strategy_map(session, org_id),
        may=may,
        nav=org_nav(session, principal, org_id, "map"),
    )


@router.get("/orgs/{org_id}/okr/{okr_id}", response_class=HTMLResponse)
def okr_page(
    org_id: str, okr_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One OKR: its ranked objectives with the evidence, key results, check-ins with drift,
    and the latest report's findings about it."""
    org = require_org(session, org_id)
    return page(
        "okr.html.j2",
        d=okr_detail(session, org_id, okr_id, with_findings=_sees_reports(principal)),
        # The levels the stored verdicts were given by, so the page can say what a score means.
        drift_levels={"review": DRIFT.review, "flag": DRIFT.threshold},
        org={"id": org.id, "name": org.name},
        nav=org_nav(session, principal, org_id, ""),
    )


def _sees_reports(principal: Principal) -> bool:
    """The report's findings are shown to the roles that may open the report."""
    return may_open(principal, "/orgs/{org_id}/report.html")


@router.get("/orgs/{org_id}/objective/{objective_id}", response_class=HTMLResponse)
def objective_page(
    org_id: str, objective_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    """One strategic objective: KPIs, the OKRs serving it, the findings about it."""
    org = require_org(session, org_id)
    d = objective_detail(session, org_id, objective_id, with_findings=_sees_reports(principal))
    if d["weak"]:
        # A weak link is no review item of its own: the queue lists an OKR unsure as a whole
        # (`needs_review`) and a declared link its text does not support. The page marks the
        # weak OKRs it lists, and promises no decision for the others that no page offers.
        verdict = stored_verdicts(session, org_id)
        declared = {
            f["okr_id"]
            for f in review.unsupported_declared(session, org_id)
            if f["objective_id"] == objective_id
        }
        d["weak"] = [
            {
                **o,
                "verdict": verdict.get(o["id"]),
                "in_review": verdict.get(o["id"]) == "needs_review" or o["id"] in declared,
            }
            for o in d["weak"]
        ]
    return page(
        "objective.html.j2",
        d=d,
        org={"id": org.id, "name": org.name},
        may_review=may_open(principal, "/orgs/{org_id}/review"),
        nav=org_nav(session, principal, org_id, ""),
    )
