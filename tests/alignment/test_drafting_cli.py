"""The drafting commands end to end on the real database: suggest, drafts, summarize, eval."""

from __future__ import annotations

import getpass
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner
from typer.testing import Result as CliResult

from alignment import db, repository
from alignment.bundle.io import load_file
from service.cli import app
from tests.conftest import SAMPLE_BUNDLE
from tests.evals.progress_order import progress_order
from tests.factories import small_bundle


def _import(tmp_path, document: dict) -> tuple[str, Path]:
    org_id = f"cli-{uuid.uuid4().hex[:8]}"
    document["organization"]["id"] = org_id
    path = tmp_path / "org.bundle.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    return org_id, path


@pytest.fixture
def imported(tmp_path, database_url, embedder):
    """A small organization imported (and committed) through the CLI, deleted afterwards."""
    org_id, path = _import(tmp_path, small_bundle())
    yield org_id, path
    with db.transaction() as session:
        repository.delete_org(session, org_id)


@pytest.fixture
def sample(tmp_path, database_url, embedder):
    """The sample organization under a fresh id: big enough for the engine's calibration."""
    org_id, _ = _import(tmp_path, load_file(SAMPLE_BUNDLE))
    yield org_id
    with db.transaction() as session:
        repository.delete_org(session, org_id)


def _json(args: list[str]) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow  # embeds and scores the sample organization from scratch
def test_suggest_list_approve_and_reject_from_the_command_line(sample):
    org_id = sample
    draft = _json(["suggest", "--org", org_id, "--team", "T-2", "--objective", "SO-1"])
    assert draft["status"] == "pending", [g for g in draft["gates"] if not g["passed"]]
    assert draft["team"] == "T-2" and draft["cycle"] == "2027-Q1"  # 2026-Q4 is past half

    listed = _json(["drafts", "list", "--org", org_id, "--status", "pending"])
    assert [d["id"] for d in listed] == [draft["id"]]

    approved = _json(["drafts", "approve", draft["id"], "--org", org_id])
    assert approved["created_records"] == [f"{draft['id']}-O1"]
    again = _json(["drafts", "approve", draft["id"], "--org", org_id])
    assert again["created_records"] == approved["created_records"]

    summary = _json(["summarize", "--org", org_id, "--objective", "SO-6"])
    assert summary["kind"] == "summary" and summary["status"] == "pending"
    rejected = _json(["drafts", "reject", summary["id"], "--org", org_id, "--reason", "Later."])
    assert rejected["status"] == "rejected"
    audit = _json(["drafts", "show", summary["id"], "--org", org_id, "--audit"])
    assert audit["decisions"][0]["reason"] == "Later."

    readable = CliRunner().invoke(app, ["drafts", "show", draft["id"], "--org", org_id])
    assert readable.exit_code == 0 and "gate citations" in readable.stdout


def test_summarize_needs_exactly_one_scope(imported):
    org_id, _ = imported
    result = CliRunner().invoke(app, ["summarize", "--org", org_id])
    assert result.exit_code != 0 and "exactly one of --team or --objective" in result.output


def test_eval_drafts_reports_gate_shares_and_leaves_no_trace(imported):
    _, path = imported
    body = _json(["eval", "drafts", str(path)])
    assert body["drafter"] == "offline" and body["drafts"] == 2  # one per objective
    assert set(body["gates"]) == {
        "schema", "quality", "aligned", "not_duplicate", "title_not_objective", "citations"
    }  # fmt: skip
    assert all(0.0 <= share <= 1.0 for share in body["gates"].values())
    [dataset] = body["datasets"]
    assert {item["objective"] for item in dataset["items"]} == {"SO-1", "SO-2"}
    with db.transaction() as session:
        orgs, _ = repository.list_orgs(session, limit=1000, offset=0)
    assert not any(o.id.startswith("eval-") for o in orgs)


def test_eval_drafts_counts_nothing_to_suggest_apart_and_goes_on(imported, monkeypatch):
    """The offline drafter's "nothing new to suggest" is an answer, not a crash of the eval:
    counted as declined, the other objectives drafted as before."""
    import evals.drafts
    from alignment.drafting.offline_suggestions import NothingToSuggest

    _, path = imported
    real = evals.drafts.draft_suggestions

    def declines_so1(session, org_id, request, **kw):
        if request.objectives == ["SO-1"]:
            raise NothingToSuggest("nothing new to suggest for SO-1")
        return real(session, org_id, request, **kw)

    monkeypatch.setattr(evals.drafts, "draft_suggestions", declines_so1)
    body = _json(["eval", "drafts", str(path)])
    assert (body["drafts"], body["declined"], body["errors"]) == (1, 1, 0)
    [dataset] = body["datasets"]
    declined = [i for i in dataset["items"] if "declined" in i]
    assert [i["objective"] for i in declined] == ["SO-1"]


