"""Organization CRUD: the tenants every record belongs to. Functions take the caller's session
and never commit; record CRUD (`repository`) checks its organization here first.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.bundle.text_rules import id_key
from alignment.errors import Conflict, NotFound
from alignment.models import Organization
from alignment.record_errors import constraint_errors


def require_org(session: Session, org_id: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"organization {org_id!r} does not exist")
    return org


def list_orgs(
    session: Session, *, limit: int, offset: int, only: str | None = None
) -> tuple[list[Organization], int]:
    """Organizations by id; `only` narrows the list to one (a key's own organization)."""
    query = select(Organization)
    if only is not None:
        query = query.where(Organization.id == only)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Organization.id).limit(limit).offset(offset)).all()
    return list(rows), total


def create_org(session: Session, org_id: str, name: str) -> Organization:
    if session.get(Organization, org_id) is not None:
        raise Conflict(
            f"organization {org_id!r} already exists",
            details=[{"path": "$.id", "message": f"the existing organization is {org_id!r}"}],
        )
    refuse_case_twin(session, org_id, path="$.id")
    org = Organization(id=org_id, name=name)
    session.add(org)
    with constraint_errors("organization", org_id):  # a concurrent create of the same id: 409
        session.flush()
    session.refresh(org)
    return org


def update_org(session: Session, org_id: str, name: str) -> Organization:
    org = require_org(session, org_id)
    if org.name != name:
        org.name = name
        org.updated_at = func.now()
        session.flush()
        session.refresh(org)
    return org


def delete_org(session: Session, org_id: str) -> None:
    """Its running jobs are ended rather than waited for, its waiting ones taken off the queue
    (jobs/abandon.py); everything it holds goes with it (ON DELETE CASCADE)."""
    from alignment.jobs.abandon import abandon_jobs

    abandon_jobs(session, org_id)  # first: a delete that waited for another finds it gone
    org = require_org(session, org_id)
    session.delete(org)
    session.flush()


def refuse_case_twin(session: Session, org_id: str, *, path: str) -> None:
    """A new organization whose id differs from an existing one only in letter case is refused
    (409 naming the existing id): people read "Brightwater-Linen" and "brightwater-linen" as one
    organization, and keys, links and imports would land in the wrong one of two. Case is
    compared as Unicode folds it (`id_key`: NFKC and casefold), so "STRASSE" is the twin of
    "straße", which SQL's lower() would miss."""
    key = id_key(org_id)
    # Organizations are tenants, few enough to fold in Python (PostgreSQL has no casefold).
    twin = next(
        (
            other
            for other in session.scalars(select(Organization.id).order_by(Organization.id))
            if other != org_id and id_key(other) == key
        ),
        None,
    )
    if twin is not None:
        raise Conflict(
            f"organization {twin!r} already exists; ids differing only in letter case name one "
            f"organization, so {org_id!r} cannot be another",
            details=[{"path": path, "message": f"the existing organization is {twin!r}"}],
        )
