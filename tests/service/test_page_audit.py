"""A page answers a refused form, or a decision already made, with a page of its own rather
than an error: its transaction still ends with nothing written, audit entry included."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from alignment.imports import import_document
from alignment.models import AuditEntry
from tests.conftest import make_client
from tests.factories import small_bundle
from tests.service.test_web_session import PAGE, csrf_of

ORG = "acme-audit"


def _entries(session: Session) -> list[str]:
    rows = session.scalars(
        select(AuditEntry.action).where(AuditEntry.org_id == ORG).order_by(AuditEntry.id)
    )
    return list(rows)


def test_refused_and_repeated_page_decisions_leave_no_audit_entry(session, embedder, jobs):
    import_document(session, small_bundle(ORG))
    raw = keys.create_key(session, org_id=ORG, role=Role.strategy_office, name="Omar")[1]
    session.commit()
    client = make_client(session, embedder, real_auth=True)
    bearer = {"Authorization": f"Bearer {raw}"}
    asked = client.post(f"/orgs/{ORG}/drafts/suggestions", json={"team": "T-1"}, headers=bearer)
    draft_id = jobs.result(client, asked, bearer)["draft_id"]
    form = client.get("/sign-in")
    signed = client.post("/sign-in", data={"key": raw, "csrf": csrf_of(form.text)})
    assert signed.status_code in (200, 303), signed.text
    queue = client.get(f"/orgs/{ORG}/review", headers=PAGE).text
    token = re.search(r'\?csrf=([^"&]+)"', queue).group(1)  # the forms' own
    before = _entries(session)
    reject = f"/orgs/{ORG}/review/drafts/{draft_id}/reject?csrf={token}"

    refused = client.post(reject, data={"reason": "  "}, headers=PAGE)
    assert refused.status_code == 422 and "Review queue" in refused.text
    assert _entries(session) == before  # it said "rejected" in the log before

    decided = client.post(
        reject, data={"reason": "Not this cycle"}, headers=PAGE,
        follow_redirects=False,
    )  # fmt: skip
    assert decided.status_code == 303, decided.text
    after = _entries(session)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert after[-1].endswith("/reject")

    again = client.post(
        reject, data={"reason": "Not this cycle"}, headers=PAGE,
        follow_redirects=False,
    )  # fmt: skip
    assert again.status_code == 303 and "again=1" in again.headers["location"]
    assert _entries(session) == after  # a stale form changed nothing, and says so
    assert session.scalar(select(func.count()).select_from(AuditEntry)) >= len(after)
