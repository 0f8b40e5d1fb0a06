"""The team page's draft forms over HTTP: a form left open while someone else decided the draft
(in the review queue, another tab) changes nothing and says who decided, in the queue's words."""

from __future__ import annotations

import re

from alignment.drafting.store import Draft, decisions
from tests.service.test_review_page import WHEN, _pending_draft, _status


def _team_said(answer, team: str = "T-9") -> str:
    assert answer.status_code == 200 and f"/team/{team}?decided=" in str(answer.url), answer.url
    [said] = _status(answer.text)
    return said


def test_a_team_page_form_left_open_changes_nothing_and_says_who_decided(
    client, scored_sample, jobs, session
) -> None:
    org = scored_sample
    team = f"/orgs/{org}/team/T-9/drafts"
    approved, rejected = _pending_draft(client, jobs, org), _pending_draft(client, jobs, org)
    # Decided in the review queue while the team page still shows both drafts pending.
    client.post(f"/orgs/{org}/review/drafts/{approved}/approve")
    client.post(f"/orgs/{org}/review/drafts/{rejected}/reject", data={"reason": "Not now."})
    before = {d: decisions(session, org, d) for d in (approved, rejected)}

    said = _team_said(client.post(f"{team}/{approved}/reject", data={"reason": "Too vague."}))
    assert re.fullmatch(
        f"draft {approved} already approved \\(by you at {WHEN}\\); nothing new was created\\.",
        said,
    ), said
    said = _team_said(client.post(f"{team}/{rejected}/approve"))
    assert re.fullmatch(
        f"draft {rejected} already rejected \\(by you at {WHEN}\\); nothing changed\\.", said
    ), said
    assert {d: decisions(session, org, d) for d in (approved, rejected)} == before
    assert session.get(Draft, {"org_id": org, "id": rejected}).status == "rejected"
