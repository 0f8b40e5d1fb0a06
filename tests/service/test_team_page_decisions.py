"""The team page's decided drafts over HTTP: what was decided, read from the stored decision
(who, when, the reason) and, for an approval, the OKRs it created as they are now, never the
AI's text shown as if it had been approved."""

from __future__ import annotations

import html
import re

from markupsafe import escape

from tests.service.test_review_page import WHEN, _pending_draft


def _article(client, org: str, draft_id: str) -> str:
    page = client.get(f"/orgs/{org}/team/T-9")
    assert page.status_code == 200
    return page.text.split(f'data-draft="{draft_id}" ', 1)[1].split("</article>", 1)[0]


def _unfolded(article: str) -> str:
    """The draft's article without its folded copy of the AI's suggestion."""
    return re.sub(r"<details>.*?</details>", "", article, flags=re.S)


def _decision_line(article: str) -> str:
    [line] = re.findall(r'<p class="decision"[^>]*>(.*?)</p>', article, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", line))


def test_an_edited_approval_shows_the_okrs_it_created_and_who_approved(
    client, scored_sample, jobs
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    ai = client.get(f"/orgs/{org}/drafts/{draft_id}").json()["payload"]["suggestions"][0]
    title, kr = "Routes <drawn> from data & not habit", "Miles per stop down to 4.1"
    approved = client.post(
        f"/orgs/{org}/team/T-9/drafts/{draft_id}/approve", data={"s0_title": title, "s0_kr0": kr}
    )
    assert approved.status_code == 200 and "decided=" in str(approved.url)
    okr_id = f"{draft_id}-O1"
    assert client.get(f"/orgs/{org}/okrs/{okr_id}").json()["title"] == title

    article = _article(client, org, draft_id)
    line = _decision_line(article)
    assert re.fullmatch(f"Approved with edits by test-admin at {WHEN}", line), line
    shown = _unfolded(article)
    link = f'<a href="/orgs/{org}/okr/{okr_id}"><strong>{okr_id}</strong> '
    assert link + "Routes &lt;drawn&gt; from data &amp; not habit</a>" in shown  # autoescaped
    assert f"<li>{kr}</li>" in shown
    assert escape(ai["title"]) not in shown  # the AI's title only in the folded copy
    assert "before the edits</summary>" in article and escape(ai["title"]) in article
    assert "<form" not in article  # decided: nothing more to approve or reject

    # As the OKR is now, not as it was approved.
    renamed = client.patch(f"/orgs/{org}/okrs/{okr_id}", json={"title": "Renamed since"})
    assert renamed.status_code == 200, renamed.text
    assert link + "Renamed since</a>" in _unfolded(_article(client, org, draft_id))

    # Deleted since: the title it was approved with, and no link to a page that is gone.
    assert client.delete(f"/orgs/{org}/okrs/{okr_id}").status_code == 204
    shown = _unfolded(_article(client, org, draft_id))
    assert f'href="/orgs/{org}/okr/{okr_id}"' not in shown
    assert f"<strong>{okr_id}</strong> Routes &lt;drawn&gt; from data &amp; not habit" in shown
    assert "(deleted since)" in shown


def test_an_approval_without_edits_says_approved(client, scored_sample, jobs) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    ai = client.get(f"/orgs/{org}/drafts/{draft_id}").json()["payload"]["suggestions"][0]
    client.post(f"/orgs/{org}/team/T-9/drafts/{draft_id}/approve")
    article = _article(client, org, draft_id)
    assert re.fullmatch(f"Approved by test-admin at {WHEN}", _decision_line(article))
    assert f"<strong>{draft_id}-O1</strong> {escape(ai['title'])}</a>" in _unfolded(article)


def test_a_rejection_shows_who_rejected_when_and_why(client, scored_sample, jobs) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    reason = "Too vague <b>for</b> the board"
    rejected = client.post(
        f"/orgs/{org}/team/T-9/drafts/{draft_id}/reject", data={"reason": reason}
    )
    assert rejected.status_code == 200 and "decided=" in str(rejected.url)

    article = _article(client, org, draft_id)
    line = _decision_line(article)
    assert re.fullmatch(f"Rejected by test-admin at {WHEN}: {re.escape(reason)}", line), line
    assert "Too vague &lt;b&gt;for&lt;/b&gt; the board" in article  # autoescaped
    assert 'class="created"' not in article and "<form" not in article


def test_a_pending_draft_shows_no_decision(client, scored_sample, jobs) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    article = _article(client, org, draft_id)
    assert 'class="decision"' not in article and "<details>" not in article
    assert "Approve (with your edits)" in article
