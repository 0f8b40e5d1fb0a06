"""What the pages tell people about drafts: a failed draft's checks in plain sentences (the raw
gate output stays in the API), and what can be edited where (a summary has no fields to edit)."""

from __future__ import annotations

import html
import re

from tests.service.test_drafts_api import failed_draft
from tests.service.test_review_page import _pending_draft


def _article(page: str, draft_id: str) -> str:
    return page.split(f'data-draft="{draft_id}"', 1)[1].split("</article>", 1)[0]


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_a_failed_draft_says_each_failed_check_in_a_plain_sentence(
    client, scored_sample, jobs
) -> None:
    org = scored_sample
    failed = failed_draft(client, jobs, org, "T-9")
    raw = [p["message"] for g in failed["gates"] if not g["passed"] for p in g["problems"]]
    assert any("cosine" in m for m in raw)  # what the API keeps, for the audit

    shown = _text(_article(client.get(f"/orgs/{org}/team/T-9").text, failed["id"]))
    # What it repeated is named, by the id the gate kept beside its message.
    repeated = [
        p["okr"] for g in failed["gates"] if g["name"] == "not_duplicate" for p in g["problems"]
    ]
    assert repeated and "Suggestion 1 nearly repeats " in shown and repeated[0] in shown, shown
    assert "nearly repeated an OKR or key result" not in shown, shown
    for words in ("cosine", "$.suggestions", "not_duplicate", ">="):
        assert words not in shown, words
    audit = client.get(f"/orgs/{org}/drafts/{failed['id']}/audit")
    assert audit.status_code == 200 and "cosine" in audit.text


def test_only_a_suggestion_is_sent_to_the_team_page_to_be_edited(
    client, scored_sample, jobs
) -> None:
    org = scored_sample
    suggestion = _pending_draft(client, jobs, org)
    asked = client.post(f"/orgs/{org}/drafts/summaries", json={"team": "T-9"})
    summary = jobs.result(client, asked)["draft_id"]

    queue = client.get(f"/orgs/{org}/review").text
    said = _text(_article(queue, suggestion))
    assert "To edit its titles, descriptions or key results' numbers before approving" in said
    said = _text(_article(queue, summary))
    assert "edit" not in said.lower(), said
    assert "A summary is approved or rejected as written" in said

    team = client.get(f"/orgs/{org}/team/T-9").text
    mine = _article(team, summary)
    assert "<input" not in mine.split("Reason for rejecting", 1)[0]  # nothing to edit above
    assert "A summary is approved or rejected as written" in _text(mine)
    # The suggestion's key results' numbers are fields of its form.
    form = _article(team, suggestion)
    assert 'name="s0_kr0_target"' in form and 'name="s0_kr0_baseline"' in form
