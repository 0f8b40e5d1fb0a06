"""Which teams a record belongs to: what a team lead's object checks compare with its teams."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.models import CheckIn, KeyResult, Okr


def team_of_okr(session: Session, org_id: str, okr_id: str | None) -> str | None:
    if not okr_id:
        return None
    return session.scalar(select(Okr.team_id).where(Okr.org_id == org_id, Okr.id == okr_id))


def team_of_key_result(session: Session, org_id: str, kr_id: str | None) -> str | None:
    if not kr_id:
        return None
    okr_id = session.scalar(
        select(KeyResult.okr_id).where(KeyResult.org_id == org_id, KeyResult.id == kr_id)
    )
    return team_of_okr(session, org_id, okr_id)


def teams_touched(
    session: Session, org_id: str, kind: str, record_id: str | None, body: dict[str, Any]
) -> set[str | None]:
    """Every team a write to `kind` touches: the stored record's and the one the body names.

    None stands for a record that does not exist (yet): the route answers that itself.
    """
    teams: set[str | None] = set()
    if kind == "okrs":
        if record_id:
            teams.add(team_of_okr(session, org_id, record_id))
        if "team" in body or not record_id:
            teams.add(body.get("team"))
    elif kind == "key-results":
        if record_id:
            teams.add(team_of_key_result(session, org_id, record_id))
        if "okr" in body or not record_id:
            teams.add(team_of_okr(session, org_id, body.get("okr")))
    elif kind == "check-ins":
        if record_id:
            row = session.get(CheckIn, {"org_id": org_id, "id": record_id})
            teams.add(team_of_okr(session, org_id, row.okr_id) if row else None)
        if "okr" in body or not record_id:
            teams.add(team_of_okr(session, org_id, body.get("okr")))
        if body.get("key_result"):
            teams.add(team_of_key_result(session, org_id, body["key_result"]))
    return teams
