"""What a walk-through of the running product found: the OKR page marks the objectives its team
declares, the report's search finds an id whole, and the pages word labels, perspectives,
decisions and counts as people say them."""

from __future__ import annotations

import html
import logging
import re

import pytest

from alignment.report.page import FindingsView, page_of, searchable_text
from alignment.scoring.feedback import record_feedback

PAGE = {"Accept": "text/html"}


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


@pytest.fixture
def run(client, jobs, scored_sample) -> dict:
    return jobs.report(client, client.post(f"/orgs/{scored_sample}/reports"))


# --- the OKR page: declared objectives marked ---------------------------------------------------


def test_the_okr_page_marks_the_objectives_its_team_declares(client, scored_sample) -> None:
    page = client.get(f"/orgs/{scored_sample}/okr/O-11", headers=PAGE).text
    ranked = page.split('<section aria-labelledby="links-h">', 1)[1].split("</section>", 1)[0]
    rows = dict(re.findall(r'<tr data-objective="([^"]+)"(.*?)</tr>', ranked, re.S))
    assert "SO-4" in rows and len(rows) > 1  # O-11 declares SO-4 (examples/sample-org)
    assert rows["SO-4"].startswith(" data-declared>") and "Declared" in _text(rows["SO-4"])
    others = [o for o in rows if o != "SO-4"]
    assert all("Declared" not in _text(rows[o]) for o in others)  # a word, not a colour alone
    legend = re.search(r"<caption[^>]*data-legend[^>]*>(.*?)</caption>", ranked, re.S)
    assert legend and "Declared: the team says this OKR serves the objective" in _text(legend[1])


def test_a_decision_on_the_okr_page_reads_as_a_sentence(client, session, scored_sample) -> None:
    record_feedback(session, scored_sample, "O-11", "SO-5", verdict="rejected", decided_by="Omar")
    record_feedback(session, scored_sample, "O-11", "SO-4", verdict="confirmed", decided_by="Omar")
    session.flush()
    page = client.get(f"/orgs/{scored_sample}/okr/O-11", headers=PAGE).text
    decided = dict(re.findall(r'<li data-decision="([^"]+)">(.*?)</li>', page, re.S))
    assert _text(decided["SO-5"]).startswith("rejected: does not serve SO-5")
    assert _text(decided["SO-4"]).startswith("confirmed: serves SO-4")


# --- the report's search: an id whole ----------------------------------------------------------

WHOLE_O_11 = re.compile(r"(^|[^a-z0-9_-])o-11($|[^a-z0-9_-])")


def test_an_id_finds_findings_about_that_id_only(client, scored_sample, run) -> None:
    keys = {f["key"] for f in run["findings"]}
    assert "uncovered_objective:SO-11" in keys  # the sample's uncovered objective
    latest = f"/orgs/{scored_sample}/reports/latest"
    found = client.get(latest, params={"q": "O-11", "per_page": 500}).json()["findings"]
    assert found, "the sample reports on O-11"
    assert all(WHOLE_O_11.search(searchable_text(f)) for f in found), [f["key"] for f in found]
    assert "uncovered_objective:SO-11" not in {f["key"] for f in found}
    # Typed in any case, with spaces around: the same findings.
    again = client.get(latest, params={"q": " o-11 ", "per_page": 500}).json()["findings"]
    assert [f["key"] for f in again] == [f["key"] for f in found]
    for pattern in ("o-11.*", "(", "o-1|o-2", "o-11["):  # regex characters are plain text
        odd = client.get(latest, params={"q": pattern, "per_page": 500})
        assert odd.status_code == 200, (pattern, odd.text)
    about_so_11 = client.get(latest, params={"q": "SO-11", "per_page": 500}).json()["findings"]
    assert "uncovered_objective:SO-11" in {f["key"] for f in about_so_11}
    # The served page filters alike.
    page = client.get(f"/orgs/{scored_sample}/report.html", params={"q": "O-11"}, headers=PAGE)
    assert page.status_code == 200 and "uncovered_objective:SO-11" not in page.text
    # Free text still matches anywhere, inside words too.
    uncovered = client.get(latest, params={"q": "ncovered", "per_page": 500}).json()["findings"]
    assert "uncovered_objective:SO-11" in {f["key"] for f in uncovered}


def test_an_exported_files_list_finds_an_id_whole_too() -> None:
    def finding(key: str, record: str, reason: str) -> dict:
        return {
            "key": key, "kind": "orphan_okr", "severity": "high", "category": "alignment",
            "reason": reason, "records": [{"type": "okr", "id": record, "label": record}],
            "evidence": {}, "scope": {"teams": [], "perspectives": []},
        }  # fmt: skip

    findings = [
        finding("orphan_okr:O-11", "O-11", "O-11 serves nothing"),
        finding("orphan_okr:SO-11", "SO-11", "SO-11 is uncovered"),
        finding("orphan_okr:O-110", "O-110", "O-110 serves nothing"),
        finding("orphan_okr:O-12", "O-12", "like O-11, it serves nothing"),
    ]
    keys = [f["key"] for f in page_of(findings, FindingsView(q="O-11")).items]
    assert keys == ["orphan_okr:O-11", "orphan_okr:O-12"]
    assert len(page_of(findings, FindingsView(q="serves")).items) == 3  # text: anywhere


