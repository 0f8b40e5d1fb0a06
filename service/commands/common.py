"""What every command shares: ending with a domain error, one transaction per command, the
progress bar on stderr.

The command modules import these at the top; none of them imports `service.cli`, which only
assembles them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import NoReturn, TypeVar

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text
from sqlalchemy.orm import Session

from alignment import db
from alignment.errors import DomainError
from service.commands.console import err
from service.commands.database import prepare_database

T = TypeVar("T")

# How the API's error paths read on the command line: the option or argument to fix.
PATHS = {"path.org_id": "--org"}


def fail(exc: DomainError, options: Mapping[str, str] | None = None) -> NoReturn:
    """End the command with a domain error (exit 2); `options` names the command's options
    for the API paths in its details ({"$.cycle": "--cycle"}, "$.teams[1]" too)."""
    err.print(f"[red]error ({exc.code}):[/] {exc.message}")
    names = {**PATHS, **(options or {})}
    if isinstance(exc.details, list):
        for item in exc.details[:200]:
            path = _option(str(item.get("path", "")), names) if isinstance(item, dict) else ""
            message = item.get("message", item) if isinstance(item, dict) else item
            err.print(f"  {path}: {message}")
    elif isinstance(exc.details, dict):  # named facts ("provider", "limit"): one line each
        for key, value in exc.details.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            err.print(f"  {str(key).replace('_', ' ')}: {shown}", markup=False, highlight=False)
    elif exc.details:
        err.print(f"  {exc.details}", markup=False, highlight=False)
    raise typer.Exit(code=2)


def _option(path: str, names: Mapping[str, str]) -> str:
    for api, option in names.items():
        if path == api or path.startswith(f"{api}["):  # "$.teams[1]": one of the --team
            return option
        if path.startswith(f"{api}."):  # a place inside the option's file: say where
            return f"{option} at ${path.removeprefix(api)}"
    return path


def run_in_transaction(
    work: Callable[[Session], T], *, options: Mapping[str, str] | None = None
) -> T:
    """`work` in one transaction on the configured (and migrated) database: any error rolls it
    back, so a failed command leaves nothing behind; a domain error ends the command with its
    message, the API paths in its details named by `options` (see `fail`)."""
    prepare_database()
    try:
        with db.transaction() as session:
            return work(session)
    except DomainError as exc:
        fail(exc, options)


class _Count(ProgressColumn):
    """done/total, or nothing while the total is unknown (rather than "0/None")."""

    def render(self, task: Task) -> Text:
        return Text("" if task.total is None else f"{task.completed}/{task.total}")


def progress_bar() -> Progress:
    """A progress bar on stderr, so stdout keeps only the command's result."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _Count(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def when(at: datetime) -> str:
    """A moment as the pages say it (`service/routes/forms.decided_at_text`): "2026-12-08 00:53
    UTC", never a raw ISO timestamp."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def operator() -> str:
    """Who decides from the command line: the operating-system user running it (whoever
    can run the CLI here has the database itself; the API records the signed-in key instead)."""
    import getpass

    return f"cli:{getpass.getuser()}"


def audited(session: Session, org_id: str | None, action: str, record: str | None) -> None:
    """An audit-log entry for a write made from the command line, in its transaction: the
    organization's log names every key made or revoked and every decision, whoever made it
    (docs/security.md), and here the operator (`cli:<user>`) made it."""
    from alignment.access import audit
    from alignment.access.principal import Principal, Role

    who = Principal(name=operator(), role=Role.admin, org_id=org_id)
    audit.record(session, who, f"CLI {action}", org_id=org_id, record=record)


def audited_as(session: Session, org_id: str, action: str, record: str, result: T) -> T:
    """`result` of a decision made in `session`, with its audit-log entry (`audited`)."""
    audited(session, org_id, action, record)
    return result


def text_option(limit: int) -> Callable[[str | None], str | None]:
    """A Typer callback holding an option's text to what the API's field takes (plain text:
    no control characters, which a terminal would run as escape sequences when the text is
    listed; 1 to `limit` characters)."""
    from typing import Annotated

    from pydantic import Field, TypeAdapter, ValidationError

    from alignment.bundle.text_rules import PlainText
    from alignment.errors import field_message

    adapter = TypeAdapter(Annotated[PlainText, Field(min_length=1, max_length=limit)])

    def check(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise typer.BadParameter(field_message(exc.errors()[0])) from None

    return check
