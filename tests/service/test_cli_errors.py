"""The command line's answers to mistakes: one clear line and exit code 2, never a traceback;
and the outputs a reviewer found wrong (suggest-parent --json, score's counts)."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from alignment import db, repository
from alignment.bundle.schema import BUNDLE_FORMAT
from alignment.scoring.reads import stored_verdicts
from service.cli import app
from tests.factories import small_bundle


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def said(text: str) -> str:
    """Output as one line of words (on a terminal rich would box usage errors)."""
    return " ".join(text.replace("│", " ").split())


def refused(result, *expected: str) -> None:
    """A usage or domain error: exit code 2, the expected words, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    shown = said(result.output)
    for words in expected:
        assert words in shown, shown


def _import(tmp_path, document: dict) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.bundle.json"
    path.write_text(json.dumps(document))
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    return document["organization"]["id"]


@pytest.fixture
def org(tmp_path, database_url):
    """A small organization imported through the CLI (not scored), deleted afterwards."""
    org_id = _import(tmp_path, small_bundle(f"clierr-{uuid.uuid4().hex[:8]}"))
    yield org_id
    with db.transaction() as session:
        repository.delete_org(session, org_id)


# 1, 11: suggest-parent


def test_suggest_parent_prints_json_with_its_evidence(scored_sample) -> None:
    result = cli("suggest-parent", "Cut rewash", "--org", scored_sample, "--json", "--top", "2")
    assert result.exit_code == 0, result.output
    links = json.loads(result.stdout)
    assert len(links) == 2
    assert {"objective_id", "score", "label", "evidence"} <= set(links[0])
    assert links[0]["evidence"] and {"okr_field", "objective_text", "similarity"} <= set(
        links[0]["evidence"][0]
    )


def test_suggest_parent_refuses_an_empty_draft_and_top_below_one(scored_sample) -> None:
    refused(cli("suggest-parent", "  ", "--org", scored_sample), "'TEXT'", "must not be empty")
    refused(cli("suggest-parent", "Cut rewash", "--org", scored_sample, "--kr", ""), "'--kr'")
    refused(cli("suggest-parent", "Cut rewash", "--org", scored_sample, "--top", "0"), "'--top'")


def test_suggest_parent_for_an_organization_without_objectives(tmp_path, database_url) -> None:
    org_id = f"clierr-{uuid.uuid4().hex[:8]}"
    _import(tmp_path, {"format": BUNDLE_FORMAT, "organization": {"id": org_id, "name": "Empty"}})
    try:
        result = cli("suggest-parent", "Cut rewash", "--org", org_id, "--json")
        refused(result, f"organization '{org_id}' has no strategic objectives")
        assert result.stdout == ""
    finally:
        with db.transaction() as session:
            repository.delete_org(session, org_id)


# 2, 5: export and drafts approve --edited


def test_export_refuses_an_unwritable_output_and_an_unknown_format(org, tmp_path) -> None:
    missing = tmp_path / "nodir" / "x.json"
    refused(cli("export", "--org", org, "-o", str(missing)), f"{missing.parent} does not exist")
    refused(cli("export", "--org", org, "-o", str(tmp_path)), "is a directory")
    refused(cli("export", "--org", org, "--format", "xml"), "'--format'", "json, yaml")
    written = tmp_path / "org.yaml"
    assert cli("export", "--org", org, "--format", "yaml", "-o", str(written)).exit_code == 0
    assert written.read_text().startswith("format:")


def test_an_edited_payload_that_is_no_json_is_located(org, tmp_path) -> None:
    bad = tmp_path / "edited.json"
    bad.write_text('{\n  "suggestions": [,]\n}')
    refused(
        cli("drafts", "approve", "D-1", "--org", org, "--edited", str(bad)),
        "'--edited'",
        f"{bad} is not valid JSON",
        "line 2, column 19",
    )
    missing = tmp_path / "missing.json"
    refused(cli("drafts", "approve", "D-1", "--org", org, "--edited", str(missing)), "missing.json")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # An empty jq result: it approved the AI's draft as if nobody had edited it.
        ("null", "holds null, not the draft's payload as edited"),
        ("[1]", "holds list, not the draft's payload as edited"),  # was a traceback
        ('"x"', "holds str, not the draft's payload as edited"),
        # The last one wins in json.loads: the person's edit could be the one dropped.
        ('{"suggestions": [{"title": "Mine", "title": "AI"}]}', "'title'"),
    ],
)
def test_an_edited_payload_that_is_no_object_is_refused_before_anything(
    org, tmp_path, text: str, said: str
) -> None:
    edited = tmp_path / "edited.json"
    edited.write_text(text)
    result = cli("drafts", "approve", "D-1", "--org", org, "--edited", str(edited))
    refused(result, "'--edited'", said)
    assert "Traceback" not in result.output


# 3: the environment


@pytest.fixture
def settings_from_env(monkeypatch):
    """Settings and the database read again from the environment the test sets, and again
    (from the run's own) afterwards."""
    from alignment.settings import get_settings
    from service.cli import prepare_database

    def forget() -> None:
        get_settings.cache_clear()
        db.resolve_database.cache_clear()
        prepare_database.cache_clear()

    forget()
    yield monkeypatch
    forget()


