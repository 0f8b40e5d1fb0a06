"""Load benchmark: 50 concurrent clients reading scores and reports, then the same while a big
organization is imported and scored.

    python -m benchmarks.load [--clients 50] [--seconds 60] [--big 10000]

`goldenthread serve` runs as its own process (with its in-process worker), on a fresh embedded
PostgreSQL (or DATABASE_URL), with the sample organization imported, scored and reported. Each
client loops over the reads a dashboard makes: the latest report (JSON), the orphans, one OKR's
links, the coverage. Phase 2 imports a synthetic organization of `--big` OKRs (as `POST /bundles`
does, queueing its scoring job, which the server's worker runs) and measures the same reads
while that work runs. Prints throughput and p50/p95/p99 latency per phase; the goal is
p95 of report reads under 100 ms with no error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from alignment.access import keys
from alignment.access.principal import Role
from benchmarks.harness import database, machine_load, percentile, print_table
from benchmarks.synthetic import make_bundle

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "sample-org.bundle.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONPATH": str(REPO),
        "GOLDENTHREAD_PORT": str(port),
        # 50 clients on one key: the per-key limit would answer 429, which is not the question.
        "GOLDENTHREAD_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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


def wait_job(client: httpx.Client, location: str, timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(location).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    raise SystemExit(f"{location} did not finish")


def hammer(base: str, key: str, org: str, clients: int, seconds: float, stop: threading.Event):
    paths = {
        "report": f"/orgs/{org}/reports/latest",
        "orphans": f"/orgs/{org}/alignment/orphans",
        "links": f"/orgs/{org}/okrs/O-1/links",
        "coverage": f"/orgs/{org}/alignment/coverage",
    }
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=30) as http:  # fmt: skip
            while time.monotonic() < deadline and not stop.is_set():
                for name, path in paths.items():
                    start = time.perf_counter()
                    try:
                        status = http.get(path).status_code
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    took = (time.perf_counter() - start) * 1000
                    with lock:
                        latencies[name].append(took)
                        if status != 200:
                            errors.append(f"{name}: {status}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def rows_for(phase: str, latencies, errors, elapsed) -> list[tuple]:
    rows = []
    for name, values in latencies.items():
        rows.append(
            (
                f"{phase}: {name}",
                len(values),
                f"{len(values) / elapsed:.0f}",
                f"{percentile(values, 50):.1f}",
                f"{percentile(values, 95):.1f}",
                f"{percentile(values, 99):.1f}",
            )
        )
    rows.append((f"{phase}: errors", len(errors), "", "", "", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()
    engine, where = database()
    url = engine.url.render_as_string(hide_password=False)
    with Session(engine) as s, s.begin():
        from alignment.bundle.io import load_file
        from alignment.imports import import_document

        summary = import_document(s, load_file(SAMPLE))
        org = summary.organization
        key = keys.create_key(s, org_id=org, role=Role.admin, name="load")[1]
    print(f"database: {where}; machine: {machine_load()}")
    port = free_port()
    server = serve(url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as http:  # fmt: skip
            wait_job(http, http.post(f"/orgs/{org}/score").headers["Location"])
            wait_job(http, http.post(f"/orgs/{org}/reports").headers["Location"])
        stop = threading.Event()
        quiet = hammer(base, key, org, args.clients, args.seconds, stop)

        big = make_bundle(org_id=org, okrs=args.big, objectives=200, teams=max(1, args.big // 33))
        big["organization"]["id"] = f"{org}-big"
        results: dict[str, float] = {}

        def heavy() -> None:
            from alignment.imports import import_document
            from alignment.jobs import SCORE_PARAMS, enqueue

            start = time.perf_counter()
            with Session(engine) as s, s.begin():
                import_document(s, big)
                enqueue(s, f"{org}-big", "score", SCORE_PARAMS, requested_by="load")
            results["import"] = time.perf_counter() - start

        worker = threading.Thread(target=heavy)
        worker.start()
        busy = hammer(base, key, org, args.clients, args.seconds, stop)
        worker.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(
        f"{args.clients} clients, {args.seconds:.0f} s per phase, reads of the sample organization"
    )
    print_table(
        ["phase: read", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms"],
        [*rows_for("quiet", *quiet), *rows_for(f"during {args.big:,}-OKR import+scoring", *busy)],
    )
    print(f"import of {args.big:,} OKRs took {results.get('import', float('nan')):.1f} s")
    print(json.dumps({"machine_end": machine_load()}))


if __name__ == "__main__":
    main()
