"""`goldenthread keys`: create, list and revoke API keys from the machine that runs the database.

Whoever can run these commands can reach the database as its owner, so they need no key; each
key they create records `cli:<os user>` as its creator.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from alignment import db
from alignment.access import keys as api_keys
from alignment.access.principal import Role
from alignment.errors import DomainError, NotFound
from service.commands.common import audited, fail, operator, text_option
from service.commands.console import out
from service.commands.cut_short import kept
from service.commands.database import prepare_database
from service.commands.ids import as_stored

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


# The request fields of the API's errors, as this command line's options.
OPTIONS = {"$.teams": "--team", "$.org": "--org", "$.role": "--role", "$.name": "--name"}


@keys_app.command("create")
def create_cmd(
    role: Annotated[Role, typer.Option("--role", help="What the key may do.")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="Organization (none: platform_admin).", callback=as_stored),
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option("--team", help="A team lead's team (repeat).", callback=as_stored),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Who or what holds the key.", callback=text_option(200)),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a key and print it once: only its hash is kept."""
    prepare_database()
    try:
        with db.transaction() as session:
            row, raw = api_keys.create_key(
                session,
                org_id=org,
                role=role,
                team_ids=team or (),
                name=name,
                created_by=operator(),
            )
            audited(session, org, "keys create", row.prefix)
            shown = {**api_keys.render_key(row), "key": raw}
    except DomainError as exc:
        fail(exc, OPTIONS)
    revoke = f"goldenthread keys revoke {shown['prefix']}" + (f" --org {org}" if org else "")
    # Only its hash is kept: a key whose secret never reached anyone can only be revoked.
    kept(
        f"key {shown['prefix']} is created; if its secret was not shown, revoke it "
        f"(`{revoke}`) and create another"
    )
    if as_json:
        out.print_json(json.dumps(shown, default=str))
        return
    out.print(f"{shown['role']} key for {shown['org_id'] or 'the platform'} ({shown['name']}):")
    out.print(raw, highlight=False, soft_wrap=True)
    out.print(f"[dim]Shown once: store it now. Revoke with `{revoke}`.[/]")


@keys_app.command("list")
def list_cmd(
    org: Annotated[
        str | None,
        typer.Option("--org", help="Organization (none: platform keys).", callback=as_stored),
    ] = None,
) -> None:
    """Keys by prefix: role, teams, created, last used, revoked. Never their secrets."""
    from alignment.repository import require_org

    prepare_database()
    try:
        with db.transaction() as session:
            if org is not None:
                require_org(session, org)
            rows = [api_keys.render_key(k) for k in api_keys.list_keys(session, org)]
    except DomainError as exc:
        fail(exc)
    for k in rows:
        state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
        teams = f" teams={','.join(k['teams'])}" if k["teams"] else ""
        used = f"{k['last_used_at']:%Y-%m-%d %H:%M}" if k["last_used_at"] else "never"
        out.print(f"{k['prefix']}  {k['role']:<15} {k['name']}{teams}  used {used}  {state}")
    if not rows:
        out.print(f"no keys in {org}" if org else "no platform keys (an organization's: --org)")


@keys_app.command("revoke")
def revoke_cmd(
    key: Annotated[
        str,
        typer.Argument(
            metavar="PREFIX",
            help="The key's prefix: PREFIX or gt_PREFIX, as `keys list` shows it (a whole key "
            "works too; its secret is never shown).",
        ),
    ],
    org: Annotated[
        str | None,
        typer.Option("--org", help="Organization (none: platform key).", callback=as_stored),
    ] = None,
) -> None:
    """Revoke a key at once; revoking twice is harmless."""
    prefix = key_prefix(key)
    if not prefix:
        raise typer.BadParameter("give the key's prefix (gt_PREFIX)", param_hint="'PREFIX'")
    prepare_database()
    try:
        with db.transaction() as session:
            try:
                api_keys.revoke_key(session, prefix, org_id=org)
            except NotFound:
                raise _not_here(session, prefix, org) from None
            audited(session, org, "keys revoke", prefix)
    except DomainError as exc:
        fail(exc)
    out.print(f"revoked {prefix}")


def key_prefix(key: str) -> str:
    """The prefix of `PREFIX`, `gt_PREFIX` or a whole key `gt_PREFIX_SECRET`: whatever
    follows the prefix is dropped unread, so no message can repeat a secret."""
    return key.strip().removeprefix("gt_").split("_", 1)[0]


def _not_here(session, prefix: str, org: str | None) -> DomainError:
    """No such key in this scope: say where it is when it exists elsewhere (whoever runs
    the CLI owns the database), so the right --org is one retry away."""
    from sqlalchemy import select

    from alignment.models import ApiKey

    owner = session.execute(select(ApiKey.org_id).where(ApiKey.prefix == prefix)).one_or_none()
    if owner is None:
        where = f"organization {org!r}" if org else "the platform keys"
        return NotFound(f"no key {prefix!r} among {where}")
    if owner.org_id is None:
        return NotFound(
            f"key {prefix!r} is a platform key: revoke it without --org "
            f"(goldenthread keys revoke {prefix})"
        )
    return NotFound(
        f"key {prefix!r} belongs to organization {owner.org_id!r}: "
        f"goldenthread keys revoke {prefix} --org {owner.org_id}"
    )


def write_demo_keys(data_dir: Path, org_id: str, team_id: str) -> dict[str, str]:
    """One key per role for the sample organization (and a platform admin), written to
    `<data dir>/demo-keys.json` with mode 0600.

    Re-running the demo rotates them: the previous demo keys are revoked, so a stale copy
    of the file stops working instead of keys piling up.
    """
    path = data_dir / "demo-keys.json"
    with db.transaction() as session:
        if path.exists():
            try:
                previous = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                previous = {}
            for raw in previous.values():
                parts = str(raw).split("_")
                if len(parts) >= 3:
                    scope = None if raw == previous.get("platform_admin") else org_id
                    # Already gone when the organization was deleted and loaded again.
                    with contextlib.suppress(DomainError):
                        api_keys.revoke_key(session, parts[1], org_id=scope)
        made: dict[str, str] = {}
        for role in Role:
            made[role.value] = api_keys.create_key(
                session,
                org_id=None if role is Role.platform_admin else org_id,
                role=role,
                team_ids=[team_id] if role is Role.team_lead else (),
                name=f"demo {role.value}",
                created_by=operator(),
            )[1]
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(made, handle, indent=2)
    os.chmod(path, 0o600)
    return made
