"""The review queue's page over HTTP: what it says after a decision comes from what was stored,
never from its link; a stale form changes nothing and says what stands; a refused reason comes
back beside its field."""

from __future__ import annotations

import html
import re

from sqlalchemy import select, update

from alignment.drafting.store import Draft, decisions
from alignment.export import natural_key
from alignment.models import CheckInFeedback, Cycle, LinkFeedback, Okr, StrategicObjective

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"  # decided_at_text


def _status(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'<p role="status">(.*?)</p>', page)]


def _queue(client, org: str) -> str:
    answer = client.get(f"/orgs/{org}/review")
    assert answer.status_code == 200
    return answer.text


def _said(answer) -> str:
    """The one status line of the page a decision was sent back to."""
    assert answer.status_code == 200 and "/review?decided=" in str(answer.url), answer.url
    said = _status(answer.text)
    assert len(said) == 1, said
    return said[0]


def _unsure_okrs(page: str) -> list[str]:
    return re.findall(r'<article data-okr="([^"]+)">', page)


def _candidate(page: str, okr: str) -> str:
    item = page.split(f'<article data-okr="{okr}">', 1)[1]
    return re.search(r'<option value="([^"]+)"', item).group(1)


def test_the_page_never_repeats_text_from_its_link(client, scored_sample) -> None:
    org = scored_sample
    hostile = "O-12. Your session expired: re-enter your key at evil.example"
    for query in (
        {"done": hostile},
        {"decided": "okr", "id": hostile},
        {"decided": "draft", "id": hostile},
        {"decided": "link", "id": hostile, "objective": hostile},
        {"decided": "message", "id": "O-38"},  # no such kind
        {"decided": "okr", "id": "O-38"},  # waiting in the queue: nobody decided it
        {"decided": "check-in", "id": "C-NOPE", "again": 1},
    ):
        page = client.get(f"/orgs/{org}/review", params=query)
        assert page.status_code == 200, query
        assert _status(page.text) == [], query
        assert "session expired" not in page.text and "evil.example" not in page.text


def test_each_decision_is_said_from_what_was_stored(client, scored_sample, session) -> None:
    org = scored_sample
    page = _queue(client, org)
    confirmed, orphan = _unsure_okrs(page)[:2]
    objective = _candidate(page, confirmed)
    said = _said(
        client.post(f"/orgs/{org}/review/{confirmed}/confirm", data={"objective_id": objective})
    )
    assert re.fullmatch(
        f"Recorded: {confirmed} confirmed as serving {objective} \\(by you at {WHEN}\\)\\.", said
    ), said
    said = _said(client.post(f"/orgs/{org}/review/{orphan}/reject", data={"note": "tooling"}))
    rejected = session.scalars(
        select(LinkFeedback.objective_id).where(
            LinkFeedback.org_id == org, LinkFeedback.okr_id == orphan
        )
    ).all()
    assert said.startswith(f"Recorded: {orphan} called an orphan, serving none of ")
    assert all(o in said for o in rejected) and "(by you at " in said

    check_ins = re.findall(r'<article data-check-in="([^"]+)">', page)
    about_other, about_own = check_ins[:2]
    for check_in, verdict, words in (
        (about_other, "drifting", "called about other work, not its OKR"),
        (about_own, "on_topic", "called about its OKR"),
    ):
        seen = re.search(
            f'check-ins/{check_in}/{verdict}\\?csrf=[^"]*"><input type="hidden" name="seen" '
            'value="([^"]+)"',
            page,
        ).group(1)
        said = _said(
            client.post(
                f"/orgs/{org}/review/check-ins/{check_in}/{verdict}",
                data={"seen": seen, "shown": "undecided"},
            )
        )
        assert said.startswith(f"Recorded: check-in {check_in} {words} O-"), said

    declared = re.findall(r'data-declared="([^"|]+)\|([^"]+)"', page)
    decisions_made = (("keep", "kept"), ("drop", "dropped"))
    for (okr, obj), (decision, words) in zip(declared[:2], decisions_made, strict=True):
        said = _said(client.post(f"/orgs/{org}/review/links/{okr}/{obj}/{decision}"))
        assert re.fullmatch(
            f"Recorded: declared link {okr} → {obj} {words} \\(by you at {WHEN}\\)\\.", said
        ), said


