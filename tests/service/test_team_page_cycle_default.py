"""A suggestion for a cycle the organization has not defined yet (the default past half of the
current one, when the next is not defined) can be approved only by a role that may define cycles
(an admin): the team page says so up front, beside the suggest form's default and beside such a
draft, and offers the other roles no approval form the server would refuse; an admin gets it."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy.orm import Session

from tests.conftest import auth, keys_per_role

ORG = "acme-cycle-default"
TEAM = f"/orgs/{ORG}/team/T-1"
FORM = {"content-type": "application/x-www-form-urlencoded"}
UNDEFINED = (
    "cannot be approved yet: the draft is for cycle '2027-Q1' (2027-01-01 to 2027-03-31), which "
    "the organization has not defined yet; ask an admin to define the cycle first, then approve "
    "the draft."
)


@pytest.fixture
def setup(session: Session, embedder):
    client, made = keys_per_role(session, embedder, ORG)
    return client, {role: auth(key) for role, key in made.items()}


def _drafted_with_the_default_cycle(client, jobs, lead, check_in_date: str) -> dict:
    """A check-in on the given day (the data's "today"), then the team page's suggest form
    with the cycle left on its default; the stored draft."""
    late = {"id": "C-9", "okr": "O-1", "date": check_in_date, "text": "Called 50 patients."}
    assert client.post(f"/orgs/{ORG}/check-ins", json=late, headers=lead).status_code == 201
    return suggested_with_the_default_cycle(client, jobs, lead, "T-1")


def suggested_with_the_default_cycle(client, jobs, headers, team: str) -> dict:
    """The team page's suggest form, cycle left on its default: the stored draft."""
    sent = client.post(
        f"/orgs/{ORG}/team/{team}/suggest",
        content="cycle=",
        headers=headers | FORM,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    jobs.drain()
    job_id = re.search(r"[?&]job=(\d+)", sent.headers["location"]).group(1)
    job = client.get(f"/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "succeeded", job
    return client.get(job["result"]["url"], headers=headers).json()


def _article(page: str, draft_id: str) -> str:
    found = re.search(rf'<article class="draft" data-draft="{draft_id}".*?</article>', page, re.S)
    assert found, page
    return " ".join(html.unescape(found.group(0)).split())


def _cycle_field(page: str) -> tuple[str, str, str]:
    """The suggest form's cycle select, the option it starts on, and the line beside it."""
    select = re.search(r'<select name="cycle".*?</select>', page, re.S)
    assert select, page
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    line = re.search(r'<p class="muted" id="cycle-default" data-cycle-default>(.*?)</p>', page)
    assert chosen and line, page
    return select.group(0), chosen.group(1), " ".join(html.unescape(line.group(1)).split())


def test_the_default_cycle_says_what_it_comes_to(setup) -> None:
    client, key = setup
    late = {"id": "C-9", "okr": "O-1", "date": "2026-12-20", "text": "Called 50 patients."}
    assert client.post(f"/orgs/{ORG}/check-ins", json=late, headers=key["lead"]).status_code == 201
    rule = "Default: the current cycle, or the next once it is more than half over, now 2027-Q1"
    for role in ("lead", "office"):
        select, chosen, line = _cycle_field(client.get(TEAM, headers=key[role]).text)
        # Said on a line of its own (an option's text is cut short on a phone); the form stays
        # on the default, next cycle's OKRs being what a team plans past half of this one.
        assert line == (
            f"{rule}, which the organization has not defined yet: a draft for it waits until an "
            "admin defines the cycle (or approves the draft, which defines it)."
        )
        assert chosen == "" and 'aria-describedby="cycle-default"' in select
        assert "not defined" not in select  # the option itself stays short
    select, chosen, line = _cycle_field(client.get(TEAM, headers=key["admin"]).text)
    assert line == (
        f"{rule}, which the organization has not defined yet: approving a draft for it defines it."
    )
    assert chosen == ""  # an admin's approval defines the cycle: the default stays


def test_the_form_as_shown_drafts_for_the_default_cycle_and_says_it_waits(setup, jobs) -> None:
    """Pressing "Suggest OKRs" without touching the form: a draft for the next cycle, which
    says beside it that it waits for the cycle. One for the current cycle, picked by hand, can
    be approved, and cites check-ins in the report's words."""
    client, key = setup
    late = {"id": "C-9", "okr": "O-1", "date": "2026-12-20", "text": "Called 50 patients."}
    assert client.post(f"/orgs/{ORG}/check-ins", json=late, headers=key["lead"]).status_code == 201
    _, chosen, _ = _cycle_field(client.get(TEAM, headers=key["lead"]).text)

    def drafted(cycle: str) -> tuple[dict, str]:
        sent = client.post(
            f"{TEAM}/suggest", content=f"cycle={cycle}", headers=key["lead"] | FORM,
            follow_redirects=False,
        )  # fmt: skip
        assert sent.status_code == 303, sent.text
        jobs.drain()
        job_id = re.search(r"[?&]job=(\d+)", sent.headers["location"]).group(1)
        job = client.get(f"/jobs/{job_id}", headers=key["lead"]).json()
        draft = client.get(job["result"]["url"], headers=key["lead"]).json()
        return draft, _article(client.get(TEAM, headers=key["lead"]).text, draft["id"])

    draft, article = drafted(chosen)
    assert draft["cycle"] == "2027-Q1" and UNDEFINED in article
    draft, article = drafted("2026-Q4")
    assert draft["cycle"] == "2026-Q4" and "cannot be approved yet" not in article
    cited = {e["kind"] for s in draft["payload"]["suggestions"] for e in s["evidence"]}
    assert "check_in" in cited and re.search(r"check-in C-\d+ \(", article), article
    assert "check in" not in article


def test_a_defined_default_is_said_and_kept(setup) -> None:
    client, key = setup
    _, chosen, line = _cycle_field(client.get(TEAM, headers=key["lead"]).text)
    assert chosen == "" and line.startswith("Default: the current cycle, or the next once")
    assert "not defined" not in line


def test_a_draft_for_a_cycle_not_defined_says_so_up_front_to_who_may_not_define_it(
    setup, jobs
) -> None:
    client, key = setup
    # 2026-12-20 is 89% into 2026-Q4, the last cycle small_bundle defines: the next is proposed.
    draft = _drafted_with_the_default_cycle(client, jobs, key["lead"], "2026-12-20")
    assert draft["cycle"] == "2027-Q1" and draft["request"]["new_cycle"]["id"] == "2027-Q1"
    for role in ("lead", "office"):
        article = _article(client.get(TEAM, headers=key[role]).text, draft["id"])
        assert f"{draft['id']} {UNDEFINED}" in article
        # Nothing to edit or approve that the approval would refuse; rejecting still works.
        assert "Approve" not in article and 'name="s0_title"' not in article
        assert "Reject" in article
    admin = _article(client.get(TEAM, headers=key["admin"]).text, draft["id"])
    assert "cannot be approved yet" not in admin and "Approve (with your edits)" in admin
