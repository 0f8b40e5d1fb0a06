"""What a walk-through of the sample organization found on the pages: the review queue's Confirm
starting on the engine's guess, an empty organization's pages talking of scores and shares, the
report's unlabelled bar column, internal keys and bare numbers on the OKR page, the error pages
saying a sentence twice or offering a bare "Sign out", the team page's drifting badge dressed as
an orphan, and no word on the sign-in page after signing out."""

from __future__ import annotations

import html
import re
import uuid

from sqlalchemy import select

from alignment.models import LinkFeedback
from alignment.scoring.drift import DEFAULT as DRIFT
from service.auth import SESSION_COOKIE, form_token
from tests.service.test_web_session import PAGE, csrf_of, web  # noqa: F401 (web: a fixture)


def _text(page: str) -> str:
    """The page's words, without markup, styles or scripts."""
    body = re.sub(r"(?s)<style.*?</style>|<script.*?</script>", "", page)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def _article(page: str, okr: str) -> str:
    return page.split(f'<article data-okr="{okr}">', 1)[1].split("</article>", 1)[0]


def test_confirm_starts_on_no_objective_and_refuses_none_chosen(client, scored_sample, session):
    """Confirm records a person's choice: the control starts on an empty "choose an
    objective…" (the candidates still listed, best first, with their scores), and a Confirm
    with nothing chosen comes back as the queue (422) saying so beside the control, with
    nothing recorded."""
    org = scored_sample
    page = client.get(f"/orgs/{org}/review").text
    okrs = re.findall(r'<article data-okr="([^"]+)">', page)
    assert okrs, "the sample has OKRs awaiting review"
    for okr in okrs:
        select_html = re.search(r"(?s)<select[^>]*>.*?</select>", _article(page, okr)).group(0)
        options = re.findall(r'<option value="([^"]*)"([^>]*)>([^<]*)', select_html)
        assert options[0] == ("", " selected", "choose an objective…"), options[0]
        assert all("selected" not in attrs for _, attrs, _ in options[1:]), okr
        assert "(score " in options[1][2]  # the engine's best candidate next, with its score
        assert " required" in select_html.split(">", 1)[0]

    okr = okrs[0]
    refused = client.post(f"/orgs/{org}/review/{okr}/confirm", data={"objective_id": ""})
    assert refused.status_code == 422 and "/review?decided=" not in str(refused.url)
    item = _article(refused.text, okr)
    said = re.search(r'<p role="alert" data-refused[^>]*id="(obj-\d+)-error">(.*?)</p>', item)
    assert said and said.group(2).startswith("Choose the objective this OKR serves"), item[:600]
    assert f'aria-describedby="{said.group(1)}-error"' in item
    stored = select(LinkFeedback).where(LinkFeedback.org_id == org, LinkFeedback.okr_id == okr)
    assert session.scalars(stored).all() == []
    # The API is unchanged: it names the objective in its body, as before.
    first = re.search(r'<option value="(SO-[^"]+)"', _article(page, okr)).group(1)
    answer = client.post(
        f"/orgs/{org}/review-queue/okrs/{okr}/confirm", json={"objective_id": first}
    )
    assert answer.status_code == 200, answer.text
    assert [f.verdict for f in session.scalars(stored)] == ["confirmed"]


def test_confirm_and_a_team_page_reject_land_on_decided(client, scored_sample, jobs) -> None:
    """The address a decision lands on names it (`?decided=`), so a reload keeps "Recorded"."""
    org = scored_sample
    page = client.get(f"/orgs/{org}/review").text
    okr = re.findall(r'<article data-okr="([^"]+)">', page)[0]
    objective = re.search(r'<option value="(SO-[^"]+)"', _article(page, okr)).group(1)
    confirmed = client.post(f"/orgs/{org}/review/{okr}/confirm", data={"objective_id": objective})
    assert f"/review?decided=okr&id={okr}" in str(confirmed.url), confirmed.url
    asked = client.post(f"/orgs/{org}/drafts/suggestions", json={"team": "T-9"})
    draft = jobs.result(client, asked)["draft_id"]
    rejected = client.post(
        f"/orgs/{org}/team/T-9/drafts/{draft}/reject", data={"reason": "Not this cycle"}
    )
    assert f"/team/T-9?decided={draft}" in str(rejected.url), rejected.url
    again = client.get(str(rejected.url).removeprefix("http://testserver"))
    assert f"Recorded: draft {draft} rejected" in _text(again.text)


