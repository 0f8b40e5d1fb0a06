"""The review queue's page, as a browser review found it: an Approve button the strategy office
could only get a 409 from, a stale rejection of an approved draft that dropped its reason, one
"Nothing awaits review." over sections that still had items, and buttons named alike."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from alignment import check_in_review, review
from alignment.access.principal import Principal, Role
from alignment.drafting import cycles
from alignment.drafting.store import Draft, decisions
from service import permissions
from tests.conftest import make_client
from tests.service.test_review_page import WHEN, _pending_draft, _queue

UNDEFINED = re.compile(
    r"the draft is for cycle '(2027-Q1)' \(2027-01-01 to 2027-03-31\), which the organization "
    "has not defined yet; ask an admin to define the cycle first, then approve the draft"
)


def _strategy_office(request: Request) -> Principal:
    principal = Principal(
        name="Omar", role=Role.strategy_office, org_id=request.path_params.get("org_id")
    )
    request.state.principal = principal
    return principal


@pytest.fixture
def office(session, embedder) -> Iterator[TestClient]:
    """The app as the strategy office: it may decide drafts, not define cycles."""
    with make_client(session, embedder) as office_client:
        office_client.app.dependency_overrides[permissions.authorize] = _strategy_office
        yield office_client


def _draft_item(page: str, draft_id: str) -> str:
    return page.split(f'<article data-draft="{draft_id}">', 1)[1].split("</article>", 1)[0]


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_a_draft_for_a_cycle_not_defined_says_why_instead_of_an_approve_button(
    client, office, scored_sample, jobs
) -> None:
    """As the team page does: the strategy office sees why it cannot approve (the approval's
    own refusal), not a button that always answers 409; rejecting stays; an admin approves."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    draft = client.get(f"/orgs/{org}/drafts/{draft_id}").json()
    assert draft["request"]["new_cycle"]["id"] == draft["cycle"] == "2027-Q1"
    why = cycles.undefined_message(draft["cycle"], draft["request"]["new_cycle"])
    assert UNDEFINED.fullmatch(why)

    item = _draft_item(_queue(office, org), draft_id)
    assert "/approve" not in item and ">Approve<" not in item
    note = re.search(r'<p role="note" class="waits" data-cycle-undefined>(.*?)</p>', item)
    assert note and _text(note.group(1)) == f"{draft_id} cannot be approved yet: {why}."
    assert f"/review/drafts/{draft_id}/reject" in item

    # What the page says up front is what the approval answers.
    refused = office.post(f"/orgs/{org}/review/drafts/{draft_id}/approve")
    assert refused.status_code == 409 and why in html.unescape(refused.text)

    admin_item = _draft_item(_queue(client, org), draft_id)
    assert "data-cycle-undefined" not in admin_item and f"/drafts/{draft_id}/approve" in admin_item


def test_rejecting_a_draft_approved_since_says_so_and_keeps_the_reason(
    client, scored_sample, jobs, session
) -> None:
    """Approved in another tab, then rejected from a queue left open: a 409 saying what
    stands (by whom, when) and that nothing changed, with the typed reason on the page, not
    a green notice about the approval that drops it."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    client.post(f"/orgs/{org}/review/drafts/{draft_id}/approve")
    approved = decisions(session, org, draft_id)
    reason = "Targets <too> soft for the board"

    stale = client.post(f"/orgs/{org}/review/drafts/{draft_id}/reject", data={"reason": reason})
    assert stale.status_code == 409, (stale.status_code, stale.url)
    assert "Review queue" in stale.text and re.findall(r'<p role="status">', stale.text) == []
    alert = re.search(r'<div role="alert"[^>]*data-refused[^>]*>(.*?)</div>', stale.text, re.S)
    assert alert, stale.text
    said = _text(alert.group(1))
    assert re.fullmatch(
        f"Draft {draft_id} already approved \\(by you at {WHEN}\\); nothing changed: it was not "
        f"rejected\\. Your reason, not recorded: {re.escape(reason)}",
        said,
    ), said
    assert html.escape(reason) in alert.group(1)  # kept as typed, escaped
    assert decisions(session, org, draft_id) == approved
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "approved"


def test_each_section_says_what_is_empty(client, scored_sample, monkeypatch) -> None:
    """No OKRs left while check-ins, declared links and drafts still wait: the OKR section says
    so, not "Nothing awaits review." above them; that is said only when all are empty, and then
    only once."""
    org = scored_sample
    monkeypatch.setattr(review, "queue", lambda session, org_id: [])
    page = _queue(client, org)
    assert re.search(r'<article data-check-in="', page) and 'data-declared="' in page
    assert "Nothing awaits review." not in page
    assert '<p class="muted">No OKRs await review.</p>' in page

    monkeypatch.setattr(check_in_review, "queue", lambda session, org_id: [])
    monkeypatch.setattr(review, "unsupported_declared", lambda session, org_id: [])
    monkeypatch.setattr(review, "pending_drafts", lambda session, org_id: [])
    page = _queue(client, org)
    assert page.count("Nothing awaits review.") == 1
    # Said once: not again under each heading ("No OKRs await review." repeated it).
    for what in ("OKRs", "check-ins", "declared links", "drafts"):
        assert f"No {what} await review." not in page, what
    assert '<p class="muted">None.</p>' not in page


def _buttons(fragment: str) -> list[tuple[str, str]]:
    """(accessible name, visible text) of each button."""
    found = re.findall(r"<button([^>]*)>(.*?)</button>", fragment, re.S)
    named = []
    for attributes, text in found:
        label = re.search(r'aria-label="([^"]*)"', attributes)
        named.append((html.unescape(label.group(1)) if label else _text(text), _text(text)))
    return named


def test_each_button_names_its_item(client, scored_sample, jobs) -> None:
    """A screen reader lists buttons by name: each names its item after the visible words (so
    a spoken "Keep the link" still finds it), and no two decisions share a name."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    page = _queue(client, org)
    main = page.split("<main", 1)[1]
    items = re.findall(
        r'<article data-(okr|check-in|declared|draft)="([^"]+)">(.*?)</article>', main, re.S
    )
    assert {kind for kind, _, _ in items} == {"okr", "check-in", "declared", "draft"}
    names = []
    for kind, record, body in items:
        buttons = _buttons(body)
        assert len(buttons) == 2, (kind, record, buttons)
        for name, visible in buttons:
            assert name.startswith(visible) and name != visible, (name, visible)
            for part in html.unescape(record).split("|"):
                assert part in name, (name, record)
            names.append(name)
    assert len(names) == len(set(names))

    declared = next(html.unescape(r) for k, r, _ in items if k == "declared")
    okr, objective = declared.split("|")
    assert f"Keep the link {okr} → {objective}" in names
    assert f"Approve draft {draft_id}" in names and f"Reject draft {draft_id}" in names