def _failed_suggestion(org_id: str, monkeypatch) -> CliResult:
    """`suggest` with an LLM whose output fails its gates twice (draft + repair): a draft
    stored as failed."""
    from alignment.drafting.drafters import get_drafter
    from alignment.settings import get_settings
    from tests.alignment.drafting_support import FakeOpenAI

    server = FakeOpenAI()
    server.reply("not json")
    server.reply("still not json")
    # The LLM only for this command: the caller's next ones draft offline again.
    with monkeypatch.context() as env:
        env.setenv("GOLDENTHREAD_LLM_BASE_URL", server.url)
        env.setenv("GOLDENTHREAD_LLM_MAX_RETRIES", "0")
        get_settings.cache_clear()
        get_drafter.cache_clear()  # the process-wide drafter is built from settings once
        try:
            result = CliRunner().invoke(
                app, ["suggest", "--org", org_id, "--team", "T-1", "--objective", "SO-1", "--json"]
            )
        finally:
            server.close()
    get_settings.cache_clear()
    get_drafter.cache_clear()
    return result


def test_a_draft_stored_as_failed_is_exit_code_1(imported, monkeypatch):
    """A script must be able to tell: the LLM's output failed its gates twice (draft + repair)."""
    org_id, _ = imported
    result = _failed_suggestion(org_id, monkeypatch)
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["status"] == "failed"


def test_a_failed_draft_is_dismissed_from_the_command_line(imported, monkeypatch):
    """As the API's dismiss: by the person running the command (as approve and reject name
    them), once; listed afterwards, marked, in text and JSON; a draft that is not failed is
    refused with the API's message and the error exit code."""
    org_id, _ = imported
    failed = json.loads(_failed_suggestion(org_id, monkeypatch).stdout)
    runner = CliRunner()
    listed = runner.invoke(app, ["drafts", "list", "--org", org_id])
    assert f"{failed['id']}  suggestion failed " in listed.stdout, listed.output

    first = _json(["drafts", "dismiss", failed["id"], "--org", org_id])
    assert first["status"] == "failed" and first["dismissed_by"] == f"cli:{getpass.getuser()}"
    assert first["dismissed_at"]
    assert _json(["drafts", "dismiss", failed["id"], "--org", org_id]) == first  # it stands
    shown = runner.invoke(app, ["drafts", "dismiss", failed["id"], "--org", org_id])
    assert shown.exit_code == 0, shown.output
    assert "failed, dismissed" in shown.stdout
    assert f"dismissed by cli:{getpass.getuser()} at " in shown.stdout

    listed = runner.invoke(app, ["drafts", "list", "--org", org_id, "--status", "failed"])
    assert f"{failed['id']}  suggestion failed, dismissed " in listed.stdout, listed.output
    [row] = _json(["drafts", "list", "--org", org_id, "--status", "failed"])
    assert row == first  # complete: the JSON keeps the dismissed draft and who set it aside

    pending = _json(["summarize", "--org", org_id, "--team", "T-1"])
    assert pending["status"] == "pending", pending["gates"]
    refused = runner.invoke(app, ["drafts", "dismiss", pending["id"], "--org", org_id])
    assert refused.exit_code == 2, refused.output
    assert (
        f"error (conflict): draft {pending['id']!r} is pending: only a failed draft can be "
        "dismissed" in " ".join(refused.output.split())
    )
    assert "DRAFT_ID: the draft is pending" in refused.output
    missing = runner.invoke(app, ["drafts", "dismiss", "D-missing", "--org", org_id])
    assert missing.exit_code == 2 and "error (not_found)" in missing.output


@pytest.mark.slow
def test_readable_output_names_the_objectives_and_shows_the_edit(sample, tmp_path):
    org_id = sample
    shown = CliRunner().invoke(
        app, ["suggest", "--org", org_id, "--team", "T-2", "--objective", "SO-1"]
    )
    assert shown.exit_code == 0, shown.output
    assert "objectives=SO-1" in shown.stdout and "objective=None" not in shown.stdout
    draft = _json(["drafts", "list", "--org", org_id, "--status", "pending"])[0]
    edited = json.loads(json.dumps(draft["payload"]))
    edited["suggestions"] = edited["suggestions"][:1]
    edited["suggestions"][0]["title"] = "Cut readmissions with next-day pharmacist calls"
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    approved = CliRunner().invoke(
        app, ["drafts", "approve", draft["id"], "--org", org_id, "--edited", str(path)]
    )
    assert approved.exit_code == 0, approved.output
    assert "Cut readmissions with next-day pharmacist calls" in approved.stdout
    assert "approved as edited" in approved.stdout


def test_eval_drafts_progress_counts_a_bundle_when_it_is_done(monkeypatch):
    import evals.drafts

    def run(progress):
        bundles = [Path("a.json"), Path("b.json")]
        evals.drafts.run(None, bundles, drafter=None, embedder=None, progress=progress)

    events = progress_order(monkeypatch, evals.drafts, "eval_bundle", "draft", run)
    assert events == ["draft a.json", "done a.json", "draft b.json", "done b.json"]
