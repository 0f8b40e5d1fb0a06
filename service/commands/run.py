"""`goldenthread serve`, `worker` and `demo`: the long-running processes, and the demo that
loads the sample organization and then serves it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from alignment import db
from alignment.bundle.io import load_file
from service.commands.common import progress_bar
from service.commands.console import err
from service.commands.cut_short import kept, stop_watching
from service.commands.database import prepare_database, settings_or_exit
from service.commands.keys import write_demo_keys
from service.commands.report import build_whole_report
from service.commands.scoring import score_cmd

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BUNDLE = REPO_ROOT / "examples" / "sample-org.bundle.json"


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
    stop_watching()
    settings = get_settings().service
    host, port = host or settings.host, port or settings.port
    # Loaded now, not by the first request that needs it (a few seconds on this machine).
    get_embedder().encode(["warm up"])
    err.print(f"[bold green]Golden Thread[/] on http://{host}:{port}  (API docs: /docs)")
    configure_json_logs()  # one JSON object per line from here on, with request ids
    logging.getLogger("procrastinate").setLevel(logging.NOTSET)  # the jobs' log: cli.main
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


def worker_cmd(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Jobs run at once (default GOLDENTHREAD_JOBS_CONCURRENCY)."
        ),
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
    from alignment.embedder import get_embedder
    from alignment.jobs import priority, worker
    from service.observability import configure_json_logs

    prepare_database()
    stop_watching()
    priority.lower_priority()  # before the warm-up starts torch's threads: they inherit it
    priority.lower_backend_priority(db.get_engine())
    get_embedder().encode(["warm up"])
    configure_json_logs()
    logging.getLogger("alignment").setLevel(logging.INFO)
    logging.getLogger("procrastinate").setLevel(logging.NOTSET)  # the jobs' log: cli.main
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    err.print("[bold green]Golden Thread worker[/] (SIGTERM or Ctrl-C stops it)")
    worker.run(db.resolve_database().url, concurrency=concurrency, wait=not until_empty)


def demo(
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve after loading.")
    ] = True,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
) -> None:
    """Load the bundled sample organization (once: an existing one is left as it is), then serve
    it."""
    # Decided before loading starts the server: the demo stops what it started when it ends.
    starts_embedded = serve_api and _embedded_not_running()
    prepare_database()
    org = _load_sample_once()
    kept(
        f"the sample organization {org} is loaded; `goldenthread demo` "
        "again finishes the rest (it is safe to repeat)"
    )
    score_cmd(org=org)
    build_whole_report(org)
    _print_demo_keys(org)
    if serve_api:
        from alignment.settings import get_settings

        settings = get_settings().service
        base = f"http://{settings.host}:{port or settings.port}"
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


def _load_sample_once() -> str:
    """Load the sample organization unless it exists; return its id.

    Once loaded it is the user's: the edits and deletions they make while trying the product
    must survive the next `demo`, so an existing organization is never imported over.
    `goldenthread import` of the bundle is the explicit way back to the sample as shipped."""
    from alignment.bundle.validate import parse_bundle
    from alignment.imports import import_document
    from alignment.models import Organization

    document = load_file(SAMPLE_BUNDLE)
    org = parse_bundle(document).organization.id
    with db.transaction() as session:
        exists = session.get(Organization, org) is not None
        if not exists:
            with progress_bar() as bar:
                task = bar.add_task("loading sample organization", total=5)
                import_document(
                    session,
                    document,
                    progress=lambda label, _n: bar.update(task, advance=1, description=label),
                )
    if exists:
        err.print(
            f"sample organization [bold]{org}[/] exists: left as it is; "
            f"`goldenthread import {os.path.relpath(SAMPLE_BUNDLE)}` reloads it",
            highlight=False,
            soft_wrap=True,
        )
        return org
    err.print(f"sample organization [bold]{org}[/]: loaded for the first time")
    return org


DEMO_TEAM = "T-9"  # the sample's team with a pending story in examples/README.md


def _print_demo_keys(org_id: str) -> None:
    from alignment.settings import get_settings

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
