"""The review queue page: "Serves none: orphan" on an OKR covers what its team declared, so its
declared link leaves the queue, and a "Keep the link" form from before says what stands instead
of quietly turning the orphan into an aligned OKR."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from alignment import review
from alignment.models import LinkFeedback
from alignment.scoring.feedback import record_feedback

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"


def _status(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'<p role="status">(.*?)</p>', page)]


def _article(page: str, marker: str) -> str:
    return page.split(marker, 1)[1].split("</article>", 1)[0]


def _verdict(session, org: str, okr: str, objective: str) -> str | None:
    return session.scalar(
        select(LinkFeedback.verdict).where(
            LinkFeedback.org_id == org,
            LinkFeedback.okr_id == okr,
            LinkFeedback.objective_id == objective,
        )
    )


def test_serves_none_drops_the_declared_link_and_a_later_keep_changes_nothing(
    client, session, scored_sample
) -> None:
    org = scored_sample
    page = client.get(f"/orgs/{org}/review").text
    assert 'data-declared="O-38|SO-8"' in page
    item = _article(page, '<article data-okr="O-38">')
    assert "Also drops its team's declared SO-8." in item, item

    answer = client.post(f"/orgs/{org}/review/O-38/reject", data={"note": "museum"})
    assert answer.status_code == 200 and "decided=okr" in str(answer.url)
    candidates = ", ".join(review.candidate_ids(session, org, "O-38"))
    [said] = _status(answer.text)
    assert re.fullmatch(
        f"Recorded: O-38 called an orphan, serving none of {candidates}, nor SO-8 that its "
        f"team declared \\(by you at {WHEN}\\)\\.",
        said,
    ), said
    assert 'data-declared="O-38|SO-8"' not in answer.text
    assert _verdict(session, org, "O-38", "SO-8") == "rejected"

    # The "Keep the link" form of the page shown before: the orphan decision stands.
    stale = client.post(f"/orgs/{org}/review/links/O-38/SO-8/keep")
    assert stale.status_code == 200 and "again=1" in str(stale.url)
    [said] = _status(stale.text)
    assert re.fullmatch(
        f"Declared link O-38 → SO-8 already dropped when O-38 was called an orphan "
        f"\\(by you at {WHEN}\\); nothing changed\\.",
        said,
    ), said
    assert _verdict(session, org, "O-38", "SO-8") == "rejected"
    links = client.get(f"/orgs/{org}/okrs/O-38/links").json()["links"]
    assert all(lk["label"] != "aligned" for lk in links)


def test_a_declared_link_left_open_by_an_earlier_orphan_decision_says_so(
    client, session, scored_sample
) -> None:
    """An orphan decision recorded before it covered declared links: the link waits in the
    queue, and the page says keeping it replaces that decision."""
    org = scored_sample
    candidates = review.candidate_ids(session, org, "O-38")
    for objective in candidates:
        record_feedback(session, org, "O-38", objective, verdict="rejected", decided_by="li")
    page = client.get(f"/orgs/{org}/review").text
    link = _article(page, 'data-declared="O-38|SO-8"')
    said = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", link)))
    assert (
        f"O-38 was called an orphan by li, serving none of {', '.join(candidates)}. Keeping this "
        "link replaces that decision: O-38 then serves SO-8."
    ) in said, said
