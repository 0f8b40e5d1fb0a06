"""The review queue says a declared link a person already dropped: the API's `declared` entries
carry the standing decision, the page and `goldenthread review list` say who dropped it and when,
and neither offers it again as the team's declared objective."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from alignment import db
from service.cli import app

DAY = r"\d{4}-\d\d-\d\d"


def _drop(client, org: str, okr: str, objective: str) -> None:
    """What the review page's "Drop it" records: a rejected link feedback."""
    url = f"/orgs/{org}/okrs/{okr}/links/{objective}/feedback"
    assert client.post(url, json={"verdict": "rejected"}).status_code == 200


def _item(client, org: str, okr: str) -> dict:
    items = client.get(f"/orgs/{org}/review-queue").json()["items"]
    return next(i for i in items if i["okr_id"] == okr)


def _article(page: str, okr: str) -> str:
    return html.unescape(page.split(f'data-okr="{okr}"', 1)[1].split("</article>", 1)[0])


def test_each_declared_entry_carries_the_decision_on_its_link(client, scored_sample) -> None:
    org = scored_sample
    [before] = _item(client, org, "O-21")["declared"]
    assert before["objective_id"] == "SO-6" and before["decision"] is None

    _drop(client, org, "O-21", "SO-6")
    [after] = _item(client, org, "O-21")["declared"]
    decision = after["decision"]
    assert (decision["verdict"], decision["by"]) == ("rejected", "test-admin")
    assert re.match(DAY, decision["at"])
    # Another OKR's declared link is undecided still.
    assert [d["decision"] for d in _item(client, org, "O-38")["declared"]] == [None]

    # A page of the queue reads the same.
    paged = client.get(f"/orgs/{org}/review-queue", params={"limit": 50}).json()["items"]
    [on_page] = next(i for i in paged if i["okr_id"] == "O-21")["declared"]
    assert on_page["decision"] == decision


def test_the_page_says_a_declared_link_was_dropped_and_offers_it_no_more(
    client, scored_sample
) -> None:
    org = scored_sample
    shown = _article(client.get(f"/orgs/{org}/review").text, "O-21")
    assert "its team's declared objective" in shown
    assert "Also drops its team's declared SO-6." in shown

    _drop(client, org, "O-21", "SO-6")  # among O-21's candidates
    _drop(client, org, "O-38", "SO-8")  # not among O-38's candidates
    page = client.get(f"/orgs/{org}/review").text
    o21 = _article(page, "O-21")
    assert re.search(rf"SO-6 — dropped by test-admin on {DAY}", re.sub(r"<[^>]+>", "", o21))
    assert "its team's declared objective" not in o21
    assert "Also drops" not in o21 and "SO-6 was dropped already" in o21

    o38 = _article(page, "O-38")
    assert re.search(rf"SO-8 — dropped by test-admin on {DAY}", re.sub(r"<[^>]+>", "", o38))
    assert "its team's declared objective" not in o38 and "Also drops" not in o38
    # Still any objective to confirm (the person may know better), just not as the team's word.
    assert len(re.findall(r'<option value="SO-8">', o38)) == 1


@pytest.fixture(scope="module")
def dropped(database_url, embedder) -> Iterator[str]:
    """The sample organization scored under its own id, O-21's declared SO-6 dropped (committed:
    the command line reads through its own connection)."""
    from alignment.scoring.feedback import record_feedback
    from tests.conftest import committed_sample

    with committed_sample(db.get_engine(), embedder, "dropdecl") as org_id:
        with db.transaction() as session:
            record_feedback(
                session, org_id, "O-21", "SO-6", verdict="rejected", decided_by="qa-person"
            )
        yield org_id


def test_review_list_says_the_declared_link_was_dropped(dropped) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--org", dropped, "--json"])
    assert listed.exit_code == 0, listed.output
    o21 = next(i for i in json.loads(listed.stdout)["items"] if i["okr_id"] == "O-21")
    [said] = o21["declared"]
    assert (said["decision"]["verdict"], said["decision"]["by"]) == ("rejected", "qa-person")

    for args in ([], ["--limit", "50"]):  # the whole queue and a page read alike
        text = runner.invoke(app, ["review", "list", "--org", dropped, *args]).stdout
        line = next(ln.strip() for ln in text.splitlines() if "its team says it serves SO-6" in ln)
        assert re.search(rf"; dropped by qa-person on {DAY}$", line), line
