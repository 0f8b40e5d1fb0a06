"""`goldenthread db` and what every command does first: reach the database and migrate it.

What the machine or the environment gets wrong (an unreachable server, a data directory that
cannot be made, a malformed setting) ends a command with one line and exit code 2, never a
traceback, and never with DATABASE_URL's password.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NoReturn

import typer

from alignment import db
from service.commands.console import err

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@lru_cache(maxsize=1)  # commands that chain others (demo -> score) migrate once
def prepare_database() -> None:
    """Resolve the database (starting the embedded one if needed) and migrate it.

    What the machine or the environment gets wrong (an unreachable server, a data directory
    that cannot be made, a malformed setting) ends the command with one line and exit code 2,
    never a traceback, and never with DATABASE_URL's password."""
    from subprocess import SubprocessError

    from sqlalchemy.exc import OperationalError

    settings = settings_or_exit().database
    if not settings.database_url:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            environment_error(
                f"cannot create the data directory {settings.data_dir} (GOLDENTHREAD_DATA_DIR): "
                f"{exc.strerror or exc}"
            )
    try:
        database = db.resolve_database()
    except (OSError, RuntimeError, SubprocessError) as exc:
        pgdata = settings.data_dir / "pgdata"
        environment_error(f"cannot start the embedded PostgreSQL in {pgdata}: {_first_line(exc)}")
    shown = database.description if database.embedded else _where(database, named=True)
    err.print(f"[bold]database:[/] {shown}", highlight=False)
    try:
        before, after = db.upgrade(database.url)
    except OperationalError as exc:
        environment_error(f"cannot connect to {_where(database)}: {_reason(exc, database.url)}")
    if before != after:
        err.print(f"[bold]schema:[/] migrated {before or 'an empty database'} -> {after}")


def settings_or_exit():
    """The settings, or one line naming the malformed one (never its value: it may be a
    password or a URL with one)."""
    from pydantic import ValidationError

    from alignment.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{_variable(exc.title, e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        environment_error(f"invalid setting: {problems}")
    except ValueError as exc:  # a check across settings (e.g. placeholder secrets)
        environment_error(f"invalid settings: {_first_line(exc)}")


def _variable(group: str, loc: tuple) -> str:
    """The environment variable a person set ("GOLDENTHREAD_PAGE_LIMIT_MAX"), not the field
    it fills ("page_limit_max"); a field with an alias is named by it already."""
    from alignment import settings

    fields = getattr(getattr(settings, group, None), "model_fields", {})
    name = str(loc[0]) if loc else ""
    if name in fields and not fields[name].validation_alias:
        prefix = getattr(settings, group).model_config.get("env_prefix", "")
        name = f"{prefix}{name}".upper()
    return ".".join([name, *map(str, loc[1:])])


def environment_error(message: str) -> NoReturn:
    from rich.markup import escape

    err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _where(database: db.Database, *, named: bool = False) -> str:
    """The server as host:port (and `named`, the database), never user or password."""
    from sqlalchemy.engine import make_url

    if database.embedded:
        return f"the {database.description}"
    url = make_url(database.url)
    host = url.host or url.query.get("host") or "localhost"
    name = f"/{url.database}" if named and url.database else ""
    return f"PostgreSQL at {host}:{url.port or 5432}{name} (DATABASE_URL)"


def _reason(exc: Exception, url: str) -> str:
    """The driver's reason in a few words ("connection refused", "password authentication
    failed for user ..."), with the URL's password masked should the driver repeat it."""
    from sqlalchemy.engine import make_url

    line = _first_line(getattr(exc, "orig", None) or exc)
    reason = line.rsplit("failed: ", 1)[-1].strip()
    reason = reason.removeprefix("FATAL:").strip() or line
    parsed = make_url(url)
    for secret in (parsed.password, parsed.query.get("password")):
        if secret and isinstance(secret, str):
            reason = reason.replace(secret, "***")
    return reason[:1].lower() + reason[1:] if reason[1:2].islower() else reason


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (creates the vector extension and tables)."""
    prepare_database()
    err.print("[green]database is at the latest schema[/]")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (nothing to do with DATABASE_URL set)."""
    settings = settings_or_exit().database
    if settings.database_url:
        err.print("DATABASE_URL is set: that server is not ours to stop")
        raise typer.Exit(code=1)
    pgdata = settings.data_dir / "pgdata"
    if db.stop_embedded(pgdata):
        err.print(f"[green]stopped[/] the embedded PostgreSQL in {pgdata}")
    else:
        err.print(f"no embedded PostgreSQL runs in {pgdata}")
