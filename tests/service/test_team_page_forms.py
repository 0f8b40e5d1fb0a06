"""The team page's draft forms over HTTP: a form left open while someone else decided the draft
(in the review queue, another tab) changes nothing and says who decided, in the queue's words."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from alignment.drafting.store import Draft, decisions
from alignment.models import Job
from tests.service.test_review_page import NUL, WHEN, _error_said, _pending_draft, _status


def _team_said(answer, team: str = "T-9") -> str:
    assert answer.status_code == 200 and f"/team/{team}?decided=" in str(answer.url), answer.url
    [said] = _status(answer.text)
    return said


def test_a_team_page_form_left_open_changes_nothing_and_says_who_decided(
    client, scored_sample, jobs, session
) -> None:
    org = scored_sample
    team = f"/orgs/{org}/team/T-9/drafts"
    approved = _pending_draft(client, jobs, org)
    rejected = _pending_draft(client, jobs, org, ["SO-5"])
    # Decided in the review queue while the team page still shows both drafts pending.
    client.post(f"/orgs/{org}/review/drafts/{approved}/approve")
    client.post(f"/orgs/{org}/review/drafts/{rejected}/reject", data={"reason": "Not now."})
    before = {d: decisions(session, org, d) for d in (approved, rejected)}

    # A rejection of a draft approved since would drop its reason: said, and the reason kept.
    stale = client.post(f"{team}/{approved}/reject", data={"reason": "Too vague."})
    assert stale.status_code == 409, stale.text
    assert "it was not rejected, and your reason below was not recorded" in stale.text
    assert "Too vague." in stale.text
    said = _team_said(client.post(f"{team}/{rejected}/approve"))
    assert re.fullmatch(
        f"Draft {rejected} already rejected \\(by you at {WHEN}\\); nothing changed\\.", said
    ), said
    assert {d: decisions(session, org, d) for d in (approved, rejected)} == before
    assert session.get(Draft, {"org_id": org, "id": rejected}).status == "rejected"


def test_a_failed_draft_is_dismissed_from_the_team_page(client, scored_sample, jobs) -> None:
    """A failed draft offers a Dismiss button; dismissed, it leaves the page (the API keeps it,
    marked), and a second dismissal from a page left open changes nothing and says who did it."""
    from tests.service.test_drafts_api import failed_draft

    org = scored_sample
    failed = failed_draft(client, jobs, org, "T-9")["id"]
    page = client.get(f"/orgs/{org}/team/T-9").text
    item = page.split(f'data-draft="{failed}" data-status="failed">', 1)[1].split("</article>")[0]
    action = f"/orgs/{org}/team/T-9/drafts/{failed}/dismiss"
    assert re.search(f'<form method="post" action="{action}\\?csrf=[^"]*"', item)
    assert ">Dismiss</button>" in item

    said = _team_said(client.post(action))
    assert re.fullmatch(f"Recorded: draft {failed} dismissed \\(by you at {WHEN}\\)\\.", said)
    shown = client.get(f"/orgs/{org}/team/T-9").text
    assert f'data-draft="{failed}"' not in shown
    kept = client.get(f"/orgs/{org}/drafts/{failed}").json()
    assert (kept["status"], kept["dismissed_by"]) == ("failed", "test-admin")

    said = _team_said(client.post(action))  # the page left open in another tab
    assert re.fullmatch(
        f"Draft {failed} already dismissed \\(by you at {WHEN}\\); nothing changed\\.", said
    ), said
    assert client.get(f"/orgs/{org}/drafts/{failed}").json() == kept


def test_a_pending_draft_offers_no_dismissal_and_refuses_one(client, scored_sample, jobs) -> None:
    org = scored_sample
    pending = _pending_draft(client, jobs, org)
    page = client.get(f"/orgs/{org}/team/T-9").text
    item = page.split(f'data-draft="{pending}" data-status="pending">', 1)[1].split("</article>")[0]
    assert "/dismiss" not in item
    refused = client.post(f"/orgs/{org}/team/T-9/drafts/{pending}/dismiss")
    assert refused.status_code == 409 and "is pending" in refused.text


def test_a_forged_nul_in_a_reason_is_refused_beside_its_field(
    client, scored_sample, jobs, session
) -> None:
    """The team page's forms read texts by the API's rules: a NUL (which the database cannot
    store) comes back as a blank reason does, the page (422) with the message beside the field,
    never a 500; nothing is stored."""
    org = scored_sample
    pending = _pending_draft(client, jobs, org)
    refused = client.post(
        f"/orgs/{org}/team/T-9/drafts/{pending}/reject", data={"reason": "bad\x00"}
    )
    assert refused.status_code == 422
    item = refused.text.split(f'data-draft="{pending}" data-status="pending">', 1)[1]
    beside = re.search(f'<p class="field-error" id="{pending}-reason-error">(.*?)</p>', item)
    assert html.unescape(beside.group(1)) == f"The reason {NUL.format(3)}"
    assert session.get(Draft, {"org_id": org, "id": pending}).status == "pending"
    assert decisions(session, org, pending) == []


def test_a_summary_form_naming_no_cycle_id_is_refused_naming_the_field(
    client, scored_sample, session
) -> None:
    """The summary form sends no cycle; a forged one the API would refuse is refused as the API
    does (422 naming the field, on the error page as an unknown cycle is), and nothing is
    queued."""
    org = scored_sample
    queued = select(func.count()).select_from(Job).where(Job.org_id == org)
    before = session.scalar(queued)
    for cycle, problem in [
        ("a/b", "an id cannot contain '/' (it is part of URLs)"),
        ("\x00", NUL.format(0)),
    ]:
        summary = client.post(f"/orgs/{org}/team/T-9/summary", data={"cycle": cycle})
        assert summary.status_code == 422
        assert _error_said(summary) == f"the form's cycle is not valid: {problem}"
    assert session.scalar(queued) == before
