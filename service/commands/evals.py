"""`goldenthread eval drafts/alignment/report`: the service's pipeline measured on labelled
bundles (evals/). Each eval imports its bundles into scratch organizations inside a transaction
that is always rolled back, so it leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from alignment import db
from alignment.errors import DomainError, Invalid
from service.commands.common import fail, progress_bar
from service.commands.database import prepare_database

eval_app = typer.Typer(help="Evaluations against labelled bundles.", no_args_is_help=True)
T = TypeVar("T")


@eval_app.command("drafts")
def eval_drafts_cmd(
    files: Annotated[list[Path], typer.Argument(help="Bundle files (labels files are skipped).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Draft OKRs for every objective of each bundle with the configured drafter; gate figures.

    Each bundle is imported into a scratch organization inside a transaction that is rolled back.
    """
    from alignment.drafting.drafters import get_drafter
    from alignment.embedder import get_embedder
    from evals.drafts import run, table

    bundles = [f for f in files if not f.name.endswith(".labels.json")]
    try:
        require_files(bundles)
        if not bundles:
            raise DomainError("give at least one bundle file")
        prepare_database()
        embedder = get_embedder()
        drafter = get_drafter()
        result = rolled_back(
            "drafting",
            bundles,
            lambda session, progress: run(
                session, bundles, drafter=drafter, embedder=embedder, progress=progress
            ),
        )
    except DomainError as exc:
        fail(exc)
    print_result(result, as_json, table)


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
    from evals.runner import read_labels, run, table

    try:
        pairs = _pairs(files)
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
    from evals.report_eval import run
    from evals.runner import read_labels

    try:
        pairs = _pairs(files)
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
    print_result(result, as_json, report_table)


# `eval report`'s columns: (the result's figure, its header, what the legend says it is).
REPORT_COLUMNS = (
    ("orphan_precision", "orphan P", "orphan findings that are labelled orphans"),
    ("orphan_recall", "orphan R", "labelled orphans the report finds"),
    ("drift_precision", "drift P", "drift findings that are labelled drifting"),
    ("drift_recall", "drift R", "drifting check-ins the report finds"),
    ("needs_review_share", "OKR review", "share of OKRs sent to a person's review"),
    ("check_in_review_share", "check-in rev", "share of check-ins sent to a person's review"),
    ("false_orphan_share", "false orphan", "share of OKRs called orphans where none is"),
)
REPORT_NOT_MEASURED = (
    '"-" means not measured: nothing to count it over (no such findings, or nothing so '
    'labelled); under "false orphan", the labels name orphans, so it does not apply'
)


def report_table(result: dict) -> str:
    """`eval report`'s figures per dataset and pooled ("all"): short headers, each explained
    (with its field in `--json`) under the table, and what "-" stands for."""
    width = 2 + max(len(header) for _, header, _ in REPORT_COLUMNS)
    head = f"{'dataset':<32}" + "".join(f"{header:>{width}}" for _, header, _ in REPORT_COLUMNS)

    def row(name: str, figures: dict) -> str:
        cells = (figures.get(field) for field, _, _ in REPORT_COLUMNS)
        shown = (f"{v:.3f}" if isinstance(v, float) else "-" for v in cells)
        return f"{name[:31]:<32}" + "".join(f"{v:>{width}}" for v in shown)

    lines = [head, "-" * len(head)]
    lines += [row(d["dataset"], d) for d in result["datasets"]]
    lines.append(row("all", result))
    lines.append("")
    lines += [f"{header:<14}{what} ({field})" for field, header, what in REPORT_COLUMNS]
    lines.append(REPORT_NOT_MEASURED)
    return "\n".join(lines)


def require_files(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            raise DomainError(f"{path}: a directory, not a file")
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

    with progress_bar() as bar, db.get_sessionmaker()() as session:
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


def _pairs(files: list[Path]) -> list[tuple[Path, Path]]:
    """BUNDLE LABELS pairs, or a plain word on the file left without its labels file (the
    runner's own "give BUNDLE LABELS pairs" named the bundle only as an "argument")."""
    from evals.runner import pairs_from_args

    if len(files) % 2:
        last = files[-1]
        raise Invalid(
            f"no labels file for the bundle {last}: give each bundle's labels file right after "
            "it (BUNDLE LABELS [BUNDLE LABELS ...])",
            details=[{"path": str(last), "message": "a bundle without its labels file"}],
        )
    return pairs_from_args(files)
