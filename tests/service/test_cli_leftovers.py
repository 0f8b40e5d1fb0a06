"""The command line's leftovers from a walkthrough: Ctrl-C and a failed stdout end in one line
that says what was stored; a repeated JSON key, a bad labels file and a malformed setting are
named where they are; a decision made twice says who made it first; an LLM's error in words.

Commands run in this process (CliRunner) where the behaviour is the command's own, and as a
real process where it takes one: a signal, a full disk (/dev/full) or a closed pipe.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from alignment import db, repository
from alignment.models import AuditEntry, Organization
from alignment.report.store import ReportRun
from service.cli import app
from tests.conftest import REPO
from tests.factories import small_bundle

DEV = REPO / "evals" / "datasets" / "dev"


def cli(*args: str):
    return CliRunner().invoke(app, list(args))


def said(text: str) -> str:
    """Output as one line of words (rich wraps long lines, and boxes usage errors)."""
    return " ".join(text.replace("│", " ").split())


def goldenthread(*args: str, **popen: object) -> subprocess.Popen:
    """The command line as a user runs it: its own process, on this run's database."""
    popen.setdefault("env", os.environ | {"HF_HUB_OFFLINE": "1"})
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", *args],
        cwd=REPO,
        text=True,
        **popen,  # type: ignore[arg-type]
    )


@pytest.fixture
def org(tmp_path, database_url) -> Iterator[str]:
    """A small organization imported through the CLI (not scored), deleted afterwards."""
    org_id = f"leftover-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "org.bundle.json"
    path.write_text(json.dumps(small_bundle(org_id)))
    assert cli("import", str(path)).exit_code == 0
    yield org_id
    with db.transaction() as session:
        if session.get(Organization, org_id):
            repository.delete_org(session, org_id)


def runs(org_id: str) -> int:
    with db.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(ReportRun).where(ReportRun.org_id == org_id)
        )


# 1. Ctrl-C: one line, exit 130, and the truth about what was stored


