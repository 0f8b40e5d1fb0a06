"""The review queue, the strategy map and the report after a walk-through: a candidate a person
rejected is marked and offered last (and the queue's API says who decided it), the Confirm
control's tooltip refuses nothing before anything was pressed, an organization with nothing
imported shows no sections of nothing, and the three pages give the same import hint."""

from __future__ import annotations

import html
import re
import uuid

from alignment import review

PAGE = {"Accept": "text/html"}
HINT = (
    "Import its strategic objectives, teams and OKRs as a JSON bundle (goldenthread import "
    "my-org.bundle.json, or POST /bundles), or its OKRs as a CSV spreadsheet (POST /orgs/{org}/"
    "okrs.csv)"
)


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _plain(page: str) -> str:
    """The words with the tags dropped in place (a <code> inside a sentence)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def _article(page: str, okr: str) -> str:
    return page.split(f'<article data-okr="{okr}">', 1)[1].split("</article>", 1)[0]


def test_a_rejected_candidate_is_marked_and_offered_last(client, session, scored_sample) -> None:
    org = scored_sample
    item = next(i for i in review.queue(session, org) if len(i["candidates"]) >= 2)
    okr, first = item["okr_id"], item["candidates"][0]["objective_id"]
    url = f"/orgs/{org}/okrs/{okr}/links/{first}/feedback"
    assert client.post(url, json={"verdict": "rejected"}).status_code == 200
    listed = client.get(f"/orgs/{org}/review-queue", params={"limit": 500}).json()["items"]
    shown = next(i for i in listed if i["okr_id"] == okr)
    decisions = {c["objective_id"]: c["decision"] for c in shown["candidates"]}
    assert decisions[first]["verdict"] == "rejected" and decisions[first]["by"] == "test-admin"
    assert decisions[first]["at"]
    assert all(d is None for o, d in decisions.items() if o != first)
    select = _article(client.get(f"/orgs/{org}/review").text, okr).split("<select", 1)[1]
    offered = re.findall(r'<option value="(SO-[^"]+)"([^>]*)>([^<]*)</option>', select)
    candidates = [o for o, _, _ in offered[: len(item["candidates"])]]
    assert candidates[0] != first and candidates[-1] == first
    rejected = next(words for o, attrs, words in offered if o == first)
    assert "rejected by test-admin on " in html.unescape(rejected)


def test_the_confirm_tooltip_refuses_nothing_before_a_confirm(client, scored_sample) -> None:
    org = scored_sample
    page = client.get(f"/orgs/{org}/review").text
    titles = re.findall(r'<select [^>]*name="objective_id"[^>]*title="([^"]*)"', page)
    assert titles and "nothing was recorded" not in " ".join(titles)
    okr = re.findall(r'<article data-okr="([^"]+)">', page)[0]
    refused = client.post(f"/orgs/{org}/review/{okr}/confirm", data={"objective_id": ""})
    assert refused.status_code == 422
    article = _article(refused.text, okr)
    assert 'title="Choose the objective this OKR serves, then press Confirm: nothing was' in (
        article
    )


def test_an_empty_organization_shows_no_sections_of_nothing(client, jobs) -> None:
    org = f"empty-{uuid.uuid4().hex[:6]}"
    assert client.post("/orgs", json={"id": org, "name": "Empty Co"}).status_code == 201
    hint = HINT.format(org=org)

    queue = client.get(f"/orgs/{org}/review").text
    assert "(0)" not in _text(queue) and 'id="check-ins"' not in queue
    assert hint in _plain(queue)

    shown = client.get(f"/orgs/{org}/strategy-map").text
    assert "None." not in _text(shown) and 'id="orphans"' not in shown
    assert hint in _plain(shown)

    client.get(f"/orgs/{org}/report.html", headers=PAGE)
    jobs.drain()
    report = client.get(f"/orgs/{org}/report.html", headers=PAGE).text
    words = _text(report)
    assert hint in _plain(report)
    assert "none of 0 match" not in words and "data-coverage-bar" not in report


def test_the_map_card_names_what_awaits_review(client, scored_sample) -> None:
    page = client.get(f"/orgs/{scored_sample}/strategy-map").text
    card = re.search(r"<div class=\"card\" data-okrs-awaiting-review>(.*?)</div>", page, re.S)
    assert card and re.fullmatch(r"\d+ OKRs? awaiting review", _text(card.group(1)))