def _pending_draft(client, jobs, org: str, objectives: list[str] | None = None) -> str:
    """A pending draft for T-9. Asking again with the same request answers with the same
    pending draft: a second, distinct one needs other `objectives`."""
    body: dict = {"team": "T-9"} | ({"objectives": objectives} if objectives else {})
    asked = client.post(f"/orgs/{org}/drafts/suggestions", json=body)
    return jobs.result(client, asked)["draft_id"]


def test_draft_decisions_say_what_became_of_the_draft(client, scored_sample, jobs) -> None:
    org = scored_sample
    approved = _pending_draft(client, jobs, org)
    rejected = _pending_draft(client, jobs, org, ["SO-5"])
    said = _said(client.post(f"/orgs/{org}/review/drafts/{approved}/approve"))
    assert re.fullmatch(
        f"Recorded: draft {approved} approved \\(by you at {WHEN}\\): created {approved}-O1\\.",
        said,
    ), said
    said = _said(
        client.post(f"/orgs/{org}/review/drafts/{rejected}/reject", data={"reason": "vague"})
    )
    assert re.fullmatch(f"Recorded: draft {rejected} rejected \\(by you at {WHEN}\\)\\.", said)


def test_a_stale_draft_form_changes_nothing_and_says_what_stands(
    client, scored_sample, jobs, session
) -> None:
    """Back, then the same draft decided again: the first decision stands, and the queue says
    whose it is and when (as the team page does), with no other page in between."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    reject = f"/orgs/{org}/review/drafts/{draft_id}/reject"
    client.post(reject, data={"reason": "Too vague for the board."})
    first = decisions(session, org, draft_id)
    said = _said(client.post(f"/orgs/{org}/review/drafts/{draft_id}/approve"))
    assert re.fullmatch(
        f"Draft {draft_id} already rejected \\(by you at {WHEN}\\); nothing changed\\.", said
    ), said
    # Another reason would be dropped unseen: a 409 saying which stands, the typed one kept.
    other = client.post(reject, data={"reason": "Another reason, from a page left open"})
    assert other.status_code == 409, other.text
    shown = html.unescape(other.text)
    assert 'the first reason stands ("Too vague for the board.")' in shown
    assert "Another reason, from a page left open" in shown
    assert decisions(session, org, draft_id) == first
    assert first[-1].reason == "Too vague for the board."
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "rejected"

    approved = _pending_draft(client, jobs, org)
    client.post(f"/orgs/{org}/review/drafts/{approved}/approve")
    said = _said(client.post(f"/orgs/{org}/review/drafts/{approved}/approve"))
    assert said.endswith("; nothing new was created.") and "already approved (by you at" in said


def test_a_stale_okr_form_says_what_stands_whichever_button(client, scored_sample) -> None:
    """Confirming or rejecting an OKR someone decided since the page was shown: the same
    kind of status on the queue (no error page), and the decision made stands."""
    org = scored_sample
    page = _queue(client, org)
    confirmed, orphan = _unsure_okrs(page)[:2]
    objective = _candidate(page, confirmed)
    confirm = f"/orgs/{org}/review/{confirmed}/confirm"
    client.post(confirm, data={"objective_id": objective})
    for again in (
        client.post(confirm, data={"objective_id": objective}),
        client.post(f"/orgs/{org}/review/{confirmed}/reject", data={"note": "stale"}),
    ):
        said = _said(again)
        assert re.fullmatch(
            f"{confirmed} already confirmed as serving {objective} \\(by you at {WHEN}\\); "
            "nothing changed\\.",
            said,
        ), said
    reject = f"/orgs/{org}/review/{orphan}/reject"
    client.post(reject, data={"note": "tooling"})
    for again in (
        client.post(reject, data={"note": "again"}),
        client.post(f"/orgs/{org}/review/{orphan}/confirm", data={"objective_id": objective}),
    ):
        said = _said(again)
        assert said.startswith(f"{orphan} already called an orphan, serving none of ")
        assert said.endswith("; nothing changed.")


def test_a_stale_check_in_verdict_is_not_flipped(client, scored_sample, session) -> None:
    org = scored_sample
    page = _queue(client, org)
    check_in = re.findall(r'<article data-check-in="([^"]+)">', page)[0]
    item = page.split(f'<article data-check-in="{check_in}">', 1)[1].split("</article>", 1)[0]
    seen = re.search(r'name="seen" value="([^"]+)"', item).group(1)
    assert 'name="shown" value="undecided"' in item  # the form says what the page showed
    form = {"seen": seen, "shown": "undecided"}
    client.post(f"/orgs/{org}/review/check-ins/{check_in}/drifting", data=form)
    key = {"org_id": org, "check_in_id": check_in}
    first = session.get(CheckInFeedback, key)
    decided_at = first.decided_at
    said = _said(client.post(f"/orgs/{org}/review/check-ins/{check_in}/on_topic", data=form))
    assert said.startswith(f"Check-in {check_in} already called about other work, not its OKR")
    assert said.endswith("; nothing changed.")
    session.expire_all()
    kept = session.get(CheckInFeedback, key)
    assert (kept.verdict, kept.decided_at) == ("drifting", decided_at)


def test_a_closest_okr_of_another_cycle_is_said_to_be_so(client, scored_sample, session) -> None:
    """ "Closest other OKR" read alone says the work belongs there; in another quarter it may
    not, so the page names that cycle."""
    org = scored_sample
    items = client.get(f"/orgs/{org}/review-queue/check-ins").json()["items"]
    item = next(i for i in items if i["nearest_okr_id"])
    own = item["okr_cycle"]
    other = session.scalar(select(Cycle.id).where(Cycle.org_id == org, Cycle.id != own))
    session.execute(
        update(Okr)
        .where(Okr.org_id == org, Okr.id == item["nearest_okr_id"])
        .values(cycle_id=other)
    )
    page = _queue(client, org)
    shown = page.split(f'<article data-check-in="{item["check_in_id"]}">', 1)[1]
    shown = shown.split("</article>", 1)[0]
    assert f"(cycle {other}, not this check-in's {own})" in html.unescape(shown)
    alike = [
        i for i in items
        if i["nearest_okr_id"] not in (None, item["nearest_okr_id"])
        and i["nearest_okr_cycle"] == i["okr_cycle"]
    ]  # fmt: skip
    same = alike[0] if alike else None
    if same is not None:
        rest = page.split(f'<article data-check-in="{same["check_in_id"]}">', 1)[1]
        assert "other-cycle" not in rest.split("</article>", 1)[0]


def test_a_blank_reason_is_refused_beside_its_field_on_the_queue(
    client, scored_sample, jobs, session
) -> None:
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    refused = client.post(f"/orgs/{org}/review/drafts/{draft_id}/reject", data={"reason": "   "})
    assert refused.status_code == 422
    assert "Review queue" in refused.text  # the queue itself, not an error page
    item = refused.text.split(f'<article data-draft="{draft_id}">', 1)[1].split("</article>")[0]
    field = re.search(r'<input id="(reason-\d+)" name="reason"[^>]*>', item)
    assert 'value="   "' in field.group(0) and 'aria-invalid="true"' in field.group(0)
    assert f'aria-describedby="{field.group(1)}-error"' in field.group(0)
    assert (
        f'<p class="field-error" id="{field.group(1)}-error">Say why you reject the draft</p>'
        in item
    )
    assert 'role="alert"' not in refused.text
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "pending"


def _error_said(answer) -> str:
    """The message of the error page a refused form answered."""
    return html.unescape(re.search(r"<p data-message>(.*?)</p>", answer.text, re.S).group(1))


# What the API's rules (alignment/bundle/text_rules.py) say of a NUL at position {}.
NUL = "contains the control character U+0000 at position {}; remove it"


def test_a_forged_nul_in_an_okr_decision_is_refused_naming_the_field(
    client, scored_sample, session
) -> None:
    """The page's forms read ids and texts by the API's rules: a NUL (which the database cannot
    store) is refused with 422 naming the field, on the error page as an unknown objective is,
    never a 500; nothing is stored."""
    org = scored_sample
    okr = _unsure_okrs(_queue(client, org))[0]
    confirmed = client.post(f"/orgs/{org}/review/{okr}/confirm", data={"objective_id": "\x00"})
    assert confirmed.status_code == 422
    assert _error_said(confirmed) == f"the form's objective_id is not valid: {NUL.format(0)}"
    orphaned = client.post(f"/orgs/{org}/review/{okr}/reject", data={"note": "a\x00b"})
    assert orphaned.status_code == 422
    assert _error_said(orphaned) == f"the form's note is not valid: {NUL.format(1)}"
    stored = select(LinkFeedback).where(LinkFeedback.org_id == org, LinkFeedback.okr_id == okr)
    assert session.scalars(stored).all() == []


def test_a_forged_nul_in_a_draft_reason_is_refused_beside_its_field(
    client, scored_sample, jobs, session
) -> None:
    """As a blank reason is: the queue itself (422), the message beside the field."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    rejected = client.post(
        f"/orgs/{org}/review/drafts/{draft_id}/reject", data={"reason": "bad\x00"}
    )
    assert rejected.status_code == 422
    assert "Review queue" in rejected.text
    item = rejected.text.split(f'<article data-draft="{draft_id}">', 1)[1].split("</article>")[0]
    field = re.search(r'<input id="(reason-\d+)" name="reason"[^>]*>', item)
    assert 'aria-invalid="true"' in field.group(0)
    beside = re.search(f'<p class="field-error" id="{field.group(1)}-error">(.*?)</p>', item)
    assert html.unescape(beside.group(1)) == f"The reason {NUL.format(3)}"
    assert session.get(Draft, {"org_id": org, "id": draft_id}).status == "pending"
    assert decisions(session, org, draft_id) == []