def test_ctrl_c_while_a_command_waits_says_nothing_was_stored(tmp_path, database_url) -> None:
    fifo = tmp_path / "bundle.json"
    os.mkfifo(fifo)  # `import` waits on it for a writer that never comes
    command = goldenthread("import", str(fifo), stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert command.stderr is not None
        assert command.stderr.readline().startswith("database:")  # past the set-up: waiting
        command.send_signal(signal.SIGINT)
        _, errors = command.communicate(timeout=60)
    finally:
        command.kill()
    assert command.returncode == 130
    assert errors.strip() == "interrupted: nothing was stored"


def test_ctrl_c_after_the_commit_says_the_changes_are_kept(tmp_path, database_url) -> None:
    org_id = f"leftover-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "org.bundle.json"
    path.write_text(json.dumps(small_bundle(org_id)))
    import service.cli

    def stopped(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # while the summary is printed, after the import committed

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service.cli.out, "print_json", stopped)
            result = cli("import", str(path))
        assert result.exit_code == 130
        assert "interrupted: the command's changes were stored before that, and are kept" in (
            said(result.output)
        )
        with db.transaction() as session:
            assert session.get(Organization, org_id) is not None
        # The same import again changes nothing: a second Ctrl-C there stored nothing.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(service.cli.out, "print_json", stopped)
            again = cli("import", str(path))
        assert again.exit_code == 130 and "interrupted: nothing was stored" in said(again.output)
    finally:
        with db.transaction() as session:
            if session.get(Organization, org_id):
                repository.delete_org(session, org_id)


def test_ctrl_c_while_a_stored_report_is_written_says_how_to_get_it(org, monkeypatch) -> None:
    def stopped(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # a slow reader (`| less`) holds the command here

    monkeypatch.setattr(typer, "echo", stopped)
    result = cli("report", "--org", org, "--format", "json")
    assert result.exit_code == 130
    assert runs(org) == 1
    assert (
        f"interrupted: report #1 for {org} is stored: `goldenthread report --org {org} --run 1 "
        "--format json` writes it again"
    ) in said(result.output)


def test_ctrl_c_while_a_read_is_printed_says_nothing_was_stored(org, monkeypatch) -> None:
    def stopped(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(typer, "echo", stopped)
    result = cli("export", "--org", org)  # its transaction committed, having written nothing
    assert result.exit_code == 130 and said(result.output) == "interrupted: nothing was stored"


# 2. A standard output that cannot be written


def test_a_full_stdout_is_named_and_the_stored_run_with_it(org, embedder) -> None:
    with open("/dev/full", "w") as full:
        command = goldenthread(
            "report", "--org", org, "--format", "json", stdout=full, stderr=subprocess.PIPE
        )
        _, errors = command.communicate(timeout=300)
    assert command.returncode == 1, errors
    assert "Traceback" not in errors and "Exception ignored" not in errors
    assert errors.strip().splitlines()[-1] == (
        f"error: could not write to standard output: No space left on device; report #1 for "
        f"{org} is stored: `goldenthread report --org {org} --run 1 --format json` writes it again"
    )
    written = cli("report", "--org", org, "--run", "1", "--format", "json")
    assert written.exit_code == 0 and json.loads(written.stdout)["summary"]


def test_a_closed_pipe_ends_quietly_as_unix_tools_do(org) -> None:
    command = goldenthread("export", "--org", org, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert command.stdout is not None
    command.stdout.close()  # the reader is gone before anything is written (`| head -c0`)
    errors = command.stderr.read() if command.stderr else ""
    command.wait(timeout=120)
    assert command.returncode == 141  # 128 + SIGPIPE, as `cat` or `grep` would end
    assert "Traceback" not in errors and "Exception ignored" not in errors
    assert "error" not in errors


def test_help_into_a_closed_pipe_ends_quietly_too() -> None:
    # Help is printed before any command runs, outside the commands' own handling.
    command = goldenthread("--help", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert command.stdout is not None
    command.stdout.close()
    errors = command.stderr.read() if command.stderr else ""
    command.wait(timeout=120)
    assert command.returncode == 141
    assert "Traceback" not in errors and "StdoutFailed" not in errors


def test_a_command_started_with_stdout_closed_still_succeeds(org) -> None:
    # `goldenthread export ... >&-`: Python starts with sys.stdout None; the output goes nowhere.
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "export", "--org", org],
        cwd=REPO,
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0


def _stdout_full(*_args: object, **_kwargs: object) -> None:
    """A write to stdout failing as /dev/full makes it fail (service.cli's stdout raises this)."""
    from service.commands.cut_short import StdoutFailed

    raise StdoutFailed(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))


def test_a_key_whose_secret_could_not_be_printed_says_to_revoke_it(org, monkeypatch) -> None:
    from service.commands import keys

    monkeypatch.setattr(keys.out, "print", _stdout_full)
    result = cli("keys", "create", "--role", "admin", "--org", org)
    assert result.exit_code == 1
    shown = said(result.output)
    assert shown.startswith(
        "error: could not write to standard output: No space left on device; key "
    )
    prefix = shown.split("; key ", 1)[1].split()[0]
    assert shown.endswith(
        f"is created; if its secret was not shown, revoke it (`goldenthread keys revoke "
        f"{prefix} --org {org}`) and create another"
    )


def test_a_draft_that_could_not_be_printed_says_how_to_show_it(org, monkeypatch) -> None:
    from service.commands import drafts

    monkeypatch.delenv("GOLDENTHREAD_LLM_BASE_URL", raising=False)  # the offline drafter
    monkeypatch.setattr(drafts.out, "print", _stdout_full)
    result = cli("suggest", "--org", org, "--team", "T-1")
    assert result.exit_code == 1
    shown = said(result.output)
    draft = shown.split("; draft ", 1)[1].split()[0]
    assert shown.endswith(
        f"draft {draft} is stored: `goldenthread drafts show {draft} --org {org}` shows it again"
    )
    monkeypatch.undo()
    assert cli("drafts", "show", draft, "--org", org).exit_code == 0


# 3. A key named twice in a JSON bundle


def test_a_key_named_twice_in_a_json_bundle_is_located(tmp_path, database_url) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(
        '{\n  "format": "goldenthread.bundle/v1",\n'
        '  "organization": {"id": "twice", "name": "A",\n'
        '    "name": "B"}\n}\n'
    )
    result = cli("import", str(path))
    assert result.exit_code == 2
    shown = said(result.output)
    assert f"{path} names the key 'name' twice in one object, the second time at line 4, " in (
        shown
    )
    assert "line 4, column 5: 'name' appears twice in one object" in shown


def test_the_repeat_named_is_the_one_in_the_object_that_ends_first() -> None:
    """The hook refuses the first object to close with a repeat: here the inner one, though
    the outer object's repeat comes first in the text."""
    from alignment.bundle.io import load_document
    from alignment.errors import BundleInvalid

    text = '{"k": 1, "k": 2,\n "o": {"s": "}{\\"", "x": 1, "x": 2}}'
    with pytest.raises(BundleInvalid) as refused:
        load_document(text, name="b.json")
    assert refused.value.details[0]["message"].startswith("line 2, column 29: 'x' appears")


# 4. eval: every labels-file error names the file


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ("[1, 2]", "labels file rejected"),
        ('{"links": {"X": 3}}', "labels file rejected"),
        ('{"links": {', "is not valid JSON"),
        ("", "is empty"),
    ],
)
@pytest.mark.parametrize("command", ["alignment", "report"])
def test_eval_names_the_labels_file_it_refuses(tmp_path, command, labels, words) -> None:
    path = tmp_path / "mine.labels.json"
    path.write_text(labels)
    result = cli("eval", command, str(DEV / "clearbrook-water.bundle.json"), str(path))
    assert result.exit_code == 2
    assert f"{path}" in said(result.output) and words in said(result.output)


def test_eval_says_when_a_bundle_stands_where_its_labels_should() -> None:
    bundle, labels = DEV / "clearbrook-water.bundle.json", DEV / "clearbrook-water.labels.json"
    result = cli("eval", "report", str(labels), str(bundle))
    assert result.exit_code == 2
    assert (
        f"{bundle}: labels file rejected (it is a bundle: give BUNDLE LABELS pairs, in that order)"
    ) in said(result.output)


# 5. A malformed GOLDENTHREAD_PAGE_LIMIT_MAX


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("abc", "Input should be a valid integer"),
        ("-1", "Input should be greater than or equal to 1"),
    ],
)
def test_drafts_list_says_a_malformed_page_limit_is_an_invalid_setting(
    org, monkeypatch, value, words
) -> None:
    from alignment.settings import get_settings

    monkeypatch.setenv("GOLDENTHREAD_PAGE_LIMIT_MAX", value)
    get_settings.cache_clear()
    try:
        result = cli("drafts", "list", "--org", org)
    finally:
        monkeypatch.delenv("GOLDENTHREAD_PAGE_LIMIT_MAX")
        get_settings.cache_clear()
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert said(result.output).startswith(
        f"error: invalid setting: GOLDENTHREAD_PAGE_LIMIT_MAX: {words}"
    )