def test_an_unreachable_database_is_one_line_without_the_password(settings_from_env) -> None:
    settings_from_env.setenv("DATABASE_URL", "postgresql://ann:s3cret-pw@127.0.0.1:1/gt")
    result = cli("keys", "list", "--org", "acme")
    refused(
        result, "cannot connect to PostgreSQL at 127.0.0.1:1 (DATABASE_URL): connection refused"
    )
    assert "s3cret-pw" not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3  # the database line and the error


def test_a_data_directory_that_cannot_be_made_is_one_line(settings_from_env, tmp_path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    settings_from_env.delenv("DATABASE_URL", raising=False)
    settings_from_env.setenv("GOLDENTHREAD_DATA_DIR", str(a_file / "data"))
    refused(
        cli("db", "upgrade"),
        f"cannot create the data directory {a_file / 'data'} (GOLDENTHREAD_DATA_DIR)",
    )


# 4, 7, 8: drafts list and reject, keys list


def test_drafts_list_refuses_bad_limits_and_unknown_values(org) -> None:
    refused(cli("drafts", "list", "--org", org, "--limit", "-5"), "'--limit'")
    refused(cli("drafts", "list", "--org", org, "--limit", "100000"), "GOLDENTHREAD_PAGE_LIMIT_MAX")
    refused(
        cli("drafts", "list", "--org", org, "--status", "bogus"),
        "'--status'",
        "pending, approved, edited_and_approved, rejected, failed",
    )
    refused(cli("drafts", "list", "--org", org, "--kind", "bogus"), "suggestion, summary")
    empty = cli("drafts", "list", "--org", org, "--status", "pending")
    assert empty.exit_code == 0 and "no drafts" in empty.stdout


def test_a_blank_rejection_reason_is_refused(org) -> None:
    for blank in ("", "   "):
        refused(
            cli("drafts", "reject", "D-1", "--org", org, "--reason", blank),
            "'--reason'",
            "must not be empty",
        )


def test_keys_of_an_organization_that_does_not_exist(database_url) -> None:
    refused(cli("keys", "list", "--org", "no-such-org"), "organization 'no-such-org' does not")


# 10: score's counts


def test_score_counts_orphans_by_their_verdict(scored_sample) -> None:
    result = cli("score", "--org", scored_sample)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    with db.transaction() as session:
        verdicts = list(stored_verdicts(session, scored_sample).values())
    assert summary["orphan_okrs"] == verdicts.count("orphan")
    assert summary["okrs_awaiting_review"] == verdicts.count("needs_review")
    assert summary["okrs_without_aligned_link"] == len(verdicts) - verdicts.count("aligned")
    assert "orphans" not in summary  # the API's old name for okrs_without_aligned_link


def test_the_api_keeps_the_old_key_with_its_old_meaning() -> None:
    from alignment.scoring.stage import ScoreSummary

    summary = ScoreSummary("o", 5, 2, 0, 0, 3, 2, 0, "m", orphan_okrs=1, okrs_awaiting_review=1)
    assert summary.as_dict()["orphans"] == summary.as_dict()["okrs_without_aligned_link"] == 2


# 12: errors name the command's options


def test_errors_name_options_not_api_paths(org, scored_sample) -> None:
    team = cli("keys", "create", "--org", org, "--role", "team_lead", "--team", "T-404")
    refused(team, "--team: no team 'T-404' here")
    assert "$.teams" not in team.output
    refused(cli("keys", "create", "--role", "admin"), "--org: required")
    cycle = cli("suggest", "--org", org, "--team", "T-1", "--cycle", "1999-Q1")
    refused(cycle, "--cycle: known cycles")
    confirm = cli("review", "confirm", "O-1", "SO-404", "--org", scored_sample)
    refused(confirm, "OBJECTIVE: no such strategic objective")
    # O-1 is aligned: this command line cannot reject "its link itself"; the message says how.
    aligned = cli("review", "reject", "O-1", "--org", scored_sample)
    refused(aligned, f'POST {{"verdict": "rejected"}} to /orgs/{scored_sample}/okrs/O-1/links/')
    assert "reject its link itself" not in said(aligned.output)


def test_rejecting_an_okr_that_does_not_exist_names_the_okr(scored_sample) -> None:
    unknown = cli("review", "reject", "O-999", "--org", scored_sample)
    refused(unknown, f"OKR 'O-999' does not exist in organization {scored_sample!r}")
    refused(unknown, "OKR: no such OKR")
    assert "no scored links" not in said(unknown.output)


def test_the_refusal_of_an_aligned_okr_says_which_okrs_reject_decides(
    scored_sample, session
) -> None:
    """`review reject` takes any OKR with no aligned link: those the queue shows and the
    engine's orphans, which `review list` does not show. The refusal says so."""
    from alignment import review

    aligned = cli("review", "reject", "O-1", "--org", scored_sample)
    refused(aligned, "decides only OKRs with no aligned link", "and the engine's orphans")
    assert "decides only the OKRs" not in said(aligned.output)
    # What it says is true: an engine orphan, not in the queue, is decided (rolled back).
    verdicts = stored_verdicts(session, scored_sample)
    queued = {item["okr_id"] for item in review.queue(session, scored_sample)}
    orphan = next(o for o, verdict in sorted(verdicts.items()) if verdict == "orphan")
    assert orphan not in queued
    assert review.reject(session, scored_sample, orphan, decided_by="test")


# Details a reviewer found: wrapped errors in logs, ports out of range, alembic's chatter.


def test_a_long_error_stays_one_line_when_stderr_is_no_terminal(org, tmp_path) -> None:
    """Rich cuts lines at 80 columns and boxes usage errors; a log or a pipe gets one line."""
    deep = tmp_path / ("d" * 90) / "x.json"
    usage = cli("export", "--org", org, "-o", str(deep))
    missing_org = "nope-" + "z" * 90
    domain = cli("keys", "list", "--org", missing_org)
    for result, needle, start in (
        (usage, str(deep.parent), "Error: "),
        (domain, missing_org, "error"),
    ):
        assert result.exit_code == 2
        lines = [line for line in result.output.splitlines() if needle in line]
        assert len(lines) == 1 and lines[0].startswith(start), result.output
        assert "╭" not in result.output


@pytest.mark.parametrize("command", [("serve",), ("demo", "--no-serve")])
@pytest.mark.parametrize(
    ("port", "bound"), [("0", "greater than or equal to 1"), ("70000", "65535")]
)
def test_a_port_out_of_range_is_refused_before_anything_starts(command, port, bound) -> None:
    refused(cli(*command, "--port", port), "'--port'", bound)


def test_a_metrics_port_out_of_range_is_refused() -> None:
    refused(
        cli("worker", "--metrics-port", "65536"), "'--metrics-port'", "less than or equal to 65535"
    )


def _fullwidth(text: str) -> str:
    """The same id as typed on a fullwidth (CJK) keyboard layout."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_ids_typed_in_another_unicode_form_name_the_same_records(org) -> None:
    """The API reads ids in NFKC form; so does the command line (service/commands/ids.py)."""
    exported = cli("export", "--org", _fullwidth(org))
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["organization"]["id"] == org
    created = cli(
        "keys", "create", "--org", _fullwidth(org), "--role", "team_lead", "--team", "Ｔ－１"
    )
    assert created.exit_code == 0, created.output
    listed = cli("keys", "list", "--org", _fullwidth(org))
    assert listed.exit_code == 0, listed.output
    assert "team_lead" in listed.stdout and "teams=T-1 " in listed.stdout


def test_a_problem_inside_an_edited_payload_names_its_place_in_the_file(capsys) -> None:
    """The API names `$.edited.suggestions[0].key_results`; the command line had said only
    `--edited`, leaving the person to search the file."""
    import typer

    from alignment.errors import Invalid
    from service.commands.common import fail
    from service.commands.drafts import OPTIONS

    problems = [
        {"path": "$.edited.suggestions[0].key_results", "message": "at least 2 key results"},
        {"path": "$.edited", "message": "not an object"},
        {"path": "$.cycle", "message": "no such cycle"},
    ]
    with pytest.raises(typer.Exit):
        fail(Invalid("draft not approved", details=problems), OPTIONS)
    lines = said(capsys.readouterr().err)
    assert "--edited at $.suggestions[0].key_results: at least 2 key results" in lines
    assert "--edited: not an object" in lines and "--cycle: no such cycle" in lines


def test_a_worker_that_would_run_no_job_is_refused() -> None:
    """`--concurrency 0` started a worker that ran forever doing nothing."""
    result = CliRunner().invoke(app, ["worker", "--concurrency", "0"])
    assert result.exit_code == 2, result.output
    assert "'--concurrency'" in result.output and "greater than or equal to 1" in result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["keys", "create", "--role", "admin", "--name", "evil\x1b[2Jname"], "U+001B"),
        (["keys", "create", "--role", "admin", "--name", ""], "at least 1 character"),
        (["keys", "create", "--role", "admin", "--name", "n" * 201], "at most 200"),
        (["review", "reject", "O-1", "--note", "x\x01y"], "U+0001"),
        (["review", "check-in", "C-1", "drifting", "--note", "n" * 2001], "at most 2000"),
    ],
)
def test_the_command_lines_texts_follow_the_apis_rules(org, args: list[str], said: str) -> None:
    """A key's name with an escape sequence ran in the terminal of whoever listed the keys."""
    result = CliRunner().invoke(app, [*args, "--org", org])
    refused(result, said)


def test_drafts_list_refuses_a_team_or_cycle_that_names_nothing(org) -> None:
    """As the API does: "no drafts match" read as an answer to a typo."""
    refused(cli("drafts", "list", "--org", org, "--team", "T-NOPE"), "--team", "no team 'T-NOPE'")
    refused(cli("drafts", "list", "--org", org, "--cycle", "2099"), "--cycle", "no cycle '2099'")
    listed = cli("drafts", "list", "--org", org, "--team", "T-1")
    assert listed.exit_code == 0 and "no drafts match" in listed.output
