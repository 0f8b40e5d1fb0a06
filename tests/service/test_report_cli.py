"""`goldenthread report` end to end on the real database: output checks, headline, stored runs."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from alignment import db, repository
from alignment.report.store import ReportRun
from service.cli import app
from service.commands.report import headline
from tests.factories import small_bundle


@pytest.fixture
def org(tmp_path, database_url, embedder) -> str:
    """A small organization imported and committed through the CLI, deleted afterwards."""
    org_id = f"cli-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "org.bundle.json"
    path.write_text(json.dumps(small_bundle(org_id)))
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    yield org_id
    with db.transaction() as session:
        repository.delete_org(session, org_id)


def runs(org_id: str) -> int:
    with db.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(ReportRun).where(ReportRun.org_id == org_id)
        )


def report(*args: str):
    return CliRunner().invoke(app, ["report", *args])


def said(text: str) -> str:
    """Output as one line: rich wraps long lines and draws boxes around usage errors."""
    return " ".join(text.replace("│", " ").split())


def test_an_unwritable_output_fails_before_building(org, tmp_path) -> None:
    missing = tmp_path / "nodir" / "x.csv"
    result = report("--org", org, "--format", "csv", "-o", str(missing))
    assert result.exit_code == 2
    assert f"directory {missing.parent} does not exist" in said(result.output)
    assert isinstance(result.exception, SystemExit)  # a usage error, no traceback
    assert runs(org) == 0
    into_a_directory = report("--org", org, "-o", str(tmp_path))
    assert into_a_directory.exit_code == 2 and "is a directory" in said(into_a_directory.output)
    assert runs(org) == 0


def test_null_health_is_shown_as_not_applicable(org) -> None:
    # T-2 has no OKR in 2026-Q3: nothing in scope, so no health rather than 0%.
    result = report("--org", org, "--format", "json", "--cycle", "2026-Q3", "--team", "T-2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["alignment_health"] is None
    assert "alignment health n/a" in said(result.stderr) and "0%" not in result.stderr
    summary = {
        "alignment_health": 0.5,
        "counts": {"findings": 0, "by_severity": dict.fromkeys(("high", "medium", "low"), 0)},
    }
    assert headline(summary).endswith("alignment health 50%")


def test_filters_are_checked_before_the_model_loads(org, monkeypatch) -> None:
    def no_model():
        raise AssertionError("the model was loaded before the filters were checked")

    monkeypatch.setattr("alignment.embedder.get_embedder", no_model)
    result = report("--org", org, "--kind", "orphan", "--perspective", "people")
    assert result.exit_code == 2, result.output
    shown = said(result.stderr)
    assert "report filters are not valid: perspective 'people', kind 'orphan'" in shown
    assert "--kind: unknown kind 'orphan'; valid: orphan_okr" in shown
    assert "valid: financial, customer, internal_process, learning_growth" in shown
    assert runs(org) == 0


def test_a_stored_run_is_written_without_building_another(org, tmp_path) -> None:
    built = report("--org", org, "--format", "json", "--perspective", "Customer")
    assert built.exit_code == 0, built.output
    document = json.loads(built.stdout)
    assert document["filters"] == {"perspective": ["customer"]}
    assert runs(org) == 1

    page = tmp_path / "report.html"
    shown = report("--org", org, "--run", str(document["id"]), "--format", "html", "-o", str(page))
    assert shown.exit_code == 0, shown.output
    assert f"report #{document['id']}" in page.read_text()
    as_csv = report("--org", org, "--run", str(document["id"]), "--format", "csv")
    assert as_csv.exit_code == 0 and as_csv.stdout.startswith("key,")
    assert (
        json.loads(report("--org", org, "--run", str(document["id"]), "--format", "json").stdout)
        == document
    )
    assert runs(org) == 1

    unknown = report("--org", org, "--run", "99999999999")
    assert unknown.exit_code == 2 and "does not exist" in said(unknown.stderr)
    mixed = report("--org", org, "--run", str(document["id"]), "--kind", "orphan_okr")
    assert mixed.exit_code == 2 and "--kind choose what a new run covers" in said(mixed.output)
    assert runs(org) == 1


def test_re_exporting_an_unchanged_organization_renders_the_stored_run(org, tmp_path) -> None:
    first_page, second_page = tmp_path / "first.html", tmp_path / "second.html"
    first = report("--org", org, "-o", str(first_page))
    assert first.exit_code == 0, first.output
    assert runs(org) == 1 and "report #1 for" in said(first.stderr)
    again = report("--org", org, "-o", str(second_page))
    assert again.exit_code == 0, again.output
    assert runs(org) == 1
    assert "report #1 for" in said(again.stderr) and "no new run was stored" in said(again.stderr)
    assert second_page.read_text() == first_page.read_text()
    # Other filters are another build: a run of their own, the next number.
    narrow = report("--org", org, "--format", "json", "--kind", "orphan_okr")
    assert narrow.exit_code == 0 and json.loads(narrow.stdout)["id"] == 2 and runs(org) == 2
