"""`goldenthread review check-ins` / `review check-in`: the check-in queue from the command line."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alignment.models import AuditEntry, CheckInDrift
from service.cli import app


def test_check_ins_are_listed_and_decided_from_the_command_line(
    engine, scored_sample, restore_check_in_verdicts
) -> None:
    with Session(engine) as s:
        unsure = set(
            s.scalars(
                select(CheckInDrift.check_in_id).where(
                    CheckInDrift.org_id == scored_sample, CheckInDrift.verdict == "needs_review"
                )
            )
        )
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "check-ins", "--org", scored_sample, "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    assert {i["check_in_id"] for i in items} == unsure
    first = items[0]["check_in_id"]
    refused = runner.invoke(app, ["review", "check-in", first, "maybe", "--org", scored_sample])
    assert refused.exit_code != 0 and "'drifting' or 'on_topic'" in refused.output
    decided = runner.invoke(app, ["review", "check-in", first, "on_topic", "--org", scored_sample])
    assert decided.exit_code == 0, decided.output
    assert f"{first} under" in decided.output and "on_topic (decided by cli:" in decided.output
    with Session(engine) as s:
        row = s.get(CheckInDrift, {"org_id": scored_sample, "check_in_id": first})
        assert row.verdict == "on_topic" and row.evidence["decided_by"].startswith("cli:")
        # In the organization's audit log, as a decision through the API would be.
        logged = s.execute(
            select(AuditEntry.action, AuditEntry.principal).where(
                AuditEntry.org_id == scored_sample, AuditEntry.record == first
            )
        ).all()
        assert [a for a, _ in logged] == ["CLI review check-in"]
        assert logged[0][1].startswith("cli:")
    again = runner.invoke(app, ["review", "check-ins", "--org", scored_sample])
    assert again.exit_code == 0 and f"{len(items) - 1} check-ins awaiting review" in again.output


def test_okrs_awaiting_review_are_listed_from_the_command_line(scored_sample) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--org", scored_sample, "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.stdout)["items"]
    assert items, "the sample has OKRs awaiting review"
    text = runner.invoke(app, ["review", "list", "--org", scored_sample])
    assert text.exit_code == 0 and f"{len(items)} awaiting review" in text.output
    first = items[0]
    assert first["okr_id"] in text.output
    assert first["candidates"][0]["objective_id"] in text.output


def test_review_list_says_what_each_okrs_team_declared(scored_sample, monkeypatch) -> None:
    """As the page: the objectives the team said its OKR serves, with the engine's score and
    whether it is among the candidates, or that the team declared none."""
    from alignment import review

    queue = review.queue
    runner = CliRunner()
    items = json.loads(
        runner.invoke(app, ["review", "list", "--org", scored_sample, "--json"]).stdout
    )["items"]
    by_okr = {i["okr_id"]: i for i in items}
    [said] = by_okr["O-38"]["declared"]  # the team's SO-8 is not among its candidates
    assert said["objective_id"] == "SO-8"
    assert "SO-8" not in {c["objective_id"] for c in by_okr["O-38"]["candidates"]}
    [candidate] = by_okr["O-21"]["declared"]
    assert candidate["objective_id"] in {c["objective_id"] for c in by_okr["O-21"]["candidates"]}

    text = runner.invoke(app, ["review", "list", "--org", scored_sample]).stdout
    lines = [line.strip() for line in text.splitlines()]
    assert (
        f"its team says it serves SO-8 {said['objective_title']} (score {said['score']:.2f}, "
        f"{said['label']}; not among the candidates)"
    ) in lines, text
    assert (
        f"its team says it serves {candidate['objective_id']} {candidate['objective_title']} "
        f"(score {candidate['score']:.2f}, {candidate['label']})"
    ) in lines, text
    assert "its team declared no objective it serves" not in lines

    def none_declared_for_o21(session, org_id):
        return [
            {**i, "declared": []} if i["okr_id"] == "O-21" else i for i in queue(session, org_id)
        ]

    monkeypatch.setattr(review, "queue", none_declared_for_o21)
    text = runner.invoke(app, ["review", "list", "--org", scored_sample]).stdout
    o21 = text.split("O-21", 1)[1].split("O-38", 1)[0]
    assert "its team declared no objective it serves" in o21 and "its team says" not in o21