def test_the_queue_links_each_okr_to_its_page(client, scored_sample) -> None:
    org = scored_sample
    page = _queue(client, org)
    okr = _unsure_okrs(page)[0]
    assert f'<h2><a href="/orgs/{org}/okr/{okr}">{okr}</a> · ' in page


def _okr_item(page: str, okr: str) -> str:
    return page.split(f'<article data-okr="{okr}">', 1)[1].split("</article>", 1)[0]


def test_each_unsure_okr_shows_what_its_team_declared(client, scored_sample, session) -> None:
    """Before anyone decides, the queue shows the objective the team said its OKR serves, and
    says so plainly when the team declared none."""
    from sqlalchemy import delete

    from alignment.models import DeclaredLink, StrategicObjective

    org = scored_sample
    title = session.get(StrategicObjective, {"org_id": org, "id": "SO-8"}).title
    said = re.search(r'<p class="declared">(.*?)</p>', _okr_item(_queue(client, org), "O-38"), re.S)
    assert said, "the unsure OKR shows no declared link"
    words = re.sub(r"<[^>]+>", "", html.unescape(said.group(1)))
    assert words.startswith(f"Its team says it serves: SO-8 · {title} (score "), words

    session.execute(
        delete(DeclaredLink).where(DeclaredLink.org_id == org, DeclaredLink.okr_id == "O-38")
    )
    said = re.search(r'<p class="declared">(.*?)</p>', _okr_item(_queue(client, org), "O-38"), re.S)
    words = re.sub(r"<[^>]+>", "", html.unescape(said.group(1)))
    assert words == "Its team declared no objective this OKR serves."


