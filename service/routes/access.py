"""API keys (admins of an organization; the platform admin bootstraps one) and the audit log.

Writes here are audited like every other: `permissions.authorize` records each one.

A `platform_admin` key creates an organization's keys only while the organization has no active
admin key: it bootstraps the first admin, it does not hold a standing key to every tenant. Once
an admin exists, that admin creates further keys; the operator's CLI (`goldenthread keys create`,
on the database's machine) stays the break-glass path.
"""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from alignment.access import audit, keys
from alignment.access.principal import Role
from alignment.bundle.text_rules import PlainText
from service.auth import CurrentPrincipal, forget_checked_keys
from service.deps import PageDep, SessionDep

router = APIRouter(prefix="/orgs/{org_id}", tags=["access"])


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    teams: list[Annotated[PlainText, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    name: Annotated[PlainText, Field(min_length=1, max_length=200)] | None = None


@router.post("/keys", status_code=201)
def create_key(
    org_id: str,
    body: KeyIn,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> dict[str, Any]:
    """Create a key; its full text is in this response only, never again."""
    if principal.role is Role.platform_admin:
        keys.refuse_once_an_admin_exists(session, org_id)
    row, raw = keys.create_key(
        session,
        org_id=org_id,
        role=body.role,
        team_ids=body.teams,
        name=body.name,
        created_by=principal.name,
    )
    audit.name_created(session, row.prefix)  # the audit entry's record: the new key
    # Header values are Latin-1: an organization id such as "東京-health" goes percent-encoded.
    response.headers["Location"] = quote(f"/orgs/{org_id}/keys/{row.prefix}", safe="/")
    return {**keys.render_key(row), "key": raw}


@router.get("/keys")
def list_keys(org_id: str, session: SessionDep) -> dict[str, Any]:
    return {"items": [keys.render_key(k) for k in keys.list_keys(session, org_id)]}


@router.delete("/keys/{prefix}")
def revoke_key(org_id: str, prefix: str, session: SessionDep) -> dict[str, Any]:
    row = keys.revoke_key(session, prefix, org_id=org_id)
    forget_checked_keys(session)
    return keys.render_key(row)


@router.get("/audit-log")
def audit_log(org_id: str, session: SessionDep, page: PageDep) -> dict[str, Any]:
    rows, total = audit.list_entries(session, org_id, limit=page.limit, offset=page.offset)
    return page.envelope([audit.render(r) for r in rows], total)
