"""An objective's page says of its weak OKRs only what a person can do: those the review queue
lists (an OKR unsure as a whole, a declared link the text does not support) are marked as in it;
of the others it promises no decision, since no page offers one."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from alignment.models import ScoredLink, StrategicObjective
from alignment.scoring.reads import stored_verdicts

PAGE = {"Accept": "text/html"}


def _weak_section(page: str) -> str:
    return page.split('<section aria-labelledby="weak-h">', 1)[1].split("</section>", 1)[0]


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def _queued(client, org: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The OKRs the review queue lists, and its declared links (OKR, objective)."""
    queue = client.get(f"/orgs/{org}/review", headers=PAGE).text
    okrs = set(re.findall(r'<article data-okr="([^"]+)">', queue))
    declared = set(re.findall(r'data-declared="([^"|]+)\|([^"]+)"', queue))
    return okrs, declared


def test_each_weak_okr_says_whether_the_review_queue_lists_it(
    client, scored_sample, session
) -> None:
    org = scored_sample
    okrs, declared = _queued(client, org)
    verdict = stored_verdicts(session, org)
    objectives = session.scalars(
        select(StrategicObjective.id).where(StrategicObjective.org_id == org)
    ).all()
    seen = {"in": 0, "out": 0}
    for objective in objectives:
        weak = session.scalars(
            select(ScoredLink.okr_id).where(
                ScoredLink.org_id == org,
                ScoredLink.objective_id == objective,
                ScoredLink.label == "weak",
            )
        ).all()
        if not weak:
            continue
        page = client.get(f"/orgs/{org}/objective/{objective}", headers=PAGE).text
        section = _weak_section(page)
        said = _text(re.search(r"<p class=\"muted\" data-weak-how>(.*?)</p>", section, re.S)[1])
        assert "a person can confirm one in the review queue" not in said
        for okr in weak:
            row = re.search(f'<tr data-okr="{re.escape(okr)}">(.*?)</tr>', section, re.S)[1]
            listed = okr in okrs or (okr, objective) in declared
            assert ("data-in-review" in row) is listed, (objective, okr, row)
            seen["in" if listed else "out"] += 1
            if not listed:
                assert verdict[okr] in ("aligned", "orphan"), (okr, verdict[okr])
        marked = section.count("data-in-review")
        assert ("marked “in the review queue”" in said) is bool(marked), said
        if marked < len(weak):
            assert "the review queue does not list" in said, said
    assert seen["in"] and seen["out"], seen  # the sample has weak OKRs of both kinds


def test_so_11_no_longer_promises_a_decision_the_queue_does_not_offer(
    client, scored_sample
) -> None:
    org = scored_sample
    page = client.get(f"/orgs/{org}/objective/SO-11", headers=PAGE).text
    said = _text(_weak_section(page))
    assert "a person can confirm one in the review queue" not in said
    assert "text comes close to this objective" in said