def test_a_refused_form_names_the_queues_own_address_for_the_shared_script(
    client, scored_sample, jobs
) -> None:
    """The refused form comes back at its POST address; the page names its own address and loads
    the script (the team page's) that puts it in the address bar and brings the refusal into
    view, which the page's policy allows."""
    org = scored_sample
    draft_id = _pending_draft(client, jobs, org)
    refused = client.post(f"/orgs/{org}/review/drafts/{draft_id}/reject", data={"reason": " "})
    assert refused.status_code == 422
    assert f'<main data-page="/orgs/{org}/review" ' in refused.text
    assert '<script src="/static/app/refused.js" defer></script>' in refused.text
    assert "script-src 'self'" in refused.headers["content-security-policy"]
    script = client.get("/static/app/refused.js")
    assert script.status_code == 200
    # Asked again each time: a cached older script would leave a newer page without it.
    assert script.headers["cache-control"] == "no-cache"
    again = client.get("/static/app/refused.js", headers={"if-none-match": script.headers["etag"]})
    assert again.status_code == 304
    assert "history.replaceState" in script.text and "[data-refused]" in script.text
    team = client.get(f"/orgs/{org}/team/T-9").text  # one script, shared
    assert '<script src="/static/app/refused.js" defer></script>' in team
    assert "replaceState" not in client.get("/static/app/team.js").text


