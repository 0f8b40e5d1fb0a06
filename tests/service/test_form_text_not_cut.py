"""Nothing a person sent through a page's form is stored cut short: a reason or note over its
limit (a form sent around the browser's maxlength) is refused as the API refuses it, beside the
field where the page has one, and a form too large to read whole is refused whole (413)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from alignment.drafting.store import Draft, decisions
from alignment.models import LinkFeedback
from service.routes.forms import MAX_FORM_BYTES
from tests.service.test_review_page import _error_said, _pending_draft, _queue, _unsure_okrs

LONG = "x" * 2010
SAID = "The reason is 2010 characters long; at most 2000"


def _beside_reason(page: str, draft_id: str) -> str:
    item = page.split(f'data-draft="{draft_id}"', 1)[1].split("</article>")[0]
    field = re.search(r'<(?:input|textarea) [^>]*name="reason"[^>]*>', item).group(0)
    assert 'aria-invalid="true"' in field, field
    described_by = re.search(r'aria-describedby="([^"]+)"', field).group(1)
    beside = re.search(f'<p class="field-error" id="{described_by}">(.*?)</p>', item)
    return html.unescape(beside.group(1))


@pytest.mark.parametrize("page", ["review", "team/T-9"])
def test_a_long_reason_is_refused_beside_its_field(
    client, scored_sample, jobs, session, page: str
) -> None:
    """On the review queue and on the team page: the page itself, not an error page."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    refused = client.post(f"/orgs/{org}/{page}/drafts/{draft_id}/reject", data={"reason": LONG})
    assert refused.status_code == 422
    assert f'<main data-page="/orgs/{org}/{page}"' in refused.text
    assert _beside_reason(refused.text, draft_id) == SAID
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "pending"
    assert decisions(session, org, draft_id) == []


def test_a_long_note_rejecting_an_okr_is_refused_naming_the_field(
    client, scored_sample, session
) -> None:
    org = scored_sample
    okr = _unsure_okrs(_queue(client, org))[0]
    refused = client.post(f"/orgs/{org}/review/{okr}/reject", data={"note": LONG})
    assert refused.status_code == 422
    assert _error_said(refused) == (
        "the form's note is not valid: is 2010 characters long; at most 2000"
    )
    stored = select(LinkFeedback).where(LinkFeedback.org_id == org, LinkFeedback.okr_id == okr)
    assert session.scalars(stored).all() == []


def test_a_note_at_the_limit_is_stored_whole(client, scored_sample, session) -> None:
    org = scored_sample
    okr = _unsure_okrs(_queue(client, org))[0]
    client.post(f"/orgs/{org}/review/{okr}/reject", data={"note": "y" * 2000})
    stored = select(LinkFeedback.note).where(LinkFeedback.org_id == org, LinkFeedback.okr_id == okr)
    assert set(session.scalars(stored).all()) == {"y" * 2000}


def test_a_form_too_large_to_read_whole_is_refused_whole(
    client, scored_sample, jobs, session
) -> None:
    """Read in part, the reason before the padding would have been stored and the rest lost."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    sent = {"reason": "Too vague.", "pad": "p" * MAX_FORM_BYTES}
    refused = client.post(f"/orgs/{org}/review/drafts/{draft_id}/reject", data=sent)
    assert refused.status_code == 413
    assert "nothing was changed" in _error_said(refused)
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "pending"