def test_an_empty_organization_says_nothing_is_imported(client, jobs) -> None:
    org = f"empty-{uuid.uuid4().hex[:6]}"
    assert client.post("/orgs", json={"id": org, "name": "Empty Co"}).status_code == 201

    review = _text(client.get(f"/orgs/{org}/review").text)
    assert review.count("Nothing awaits review") == 1
    assert "nothing has been imported into this organization yet" in review
    assert "No OKRs await review." not in review and "No drafts await review." not in review

    shown = _text(client.get(f"/orgs/{org}/strategy-map").text)
    assert "Nothing has been imported into this organization yet" in shown
    assert "not been scored yet" not in shown and "starts one" not in shown

    first = client.get(f"/orgs/{org}/report.html", headers=PAGE)
    assert first.status_code == 202  # building the first report: said, and the page reloads
    assert "The first report is being built" in _text(first.text)
    jobs.drain()
    report = client.get(f"/orgs/{org}/report.html", headers=PAGE)
    assert report.status_code == 200
    words = _text(report.text)
    assert "Nothing has been imported into this organization yet" in words
    assert "goldenthread import" in words
    assert "of the 0 check-ins" not in words and "0%" not in words
    assert "No objective has a perspective." not in words
    assert "No strategic objectives yet." in words


def test_the_report_says_what_a_full_coverage_bar_is(client, scored_sample, jobs) -> None:
    org = scored_sample
    client.get(f"/orgs/{org}/report.html", headers=PAGE)
    jobs.drain()
    page = client.get(f"/orgs/{org}/report.html", headers=PAGE).text
    head = re.search(r"<th data-coverage-bar>(.*?)</th>", page)
    assert head and head.group(1).startswith("Aligned, against the most ("), page[:200]
    scale = _text(re.search(r"<p class=\"muted\" data-coverage-scale>(.*?)</p>", page).group(1))
    assert re.fullmatch(r"Bars compare aligned OKRs: a full bar is \d+ aligned OKRs?, the most "
                        r"any objective has here\.", scale), scale  # fmt: skip


def test_the_okr_page_names_fields_in_words_and_explains_drift(client, scored_sample) -> None:
    page = client.get(f"/orgs/{scored_sample}/okr/O-11").text
    quotes = re.findall(r"(?s)<blockquote data-evidence>(.*?)</blockquote>", page)
    evidence = [_text(b) for b in quotes]
    assert evidence and not any("key_result:" in e or "kpi:" in e for e in evidence), evidence
    assert any(e.startswith("key result O-11-KR") for e in evidence), evidence
    assert any("objective's KPI: “" in e or "objective's title: “" in e for e in evidence)
    caption = re.search(r"(?s)<caption[^>]*data-drift-legend[^>]*>(.*?)</caption>", page)
    legend = _text(caption.group(1))
    assert f"From {DRIFT.review:.2f} a person reviews it" in legend, legend
    assert f"from {DRIFT.threshold:.2f} it is flagged as about other work" in legend, legend


def test_the_team_page_drifting_badge_is_not_an_orphans(client, scored_sample) -> None:
    page = client.get(f"/orgs/{scored_sample}/team/T-9").text
    badges = re.findall(r'<span class="([^"]*)" title="check-ins about other work"', page)
    assert badges and set(badges) == {"verdict drifting"}, badges
    assert ".drifting {" in page


def test_error_pages_say_a_refusal_once_and_what_signing_out_is_for(client, scored_sample) -> None:
    org = scored_sample
    client.cookies.set(SESSION_COOKIE, "a-ticket")  # signed in through the pages
    long_note = client.post(f"/orgs/{org}/review/O-38/reject", data={"note": "x" * 5000})
    assert long_note.status_code == 422
    words = _text(long_note.text)
    assert words.count("is 5000 characters long") == 1, words
    missing = client.get(f"/orgs/{org}/okr/NOPE", headers=PAGE)
    assert missing.status_code == 404
    sign_out = re.search(r"(?s)<form [^>]*data-sign-out>(.*?)</form>", missing.text).group(1)
    assert "to sign in with another key" in _text(sign_out), sign_out


def test_the_sign_in_page_says_you_signed_out(web) -> None:  # noqa: F811
    client, raw = web
    form = client.get("/sign-in")
    assert "You are signed out." not in form.text  # only just after signing out
    signed = client.post("/sign-in", data={"key": raw, "csrf": csrf_of(form.text)})
    assert signed.status_code == 200
    token = form_token(client.cookies[SESSION_COOKIE])
    out = client.post(f"/sign-out?csrf={token}", headers=PAGE)
    assert out.status_code == 200 and str(out.url).endswith("/sign-in")
    assert '<p class="done" role="status" data-signed-out>You are signed out.</p>' in out.text
    assert "You are signed out." not in client.get("/sign-in").text  # said once