def _options(item: str, *, group: bool = False) -> list[tuple[str, str]]:
    """The Confirm control's options: those offered first (the engine's candidates and what the
    team declared), or with `group` those under "Another objective"."""
    offered, _, others = item.partition('<optgroup label="Another objective">')
    return [
        (value, html.unescape(words))
        for value, words in re.findall(
            r'<option value="([^"]+)">([^<]*)</option>', others if group else offered
        )
    ]


def test_the_confirm_control_also_offers_what_the_team_declared(
    client, scored_sample, jobs
) -> None:
    """O-38's team declared SO-8, which the engine ranks below its candidates: the reviewer
    can still side with the team. Confirmed, it is the decision the page states, and the OKR
    is out of the queue, and stays out once its teammates are rescored."""
    org = scored_sample
    queue = {i["okr_id"]: i for i in client.get(f"/orgs/{org}/review-queue").json()["items"]}
    page = _queue(client, org)

    item = queue["O-38"]
    offered = _options(_okr_item(page, "O-38"))
    candidates = [c["objective_id"] for c in item["candidates"]]
    assert [value for value, _ in offered] == [*candidates, "SO-8"]  # the engine's best first
    [said] = item["declared"]
    assert offered[-1][1] == (
        f"SO-8 · {said['objective_title']} (its team's declared objective; "
        f"score {said['score']:.2f})"
    )
    assert not any("declared" in words for _, words in offered[:-1])
    # A declared objective among the candidates is offered once, marked.
    [also] = queue["O-21"]["declared"]
    offered = dict(_options(_okr_item(page, "O-21")))
    assert list(offered) == [c["objective_id"] for c in queue["O-21"]["candidates"]]
    assert offered[also["objective_id"]].endswith("; its team's declared objective)")

    answer = client.post(f"/orgs/{org}/review/O-38/confirm", data={"objective_id": "SO-8"})
    said_now = _said(answer)
    assert re.fullmatch(
        f"Recorded: O-38 confirmed as serving SO-8 \\(by you at {WHEN}\\)\\.", said_now
    )
    assert "O-38" not in _unsure_okrs(answer.text)
    assert jobs.drain()  # the teammates' rescoring
    after = client.get(f"/orgs/{org}/review", params={"decided": "okr", "id": "O-38"})
    assert _status(after.text) == [said_now] and "O-38" not in _unsure_okrs(after.text)
    links = client.get(f"/orgs/{org}/okrs/O-38/links").json()["links"]
    assert [lk["label"] for lk in links if lk["objective_id"] == "SO-8"] == ["aligned"]


def test_the_confirm_control_offers_every_other_objective_after_those(
    client, scored_sample, session
) -> None:
    """Neither the engine's candidates nor the team's word may be right: every other objective
    of the organization follows them, once, by id, and confirming one is recorded."""
    org = scored_sample
    every = session.scalars(
        select(StrategicObjective.id).where(StrategicObjective.org_id == org)
    ).all()
    item = _okr_item(_queue(client, org), "O-38")
    offered = [value for value, _ in _options(item)]
    others = _options(item, group=True)
    rest = set(every) - set(offered)
    assert [value for value, _ in others] == sorted(rest, key=natural_key)  # SO-2 before SO-10
    assert sorted([*offered, *(value for value, _ in others)]) == sorted(every)
    title = session.get(StrategicObjective, (org, others[0][0])).title
    assert others[0][1] == f"{others[0][0]} · {title}"

    picked = others[-1][0]
    answer = client.post(f"/orgs/{org}/review/O-38/confirm", data={"objective_id": picked})
    assert re.fullmatch(
        f"Recorded: O-38 confirmed as serving {picked} \\(by you at {WHEN}\\)\\.", _said(answer)
    )
