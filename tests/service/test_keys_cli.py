"""`goldenthread keys` and the demo's keys, end to end on the real database."""

from __future__ import annotations

import json
import stat
import uuid

import pytest
from typer.testing import CliRunner

from alignment import db, repository
from alignment.access import keys
from service.cli import app
from service.commands.keys import write_demo_keys
from tests.factories import small_bundle


@pytest.fixture
def org(tmp_path, database_url) -> str:
    org_id = f"keys-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "org.bundle.json"
    path.write_text(json.dumps(small_bundle(org_id)))
    assert CliRunner().invoke(app, ["import", str(path)]).exit_code == 0
    yield org_id
    with db.transaction() as session:
        repository.delete_org(session, org_id)


def cli(*args: str):
    return CliRunner().invoke(app, ["keys", *args])


def test_create_list_revoke(org) -> None:
    made = cli("create", "--org", org, "--role", "team_lead", "--team", "T-1", "--json")
    assert made.exit_code == 0, made.output
    shown = json.loads(made.output)
    assert shown["key"].startswith(f"gt_{shown['prefix']}_") and shown["teams"] == ["T-1"]
    assert shown["created_by"].startswith("cli:")
    listed = cli("list", "--org", org)
    assert shown["prefix"] in listed.output and "team_lead" in listed.output
    assert shown["key"] not in listed.output  # the secret is never shown again
    with db.transaction() as session:
        assert keys.authenticate(session, shown["key"]) is not None
    assert cli("revoke", shown["prefix"], "--org", org).exit_code == 0
    with db.transaction() as session:
        assert keys.authenticate(session, shown["key"]) is None
    assert "revoked" in cli("list", "--org", org).output


def test_the_cli_creates_admin_keys_while_one_is_active(org) -> None:
    # The break-glass path: the API refuses a platform admin a second admin key, the operator's
    # CLI on the database's machine does not.
    made = [cli("create", "--org", org, "--role", "admin", "--json") for _ in range(2)]
    assert [m.exit_code for m in made] == [0, 0], [m.output for m in made]
    with db.transaction() as session:
        for m in made:
            assert keys.authenticate(session, json.loads(m.output)["key"]).role == "admin"


def test_bad_role_team_or_organization_is_named(org) -> None:
    assert cli("create", "--org", org, "--role", "owner").exit_code == 2
    no_team = cli("create", "--org", org, "--role", "team_lead")
    assert no_team.exit_code == 2 and "needs at least one team" in no_team.output
    wrong_team = cli("create", "--org", org, "--role", "team_lead", "--team", "T-404")
    assert wrong_team.exit_code == 2 and "T-404" in wrong_team.output
    missing = cli("create", "--org", "no-such-org", "--role", "admin")
    assert missing.exit_code == 2 and "no-such-org" in missing.output


def test_demo_keys_are_private_and_rotate(org, tmp_path) -> None:
    first = write_demo_keys(tmp_path, org, "T-1")
    path = tmp_path / "demo-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(first) == {"platform_admin", "admin", "strategy_office", "team_lead", "integration"}
    second = write_demo_keys(tmp_path, org, "T-1")
    assert json.loads(path.read_text()) == second
    with db.transaction() as session:
        assert keys.authenticate(session, first["admin"]) is None  # rotated away
        assert keys.authenticate(session, second["admin"]).role == "admin"
        assert keys.authenticate(session, second["team_lead"]).team_ids == {"T-1"}
        platform = keys.authenticate(session, second["platform_admin"])
        assert platform.org_id is None
        keys.revoke_key(session, second["platform_admin"].split("_")[1], org_id=None)


def test_revoke_takes_any_form_of_the_key_and_never_repeats_its_secret(org) -> None:
    made = json.loads(cli("create", "--org", org, "--role", "admin", "--json").output)
    raw, prefix = made["key"], made["prefix"]
    secret = raw.split("_", 2)[2]
    # Without --org: the key is found elsewhere and the command to use is named.
    elsewhere = cli("revoke", raw)
    assert elsewhere.exit_code == 2
    shown = " ".join(elsewhere.output.split())
    assert f"belongs to organization '{org}'" in shown and f"--org {org}" in shown
    assert secret not in elsewhere.output
    with db.transaction() as session:
        assert keys.authenticate(session, raw) is not None  # not revoked
    # The whole key pasted: revoked by its prefix, the secret never echoed.
    whole = cli("revoke", raw, "--org", org)
    assert whole.exit_code == 0, whole.output
    assert f"revoked {prefix}" in whole.output and secret not in whole.output
    with db.transaction() as session:
        assert keys.authenticate(session, raw) is None
    # gt_PREFIX, as the help says: revoking twice is harmless.
    assert cli("revoke", f"gt_{prefix}", "--org", org).exit_code == 0
    unknown = cli("revoke", "gt_00000000_" + "x" * 43, "--org", org)
    assert unknown.exit_code == 2 and "x" * 43 not in unknown.output


def test_listing_the_keys_of_an_unknown_organization_says_so(database_url) -> None:
    result = cli("list", "--org", "no-such-org")
    assert result.exit_code == 2 and "'no-such-org' does not exist" in result.output
    assert "no keys" not in result.output


def test_the_revoke_hint_after_a_create_is_a_command_that_works(org) -> None:
    """It said `keys revoke PREFIX`, which an organization's key refuses without `--org`."""
    made = cli("create", "--org", org, "--role", "strategy_office")
    assert made.exit_code == 0, made.output
    hint = " ".join(made.output.split()).split("Revoke with `goldenthread ")[1].split("`")[0]
    revoked = CliRunner().invoke(app, hint.split())
    assert revoked.exit_code == 0, (hint, revoked.output)
    assert "revoked" in cli("list", "--org", org).output


def test_keys_made_and_revoked_from_the_command_line_are_in_the_audit_log(org) -> None:
    """The organization's log names every key made or revoked, the operator's too."""
    from sqlalchemy import select

    from alignment.models import AuditEntry

    made = json.loads(cli("create", "--org", org, "--role", "admin", "--json").output)
    assert cli("revoke", made["prefix"], "--org", org).exit_code == 0
    with db.transaction() as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.record, AuditEntry.principal)
            .where(AuditEntry.org_id == org)
            .order_by(AuditEntry.id)
        ).all()
    assert [(a, r) for a, r, _ in entries] == [
        ("CLI keys create", made["prefix"]),
        ("CLI keys revoke", made["prefix"]),
    ]
    assert all(p.startswith("cli:") for _, _, p in entries)
