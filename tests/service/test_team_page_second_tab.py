"""The team page open in two tabs: a decision sent from the second after the first decided the
draft differently is no success and drops nothing typed. The page comes back (409) saying who
decided what and when, with what was typed kept in fields; the same decision sent again (a
double submit, a retry) still answers as before: "already ...; nothing changed"."""

from __future__ import annotations

import html
import re

from alignment.drafting.store import Draft, decisions
from alignment.models import Okr
from tests.service.test_review_page import WHEN, _pending_draft, _status

TEAM = "T-9"


def _article(page: str, draft_id: str) -> str:
    found = re.search(rf'<article class="draft" data-draft="{draft_id}".*?</article>', page, re.S)
    assert found, page
    return found.group(0)


def _conflict_said(answer, draft_id: str) -> str:
    assert answer.status_code == 409, (answer.status_code, answer.url)
    said = re.findall(
        r'<p role="alert" data-refused data-conflict tabindex="-1">(.*?)</p>',
        _article(answer.text, draft_id),
    )
    assert len(said) == 1, answer.text
    return html.unescape(said[0])


def _kept(answer, draft_id: str) -> str:
    """The article's block of what the refused form typed, to its end."""
    article = _article(answer.text, draft_id)
    assert article.count('<div class="kept" data-kept="') == 1, article
    return article[article.index('<div class="kept"') :]


def test_other_edits_from_a_second_tab_are_a_conflict_that_keeps_them(
    client, scored_sample, jobs, session
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    approve = f"/orgs/{org}/team/{TEAM}/drafts/{draft_id}/approve"
    tab_a = {"s0_title": "Tab A's title for the OKR"}
    first = client.post(approve, data=tab_a)
    assert first.status_code == 200 and f"?decided={draft_id}" in str(first.url)
    recorded = decisions(session, org, draft_id)
    assert [d.decision for d in recorded] == ["edited_and_approved"]

    tab_b = {
        "s0_title": "Tab B's <b>bold</b> title & more",
        "s0_description": 'Typed in tab B: "keep me" </textarea><script>x()</script>',
    }
    second = client.post(approve, data=tab_b)
    said = _conflict_said(second, draft_id)
    assert re.fullmatch(
        f"Draft {draft_id} was already approved with edits by you at {WHEN}; your edits were "
        "not applied and nothing was created. They are kept below as you typed them: compare "
        "them with the OKRs it created, and change those if yours should stand.",
        said,
    ), said
    assert _status(second.text) == []  # no "already ...; nothing new was created" success line
    kept = _kept(second, draft_id)
    # What tab B typed, in its fields and escaped as every entry is; nothing of it runs.
    assert 'name="s0_title" value="Tab B&#39;s &lt;b&gt;bold&lt;/b&gt; title &amp; more"' in kept, (
        kept
    )
    assert (
        "&#34;keep me&#34; &lt;/textarea&gt;&lt;script&gt;x()&lt;/script&gt;</textarea>" in kept
    ), kept
    assert "<script>x()" not in second.text and "<form" not in kept  # kept to copy, not resent
    # Tab A's approval stands, untouched.
    assert decisions(session, org, draft_id) == recorded
    assert session.get(Okr, {"org_id": org, "id": f"{draft_id}-O1"}).title == tab_a["s0_title"]

    # Tab A's form sent again (a double submit) is the retry it always was.
    again = client.post(approve, data=tab_a)
    assert again.status_code == 200 and "again=1" in str(again.url)
    assert re.fullmatch(
        f"Draft {draft_id} already approved with edits \\(by you at {WHEN}\\); nothing new was "
        "created\\.",
        _status(again.text)[0],
    )
    assert decisions(session, org, draft_id) == recorded


def test_edits_sent_to_a_draft_rejected_meanwhile_are_kept(
    client, scored_sample, jobs, session
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    client.post(f"/orgs/{org}/review/drafts/{draft_id}/reject", data={"reason": "Not now."})
    sent = client.post(
        f"/orgs/{org}/team/{TEAM}/drafts/{draft_id}/approve",
        data={"s0_title": "Approved after all?", "s0_kr0_target": "12,5"},
    )
    said = _conflict_said(sent, draft_id)
    assert re.fullmatch(
        f'Draft {draft_id} was already rejected by you at {WHEN} with the reason "Not now."; '
        "your edits were not applied and nothing was created. They are kept below as you typed "
        "them: ask for a new draft, or write the OKR yourself, if yours should stand.",
        said,
    ), said
    kept = _kept(sent, draft_id)
    assert 'value="Approved after all?"' in kept and 'name="s0_kr0_target" value="12,5"' in kept
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "rejected"


def test_another_reason_from_a_second_tab_is_a_conflict_that_keeps_it(
    client, scored_sample, jobs, session
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    reject = f"/orgs/{org}/team/{TEAM}/drafts/{draft_id}/reject"
    client.post(reject, data={"reason": "Not this cycle."})
    recorded = decisions(session, org, draft_id)

    second = client.post(reject, data={"reason": "Too vague <em>for</em> the board"})
    said = _conflict_said(second, draft_id)
    assert re.fullmatch(
        f'Draft {draft_id} was already rejected by you at {WHEN} with the reason "Not this '
        'cycle."; your reason below was not recorded: the first reason stands.',
        said,
    ), said
    kept = _kept(second, draft_id)
    assert 'name="reason" value="Too vague &lt;em&gt;for&lt;/em&gt; the board"' in kept, kept
    assert decisions(session, org, draft_id) == recorded

    # The same reason again (a double submit) answers as the first time did.
    again = client.post(reject, data={"reason": " Not this cycle. "})
    assert again.status_code == 200 and "again=1" in str(again.url)
    assert re.fullmatch(
        f"Draft {draft_id} already rejected \\(by you at {WHEN}\\); nothing changed\\.",
        _status(again.text)[0],
    )
    assert decisions(session, org, draft_id) == recorded