# 6. A decision made again


@pytest.fixture(scope="module")
def reviewed(database_url, embedder) -> Iterator[str]:
    """The sample organization scored under its own id (its review queue is decided here)."""
    from tests.conftest import committed_sample

    with committed_sample(db.get_engine(), embedder, "leftover") as org_id:
        yield org_id


def audited(org_id: str, record: str) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.org_id == org_id, AuditEntry.record == record
                )
            )
        )


def test_rejecting_an_okr_again_says_who_rejected_it_and_when(reviewed) -> None:
    first = cli("review", "reject", "O-38", "--org", reviewed, "--note", "a museum piece")
    assert first.exit_code == 0, first.output
    assert "O-38: rejected SO-7, SO-10, SO-12, SO-8; now an orphan" in first.output
    again = cli("review", "reject", "O-38", "--org", reviewed)
    assert again.exit_code == 0, again.output
    shown = said(again.stdout)
    assert shown.startswith("O-38: already an orphan (rejected SO-7, SO-10, SO-12, SO-8 by cli:")
    assert shown.endswith(" UTC); nothing changed")
    same = cli("review", "reject", "O-38", "--org", reviewed, "--note", "a museum piece")
    assert "already an orphan" in same.stdout
    assert audited(reviewed, "O-38") == ["CLI review reject"]  # recorded once
    # Another note is a new decision, recorded as one rather than dropped.
    noted = cli("review", "reject", "O-38", "--org", reviewed, "--note", "sold to a museum")
    assert noted.exit_code == 0 and "already" not in noted.stdout
    assert audited(reviewed, "O-38") == ["CLI review reject"] * 2


def test_confirming_again_says_who_confirmed_and_when(reviewed) -> None:
    first = cli("review", "confirm", "O-21", "SO-6", "--org", reviewed)
    assert first.exit_code == 0, first.output
    again = cli("review", "confirm", "O-21", "SO-6", "--org", reviewed)
    assert again.exit_code == 0, again.output
    shown = said(again.stdout)
    assert shown.startswith("O-21 already serves SO-6 (confirmed by cli:")
    assert shown.endswith(" UTC); nothing changed")
    assert audited(reviewed, "O-21/SO-6") == ["CLI review confirm"]
    # Rejecting it now is refused, naming who confirmed what.
    rejected = cli("review", "reject", "O-21", "--org", reviewed)
    assert rejected.exit_code == 2
    assert "OKR 'O-21' is aligned (confirmed as serving SO-6 by cli:" in said(rejected.output)


