"""Load benchmark: 50 concurrent clients reading scores and reports for 60 s, on the sample
organization, while a 10,000-OKR organization is imported and scored, and on that organization.

    python -m benchmarks.load [--clients 50] [--seconds 60] [--big 10000] [--workers 2]

`goldenthread serve --workers N` runs as its own processes (N API processes on one port, the
job worker in the supervising one), on a fresh embedded PostgreSQL (or DATABASE_URL). The
clients are `wrk` (Debian's `wrk` package; C, so the load generator does not take the cores
it measures): one `wrk` per read a dashboard makes, the clients split between them, each
connection looping over its read as fast as answers come (closed loop: latency here includes
waiting behind the other 49 clients). The reads: the latest report (JSON), the orphans, one
OKR's links, the coverage.

Phases: (1) quiet, on the sample; (2) the same reads while a synthetic organization of `--big`
OKRs is imported (as a client sends a bundle that size: `POST /bundles?background=true`; the
import job and the scoring job it queues run in the worker) and its scoring job runs;
(3) the same reads on that big organization once it is scored and reported. Prints
requests/s and p50/p95/p99 per read and phase, errors (non-2xx, socket errors, timeouts) and
the bytes of each answer. The clients ask for gzip as browsers and HTTP libraries do
(`--encoding identity`: uncompressed, as wrk asks by default).
The goal: p95 of report reads under 100 ms, no error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from benchmarks.harness import database, machine_load, print_table
from benchmarks.synthetic import make_bundle

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "sample-org.bundle.json"

# wrk's summary as one JSON line (latency in microseconds).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50": %d, "p95": %d, "p99": %d, "non2xx": %d, ' ..
    '"socket_errors": %d, "timeouts": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect + e.read + e.write, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int, workers: int = 1) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(REPO),
        "GOLDENTHREAD_PORT": str(port),
        # 50 clients on one key: the per-key limit would answer 429, which is not the question.
        "GOLDENTHREAD_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--workers", str(workers)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        # The server's JSON log (one line per request, with its time inside the app) when
        # LOAD_SERVER_LOG names a file: where a slow read spent its time.
        stderr=open(os.environ["LOAD_SERVER_LOG"], "w")  # noqa: SIM115
        if os.environ.get("LOAD_SERVER_LOG")
        else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("the server did not start")


def wait_job(client: httpx.Client, location: str, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(1)
    raise SystemExit(f"{location} did not finish")


def reads(org: str, okr: str) -> dict[str, str]:
    return {
        "report": f"/orgs/{org}/reports/latest",
        "orphans": f"/orgs/{org}/alignment/orphans",
        "links": f"/orgs/{org}/okrs/{okr}/links",
        "coverage": f"/orgs/{org}/alignment/coverage",
    }


def hammer(
    base: str, key: str, paths: dict[str, str], clients: int, seconds: float, encoding: str
) -> dict:
    """One wrk per read, run side by side; returns each one's summary (with the size of the
    read's answer, fetched once before: as sent, compressed when `encoding` is gzip)."""
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": encoding}
    sizes = {
        name: int(httpx.get(base + path, headers=headers, timeout=120).headers["content-length"])
        for name, path in paths.items()
    }
    script = Path(tempfile.mkdtemp()) / "report.lua"
    script.write_text(WRK_REPORT)
    split = [clients // len(paths) + (i < clients % len(paths)) for i in range(len(paths))]
    wrk = ["wrk", "-t1", f"-d{seconds:.0f}s", "--timeout", "10s", "-s", str(script)]
    runs = {
        name: subprocess.Popen(
            [
                *wrk,
                f"-c{n}",
                *(a for h in headers.items() for a in ("-H", ": ".join(h))),
                base + path,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for (name, path), n in zip(paths.items(), split, strict=True)
    }
    out = {}
    for name, process in runs.items():
        stdout, _ = process.communicate()
        out[name] = json.loads(stdout.strip().splitlines()[-1]) | {"bytes": sizes[name]}
    shutil.rmtree(script.parent)
    return out


def rows_for(phase: str, summaries: dict) -> list[tuple]:
    rows = []
    for name, s in summaries.items():
        errors = s["non2xx"] + s["socket_errors"] + s["timeouts"]
        rows.append(
            (
                f"{phase}: {name}",
                s["requests"],
                f"{s['requests'] / s['seconds']:.0f}",
                f"{s['p50'] / 1000:.1f}",
                f"{s['p95'] / 1000:.1f}",
                f"{s['p99'] / 1000:.1f}",
                errors,
                f"{s['bytes']:,}",
            )
        )
    total = sum(s["requests"] / s["seconds"] for s in summaries.values())
    rows.append((f"{phase}: all reads", "", f"{total:.0f}", "", "", "", "", ""))
    return rows


HEADERS = ["phase: read", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "bytes"]


def show(phase: tuple[str, dict]) -> None:
    """Each phase as it ends (the whole run takes minutes), and all of them at the end."""
    print_table(HEADERS, rows_for(*phase))
    print(f"machine: {machine_load()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="API processes")
    parser.add_argument("--quiet-only", action="store_true", help="only the first phase")
    parser.add_argument(
        "--encoding",
        default="gzip",
        help="the clients' Accept-Encoding: gzip (as browsers and HTTP libraries ask) or identity",
    )
    parser.add_argument(
        "--request-threads",
        type=int,
        default=2,
        help="GOLDENTHREAD_REQUEST_THREADS of each API process (2 measured best on 2 cores)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks.load needs wrk: apt-get install wrk")
    engine, where = database()
    url = engine.url.render_as_string(hide_password=False)
    with Session(engine) as s, s.begin():
        from alignment.bundle.io import load_file
        from alignment.imports import import_document

        summary = import_document(s, load_file(SAMPLE))
        org = summary.organization
        key = keys.create_key(s, org_id=org, role=Role.admin, name="load")[1]
        big_org = f"{org}-big"
    print(f"database: {where}; machine: {machine_load()}")
    port = free_port()
    os.environ["GOLDENTHREAD_REQUEST_THREADS"] = str(args.request_threads)
    server = serve(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    phases: list[tuple[str, dict]] = []
    timings: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as http:  # fmt: skip
            wait_job(http, http.post(f"/orgs/{org}/score").headers["Location"])
            wait_job(http, http.post(f"/orgs/{org}/reports").headers["Location"])
        phases.append(
            (
                "quiet",
                hammer(base, key, reads(org, "O-1"), args.clients, args.seconds, args.encoding),
            )
        )
        show(phases[-1])
        if args.quiet_only:
            return

        big = make_bundle(org_id=org, okrs=args.big, objectives=200, teams=max(1, args.big // 33))
        big["organization"]["id"] = big_org
        with Session(engine) as s, s.begin():
            from alignment.models import Organization

            s.add(Organization(id=big_org, name=big["organization"]["name"]))
            big_key = keys.create_key(s, org_id=big_org, role=Role.admin, name="load")[1]
        body = json.dumps(big).encode()
        scoring: dict[str, str] = {}

        def heavy() -> None:
            """The import as a client sends one of this size: `POST /bundles?background=true`,
            then the import job and the scoring job it queues run in the worker."""
            start = time.perf_counter()
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {big_key}"},
                              timeout=300) as http:  # fmt: skip
                posted = http.post("/bundles", params={"background": "true"}, content=body,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
                timings["posted"] = time.perf_counter() - start
                job = wait_job(http, posted.headers["Location"])
                if job["status"] != "succeeded":
                    raise SystemExit(f"the import failed: {job.get('error')}")
                scoring["job"] = job["result"]["scoring_job"]
            timings["import"] = time.perf_counter() - start

        started = time.perf_counter()
        worker = threading.Thread(target=heavy)
        worker.start()
        busy = hammer(base, key, reads(org, "O-1"), args.clients, args.seconds, args.encoding)
        phases.append((f"during {args.big:,}-OKR import+scoring", busy))
        show(phases[-1])
        worker.join()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {big_key}"},
                          timeout=60) as http:  # fmt: skip
            wait_job(http, scoring["job"])
            timings["scoring done"] = time.perf_counter() - started
            wait_job(http, http.post(f"/orgs/{big_org}/reports").headers["Location"])
            timings["report done"] = time.perf_counter() - started
            first = big["okrs"][0]["id"]
        on_big = hammer(
            base, big_key, reads(big_org, first), args.clients, args.seconds, args.encoding
        )
        phases.append((f"{args.big:,}-OKR organization", on_big))
        show(phases[-1])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    print(
        f"{args.clients} clients (wrk), {args.seconds:.0f} s per phase, "
        f"`serve --workers {args.workers}`, {args.request_threads} request threads each"
    )
    print_table(HEADERS, [row for phase, summaries in phases for row in rows_for(phase, summaries)])
    print(
        f"import of {args.big:,} OKRs (a background import: posted in "
        f"{timings.get('posted', float('nan')):.1f} s, imported by its job): "
        f"{timings.get('import', float('nan')):.1f} s; its scoring "
        f"job done {timings.get('scoring done', float('nan')):.0f} s after the import started, "
        f"its report {timings.get('report done', float('nan')):.0f} s"
    )
    print(json.dumps({"machine_end": machine_load()}))


if __name__ == "__main__":
    main()
