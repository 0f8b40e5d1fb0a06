"""Job queue benchmark: throughput with 1 and 2 worker processes, and an import-to-report run.

    python -m benchmarks.jobs [--deliveries 300] [--orgs 24] [--okrs 10000]

1. Near no-op jobs: webhook deliveries to a receiver on localhost (the job reads a row, signs,
   POSTs, stores the answer), with 1 worker, then 2.
2. Embedding jobs: scoring jobs of small organizations (each embeds ~40 texts and scores), with
   1 worker, then 2.
3. End to end: import a synthetic organization of `--okrs` OKRs (as `POST /bundles` does,
   queueing its scoring job), queue a report job, and time until the report is stored, with
   2 workers.
Jobs/s are measured on the jobs' own timestamps (first start to last finish), so worker start-up
(loading the model) is not counted. Workers are `goldenthread worker` processes, as deployed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from alignment.imports import import_document
from alignment.jobs import SCORE_PARAMS, enqueue
from alignment.models import Job, Organization
from alignment.webhooks import emit
from alignment.webhooks.subscriptions import create as subscribe
from benchmarks.harness import database, machine_load, print_table
from benchmarks.synthetic import make_bundle

REPO = Path(__file__).resolve().parent.parent


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def workers(n: int, url: str, until_empty: bool = True) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(REPO),
        "GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    args = ["--until-empty"] if until_empty else []
    return [
        subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]


def span(engine: Engine, org_ids: list[str], kind: str) -> tuple[int, float]:
    """Jobs done and seconds from the first start to the last finish."""
    with Session(engine) as s:
        done, first, last = s.execute(
            select(func.count(), func.min(Job.started_at), func.max(Job.finished_at)).where(
                Job.org_id.in_(org_ids), Job.kind == kind, Job.status == "succeeded"
            )
        ).one()
    return done, (last - first).total_seconds() if done else float("nan")


def fresh_orgs(engine: Engine, prefix: str, count: int) -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(count)]
    with Session(engine) as s, s.begin():
        s.execute(delete(Organization).where(Organization.id.in_(ids)))
        for org in ids:
            import_document(s, make_bundle(org_id=org, okrs=8, objectives=6, teams=2))
    return ids


def deliveries_round(engine: Engine, url: str, n_workers: int, count: int, sink: str) -> tuple:
    [org] = fresh_orgs(engine, f"bench-hooks-{n_workers}", 1)
    with Session(engine) as s, s.begin():
        subscribe(s, org, url=sink, events=["report.completed"], created_by="benchmark")
        for n in range(count):
            emit(s, org, "report.completed", {"n": n})
    for w in workers(n_workers, url):
        w.wait()
    return span(engine, [org], "webhook")


def scoring_round(engine: Engine, url: str, n_workers: int, count: int) -> tuple:
    orgs = fresh_orgs(engine, f"bench-score-{n_workers}", count)
    with Session(engine) as s, s.begin():
        for org in orgs:
            enqueue(s, org, "score", SCORE_PARAMS, requested_by="benchmark")
    for w in workers(n_workers, url):
        w.wait()
    return span(engine, orgs, "score")


def end_to_end(engine: Engine, url: str, okrs: int) -> dict[str, float]:
    org = "bench-e2e"
    document = make_bundle(org_id=org, okrs=okrs, objectives=200, teams=max(1, okrs // 33))
    with Session(engine) as s, s.begin():
        s.execute(delete(Organization).where(Organization.id == org))
    running = workers(2, url, until_empty=False)
    time.sleep(8)  # the workers load the model first; the import is timed from here
    start = time.perf_counter()
    with Session(engine) as s, s.begin():
        import_document(s, document)
        enqueue(s, org, "score", SCORE_PARAMS, requested_by="benchmark")
        report = enqueue(s, org, "report", {}, requested_by="benchmark").job.id
    imported = time.perf_counter() - start
    while True:
        with Session(engine) as s:
            status = s.get(Job, report).status
        if status in ("succeeded", "failed"):
            break
        time.sleep(1)
    total = time.perf_counter() - start
    for w in running:
        w.terminate()
        w.wait()
    with Session(engine) as s:
        phases = {
            kind: (finished - started).total_seconds()
            for kind, started, finished in s.execute(
                select(Job.kind, Job.started_at, Job.finished_at).where(
                    Job.org_id == org, Job.status == "succeeded"
                )
            )
        }
    return {"import": imported, "total": total, "status": status, **phases}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--orgs", type=int, default=24)
    parser.add_argument("--okrs", type=int, default=10_000)
    args = parser.parse_args()
    engine, where = database()
    url = engine.url.render_as_string(hide_password=False)
    print(f"database: {where}; machine: {machine_load()}")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    sink = f"http://127.0.0.1:{httpd.server_port}/hook"
    os.environ["GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE"] = "true"
    from alignment.settings import get_settings

    get_settings.cache_clear()

    rows = []
    for kind, run, count in (
        ("webhook delivery (near no-op)", deliveries_round, args.deliveries),
        ("scoring a small organization (embedding)", scoring_round, args.orgs),
    ):
        rates = []
        for n in (1, 2):
            extra = (sink,) if run is deliveries_round else ()
            done, seconds = run(engine, url, n, count, *extra)
            rates.append(done / seconds)
            rows.append((f"{kind}, {n} worker{'s' if n > 1 else ''}", done, f"{seconds:.2f}",
                         f"{done / seconds:.1f}"))  # fmt: skip
        rows.append(("  2 workers / 1 worker", "", "", f"{rates[1] / rates[0]:.2f}x"))
    print_table(["jobs", "done", "seconds", "jobs/s"], rows)

    e2e = end_to_end(engine, url, args.okrs)
    print(f"\nimport {args.okrs:,} OKRs -> scoring job -> report job, 2 workers:")
    print_table(
        ["step", "seconds"],
        [
            ("import (as POST /bundles: write + queue)", f"{e2e['import']:.1f}"),
            ("scoring job (embed + score)", f"{e2e.get('score', float('nan')):.1f}"),
            ("report job", f"{e2e.get('report', float('nan')):.1f}"),
            (f"import to stored report ({e2e['status']})", f"{e2e['total']:.1f}"),
        ],
    )
    print(f"\nmachine at the end: {machine_load()}")


if __name__ == "__main__":
    main()