def test_deciding_a_check_in_again_says_who_decided_and_when(reviewed) -> None:
    listed = cli("review", "check-ins", "--org", reviewed, "--json")
    item = json.loads(listed.stdout)["items"][0]
    check_in, okr = item["check_in_id"], item["okr_id"]
    assert cli("review", "check-in", check_in, "on_topic", "--org", reviewed).exit_code == 0
    again = cli("review", "check-in", check_in, "on_topic", "--org", reviewed)
    assert again.exit_code == 0, again.output
    shown = said(again.stdout)
    assert shown.startswith(f"{check_in} under {okr}: already on_topic (decided by cli:")
    assert shown.endswith(" UTC); nothing changed")
    assert audited(reviewed, check_in) == ["CLI review check-in"]
    changed = cli("review", "check-in", check_in, "drifting", "--org", reviewed)  # a new verdict
    assert changed.exit_code == 0 and "already" not in changed.stdout


def test_deciding_a_draft_again_says_who_decided_and_when(reviewed, monkeypatch) -> None:
    monkeypatch.delenv("GOLDENTHREAD_LLM_BASE_URL", raising=False)  # the offline drafter
    drafted = cli("suggest", "--org", reviewed, "--team", "T-9", "--json")
    assert drafted.exit_code == 0, drafted.output
    draft = json.loads(drafted.stdout)["id"]
    assert cli("drafts", "reject", draft, "--org", reviewed, "--reason", "not now").exit_code == 0
    again = cli("drafts", "reject", draft, "--org", reviewed, "--reason", "not now")
    assert again.exit_code == 0, again.output
    shown = said(again.stdout)
    assert shown.startswith(f"draft {draft} already rejected (by cli:")
    assert shown.endswith(" UTC); nothing changed")
    assert audited(reviewed, draft) == ["CLI drafts reject"]
    # --json answers a retry as the API does: the draft as it stands.
    as_json = cli("drafts", "reject", draft, "--org", reviewed, "--reason", "not now", "--json")
    assert json.loads(as_json.stdout)["status"] == "rejected"


# 7. An LLM's errors in words


@pytest.fixture
def llm(monkeypatch) -> Iterator[None]:
    """Settings read again from the environment the test sets, and once more after it."""
    from alignment.drafting.drafters import get_drafter
    from alignment.settings import get_settings

    monkeypatch.setenv("GOLDENTHREAD_LLM_MAX_RETRIES", "0")
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
    get_drafter.cache_clear()


def _with_llm(monkeypatch, base_url: str) -> None:
    from alignment.drafting.drafters import get_drafter
    from alignment.settings import get_settings

    monkeypatch.setenv("GOLDENTHREAD_LLM_BASE_URL", base_url)
    get_settings.cache_clear()
    get_drafter.cache_clear()


@pytest.mark.parametrize("value", ["not-a-url", "localhost:11434"])
def test_a_base_url_that_is_no_url_is_named_with_its_setting(org, llm, monkeypatch, value) -> None:
    _with_llm(monkeypatch, value)
    result = cli("suggest", "--org", org, "--team", "T-1")
    assert result.exit_code == 2
    shown = said(result.output)
    assert "GOLDENTHREAD_LLM_BASE_URL is not a URL; it needs http:// or https://" in shown
    assert repr(value) not in shown  # the value may be a credential put in the wrong setting
    assert "could not be reached" not in shown


def test_the_providers_error_is_said_in_words_not_as_a_dict(org, llm, monkeypatch) -> None:
    from tests.alignment.drafting_support import FakeOpenAI

    server = FakeOpenAI()
    try:
        server.reply(status=401)  # {"error": {"message": "scripted failure", ...}}
        _with_llm(monkeypatch, server.url)
        result = cli("suggest", "--org", org, "--team", "T-1")
    finally:
        server.close()
    assert result.exit_code == 2
    lines = [line.strip() for line in result.output.splitlines()]
    assert "error (unavailable): the LLM provider answered HTTP 401; nothing was drafted or " in (
        said(result.output)
    )  # no "(after N retries)": the client retries no 401
    assert f"provider: {server.url}" in lines
    assert "provider message: scripted failure" in lines
    assert "{" not in result.output


def test_an_llm_command_prints_no_http_request_log_line(org) -> None:
    from tests.alignment.drafting_support import FakeOpenAI

    server = FakeOpenAI()
    try:
        server.reply(status=401)
        command = goldenthread(
            "suggest", "--org", org, "--team", "T-1", stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=os.environ | {"HF_HUB_OFFLINE": "1", "GOLDENTHREAD_LLM_BASE_URL": server.url,
                              "GOLDENTHREAD_LLM_MAX_RETRIES": "0"},
        )  # fmt: skip
        _, errors = command.communicate(timeout=180)
    finally:
        server.close()
    assert command.returncode == 2
    assert "the LLM provider answered HTTP 401" in errors  # the request was made
    assert "HTTP Request" not in errors
