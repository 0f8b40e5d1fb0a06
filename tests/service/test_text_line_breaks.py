"""A line break is one character wherever text comes from: a browser sends each one of a form's
text as CRLF, a Windows file holds CRLF, and neither may make a text longer than the person typed
nor be stored as sent (alignment/bundle/text_rules.py)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from alignment.bundle.schema import LongText, Title
from alignment.bundle.text_rules import plain_text
from alignment.drafting.store import Draft, decisions
from alignment.models import LinkFeedback
from tests.factories import small_bundle
from tests.service.test_review_page import _pending_draft, _queue, _unsure_okrs

# 1950 characters as a browser counts them, 149 of them line breaks: 2099 as a form sends them.
TYPED = "\n".join(["Line of text"] * 150) + "."
SENT = TYPED.replace("\n", "\r\n")


def test_crlf_and_a_lone_cr_are_one_line_break_each() -> None:
    assert len(TYPED) == 1950 and len(SENT) == 2099
    assert plain_text("First line\r\nSecond line\rThird\nFourth") == (
        "First line\nSecond line\nThird\nFourth"
    )
    # Counted after: the bundle types' own limits count "\n" once.
    assert TypeAdapter(Title).validate_python(SENT) == TYPED
    assert TypeAdapter(LongText).validate_python(SENT) == TYPED
    with pytest.raises(ValidationError):
        TypeAdapter(Title).validate_python("x" * 2001)


def test_a_bundle_stores_one_line_break_and_reimports_unchanged(client) -> None:
    document = small_bundle()
    document["okrs"][0]["description"] = "First line\r\nSecond line\rThird"
    document["strategic_objectives"][0]["title"] = SENT  # within 2000 once read as typed
    first = client.post("/bundles", json=document)
    assert first.status_code == 200, first.text
    okr = client.get("/orgs/acme/okrs/O-1").json()
    assert okr["description"] == "First line\nSecond line\nThird"
    again = client.post("/bundles", json=document).json()
    assert again["changed"] is False, again
    exported = client.get("/orgs/acme/bundle").json()
    assert client.post("/bundles", json=exported).json()["changed"] is False
    # The OKR rows as a Windows spreadsheet saves them: CRLF inside quoted cells too.
    csv_text = client.get("/orgs/acme/okrs.csv").text.replace("\r\n", "\n")
    assert "First line\nSecond line" in csv_text
    from_csv = client.post(
        "/orgs/acme/okrs.csv",
        content=csv_text.replace("\n", "\r\n").encode(),
        headers={"content-type": "text/csv"},
    )
    assert from_csv.status_code == 200 and from_csv.json()["changed"] is False, from_csv.text


def test_an_api_note_counts_and_stores_one_line_break(client, scored_sample, session) -> None:
    org = scored_sample
    okr = _unsure_okrs(_queue(client, org))[0]
    answer = client.post(f"/orgs/{org}/review-queue/okrs/{okr}/reject", json={"note": SENT})
    assert answer.status_code == 200, answer.text
    notes = session.scalars(
        select(LinkFeedback.note).where(LinkFeedback.org_id == org, LinkFeedback.okr_id == okr)
    ).all()
    assert notes and set(notes) == {TYPED}


def test_a_page_form_counts_and_stores_one_line_break(client, scored_sample, jobs, session):
    """The team page's edit form: a description the browser let through (maxlength 2000) is
    taken, and stored as typed."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    approved = client.post(
        f"/orgs/{org}/team/T-9/drafts/{draft_id}/approve", data={"s0_description": SENT}
    )
    assert approved.status_code == 200 and "decided=" in str(approved.url), approved.text
    okr = client.get(f"/orgs/{org}/okrs/{draft_id}-O1").json()
    assert okr["description"] == TYPED
    draft = session.get(Draft, {"org_id": org, "id": draft_id})
    assert draft.status == "edited_and_approved"


def test_a_draft_reason_sent_from_a_page_is_stored_as_typed(client, scored_sample, jobs, session):
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    client.post(
        f"/orgs/{org}/review/drafts/{draft_id}/reject", data={"reason": "Too vague.\r\nRedo it."}
    )
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "rejected"
    assert decisions(session, org, draft_id)[-1].reason == "Too vague.\nRedo it."


def test_a_json_reject_reason_counts_one_line_break(client, scored_sample, jobs, session):
    """The drafts API's own text type checked its length before turning CRLF into LF."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    answer = client.post(f"/orgs/{org}/drafts/{draft_id}/reject", json={"reason": SENT})
    assert answer.status_code == 200, answer.text
    assert decisions(session, org, draft_id)[-1].reason == TYPED


def test_text_stored_with_crlf_before_is_left_as_it_is_by_an_unchanged_import(session) -> None:
    """An OKR's fingerprint is what people's link decisions hold to: rewriting text a page form
    stored with CRLF (before line breaks were read as one) would void them for no change."""
    from sqlalchemy import update

    from alignment.imports import import_document
    from alignment.models import Okr

    document = small_bundle("crlf-then")
    document["okrs"][0]["description"] = "First line\nSecond line"
    import_document(session, document)
    stored_then = "First line\r\nSecond line"
    session.execute(
        update(Okr)
        .where(Okr.org_id == "crlf-then", Okr.id == "O-1")
        .values(description=stored_then)
    )
    again = import_document(session, document)
    assert again.changed is False, again.updated
    assert session.get(Okr, ("crlf-then", "O-1")).description == stored_then
    document["okrs"][0]["description"] = "First line\nA new second line"  # a real change
    assert import_document(session, document).updated["okrs"] == 1


def test_a_patch_of_the_same_text_leaves_text_stored_with_crlf_as_it_is(client, session) -> None:
    """An edit form that sends an OKR's text back unchanged (a browser sends CRLF, read as LF)
    is no change: rewriting it would void people's link decisions on the OKR."""
    from sqlalchemy import update

    from alignment.models import Okr

    org = "crlf-patch"
    document = small_bundle(org)
    document["okrs"][0]["description"] = "First line\nSecond line"
    assert client.post("/bundles", json=document).status_code == 200
    stored_then = "First line\r\nSecond line"
    session.execute(
        update(Okr).where(Okr.org_id == org, Okr.id == "O-1").values(description=stored_then)
    )
    session.commit()
    fingerprint = session.get(Okr, (org, "O-1")).content_hash

    same = client.patch(f"/orgs/{org}/okrs/O-1", json={"description": "First line\r\nSecond line"})
    assert same.status_code == 200, same.text
    session.expire_all()
    kept = session.get(Okr, (org, "O-1"))
    assert (kept.description, kept.content_hash) == (stored_then, fingerprint)

    edited = client.patch(f"/orgs/{org}/okrs/O-1", json={"description": "First line\nNew line"})
    assert edited.status_code == 200, edited.text
    session.expire_all()
    assert session.get(Okr, (org, "O-1")).description == "First line\nNew line"
