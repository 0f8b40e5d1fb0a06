"""An admin's approval of a draft for a cycle the organization had not defined defines it, for
every team: the team page's confirmation says so (read from what is stored, so the page after
the redirect can), as does the approval's result; an approval that defined nothing says
nothing of the kind."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from alignment.drafting.store import DraftDecision
from alignment.models import Cycle
from tests.service.test_review_page import WHEN, _status
from tests.service.test_team_page_cycle_default import (
    FORM,
    ORG,
    TEAM,
    _drafted_with_the_default_cycle,
    setup,  # noqa: F401  (the fixture)
    suggested_with_the_default_cycle,
)

DEFINED = (
    "This approval defined cycle 2027-Q1 (2027-01-01 to 2027-03-31) for the whole organization."
)


def _approved(client, headers, draft: dict) -> str:
    """The team page's approve form sent as shown (no edits); the page's status line after."""
    page = f"/orgs/{ORG}/team/{draft['team']}"
    answer = client.post(f"{page}/drafts/{draft['id']}/approve", content="", headers=headers | FORM)
    assert answer.status_code == 200 and f"?decided={draft['id']}" in str(answer.url), answer.text
    [said] = _status(answer.text)
    return said


def test_the_approval_that_defined_a_cycle_says_so(setup, jobs, session) -> None:  # noqa: F811
    client, key = setup
    admin = key["admin"]
    # Two drafts proposing 2027-Q1, which 2026-12-20 (89% into 2026-Q4) makes the next cycle.
    draft = _drafted_with_the_default_cycle(client, jobs, key["lead"], "2026-12-20")
    later = suggested_with_the_default_cycle(client, jobs, admin, "T-2")
    for proposing in (draft, later):
        assert proposing["request"]["new_cycle"]["id"] == proposing["cycle"] == "2027-Q1"
    assert client.get(f"/orgs/{ORG}/cycles/2027-Q1", headers=admin).status_code == 404

    said = _approved(client, admin, draft)
    assert re.fullmatch(
        f"Recorded: draft {draft['id']} approved \\(by you at {WHEN}\\): created "
        f"{draft['id']}-O1\\. {re.escape(DEFINED)}",
        said,
    ), said
    assert client.get(f"/orgs/{ORG}/cycles/2027-Q1", headers=admin).status_code == 200
    # Said again later from what is stored; the API's answer (a retry) says it too.
    page = client.get(f"{TEAM}?decided={draft['id']}", headers=admin)
    assert _status(page.text) == [said]
    retry = client.post(f"/orgs/{ORG}/drafts/{draft['id']}/approve", json={}, headers=admin)
    assert retry.status_code == 200 and retry.json()["defined_cycle"] == "2027-Q1"
    # A stale form: nothing new was created, the cycle included.
    again = _approved(client, admin, draft)
    assert again.endswith("; nothing new was created.") and "defined" not in again, again

    # The other draft for 2027-Q1, approved once the cycle is defined, defined nothing. (A
    # test's requests share one database transaction, and so one `now()`: the first approval
    # and the cycle it defined are moved a minute back, to when they would have been written.)
    earlier = timedelta(minutes=1)
    session.execute(
        update(Cycle)
        .where(Cycle.org_id == ORG, Cycle.id == "2027-Q1")
        .values(created_at=Cycle.created_at - earlier)
    )
    session.execute(
        update(DraftDecision)
        .where(DraftDecision.org_id == ORG, DraftDecision.draft_id == draft["id"])
        .values(decided_at=DraftDecision.decided_at - earlier)
    )
    session.expire_all()
    [moved] = _status(client.get(f"{TEAM}?decided={draft['id']}", headers=admin).text)
    assert moved.endswith(DEFINED), moved
    said = _approved(client, admin, later)
    assert said.startswith(f"Recorded: draft {later['id']} approved") and "defined" not in said
    answer = client.post(f"/orgs/{ORG}/drafts/{later['id']}/approve", json={}, headers=admin)
    assert answer.status_code == 200 and answer.json()["defined_cycle"] is None
