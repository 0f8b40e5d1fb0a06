"""The links every organization page puts at its top: the report, the strategy map, the review
queue and the team pages, each only where the reader's role may open it (a link that answers
403 would only mislead), and who is signed in."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.models import Team
from alignment.report.findings import natural
from service.permissions import may_open


def team_links(session: Session, org_id: str, principal: Principal) -> list[dict[str, str]]:
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


def org_nav(session: Session, principal: Principal, org_id: str, here: str) -> dict[str, Any]:
    """What the shared nav (templates/_org_nav.html.j2) shows; `here` names the page showing it
    ("report", "map", "review", "team:<id>", or "" for another page), which it marks rather
    than links."""
    return {
        "org_id": org_id,
        "here": here,
        "report": may_open(principal, "/orgs/{org_id}/report.html"),
        "map": may_open(principal, "/orgs/{org_id}/strategy-map"),
        "review": may_open(principal, "/orgs/{org_id}/review"),
        "teams": team_links(session, org_id, principal),
        "signed_in": principal.name,
    }