# --- words -------------------------------------------------------------------------------------


def test_the_review_queue_says_no_match_not_the_label_none(client, scored_sample) -> None:
    page = html.unescape(client.get(f"/orgs/{scored_sample}/review", headers=PAGE).text)
    said = re.findall(r"score \d\.\d\d,? \(?([a-z ]+)", page)
    assert said and "no match" in said, said
    assert not re.search(r"score \d\.\d\d(, | \()none\b", page)


def test_a_perspective_has_one_name_on_every_page(client, scored_sample, run) -> None:
    strategy_map = html.unescape(
        client.get(f"/orgs/{scored_sample}/strategy-map", headers=PAGE).text
    )
    assert "Learning & growth" in strategy_map
    objective = next(
        o["id"] for o in run["summary"]["objectives"] if o.get("perspective") == "learning_growth"
    )
    page = _text(client.get(f"/orgs/{scored_sample}/objective/{objective}", headers=PAGE).text)
    assert "Learning & growth" in page and "learning growth" not in page.lower()
    report = _text(client.get(f"/orgs/{scored_sample}/report.html", headers=PAGE).text)
    assert "Learning & growth" in report and "learning growth" not in report.lower()


def test_counts_in_findings_have_their_nouns_in_the_right_number(run) -> None:
    reasons = [f["reason"] for f in run["findings"]]
    assert not [r for r in reasons if "(s)" in r]
    assert any(re.search(r"\b1 weak candidate\b|\b\d+ weak candidates\b", r) for r in reasons)


# --- the CLI -----------------------------------------------------------------------------------


def test_eval_reports_table_names_its_columns_and_says_what_a_dash_is() -> None:
    from service.commands.evals import REPORT_COLUMNS, report_table

    figures = {
        "orphan_precision": 0.5, "orphan_recall": 1.0, "drift_precision": None,
        "drift_recall": 0.25, "needs_review_share": 0.1, "check_in_review_share": 0.0,
        "false_orphan_share": None,
    }  # fmt: skip
    table = report_table({"datasets": [{"dataset": "sample", **figures}], **figures})
    head, _, sample, pooled, *legend = table.splitlines()
    cells = re.split(r"\s{2,}", head.strip())
    assert cells == ["dataset", *(header for _, header, _ in REPORT_COLUMNS)]
    assert "orphan_preci" not in table.replace("orphan_precision", "")  # not cut short
    assert sample.split()[1:] == ["0.500", "1.000", "-", "0.250", "0.100", "0.000", "-"]
    assert pooled.split()[0] == "all"
    # Each header explained, with the field `--json` names it by, and what "-" stands for.
    for field, header, _ in REPORT_COLUMNS:
        assert any(line.startswith(header) and f"({field})" in line for line in legend)
    assert legend[-1].startswith('"-" means not measured')


def test_the_cli_keeps_the_job_queues_info_lines_to_itself(monkeypatch) -> None:
    import service.cli

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    queue = logging.getLogger("procrastinate")
    queue_level = queue.level
    monkeypatch.setattr(service.cli, "run_guarded", lambda app: None)
    root.handlers[:] = []  # as in a fresh process: basicConfig sets the root up
    try:
        service.cli.main()
        assert not queue.isEnabledFor(logging.INFO)
        assert queue.isEnabledFor(logging.WARNING)
        assert logging.getLogger("alignment").isEnabledFor(logging.INFO)  # our own lines stay
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        queue.setLevel(queue_level)


def test_a_blank_note_on_a_link_decision_is_kept_as_no_note(client, scored_sample, session) -> None:
    """As in the review queue: a note of spaces is no note, not a note that reads as empty."""
    from sqlalchemy import select

    from alignment.models import LinkFeedback, ScoredLink

    okr, objective = session.execute(
        select(ScoredLink.okr_id, ScoredLink.objective_id)
        .where(ScoredLink.org_id == scored_sample, ScoredLink.rank == 1)
        .order_by(ScoredLink.okr_id)
        .limit(1)
    ).one()
    answer = client.post(
        f"/orgs/{scored_sample}/okrs/{okr}/links/{objective}/feedback",
        json={"verdict": "confirmed", "note": "   "},
    )
    assert answer.status_code in (200, 201), answer.text
    stored = session.scalar(
        select(LinkFeedback.note).where(
            LinkFeedback.org_id == scored_sample,
            LinkFeedback.okr_id == okr,
            LinkFeedback.objective_id == objective,
        )
    )
    assert stored is None
